"""What the public may see of a ticket: one place for the citizens' progress page, Open311 and the
webhooks, so that no outward door shows more than another.

Never a name, a phone number, the appeal's own words or a house number: the status in the public's
words, the dates, the department in charge, and the answer once the hotline has accepted it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hotline.enums import AppealType, TicketStatus
from hotline.lifecycle import NOT_ACCEPTED_REASONS
from hotline.models import Department, Ticket

PUBLIC_LABELS = {
    TicketStatus.registered: "已受理",
    TicketStatus.dispatched: "已转交承办单位",
    TicketStatus.in_progress: "办理中",
    TicketStatus.returned: "办理中",  # a 退单 is the hotline's internal matter
    TicketStatus.replied: "办理中",  # the reply is not public until the hotline has reviewed it
    TicketStatus.awaiting_callback: "已答复，待回访",
    TicketStatus.callback_done: "已回访",
    TicketStatus.closed: "已办结",
    TicketStatus.not_accepted: "不予受理",
    TicketStatus.transferred: "已转紧急部门处置",
    TicketStatus.merged: "已与相同诉求合并办理",
}
CLOSED = frozenset({TicketStatus.closed, TicketStatus.not_accepted, TicketStatus.transferred, TicketStatus.merged})
ANSWERED = frozenset({TicketStatus.awaiting_callback, TicketStatus.callback_done, TicketStatus.closed})
# 举报 (reports) protect the reporter: never listed publicly.
UNLISTED_TYPES = frozenset({AppealType.report.value})
_FIRST_DIGIT = re.compile(r"[0-9０-９一二三四五六七八九十]+\s*(号|栋|幢|单元|室|楼|层|弄|组)")


def public_address(address: str | None) -> str | None:
    """The street without the house: everything from the first house/building number on is cut."""
    if not address:
        return None
    match = _FIRST_DIGIT.search(address)
    cut = address[: match.start()] if match else address
    cut = cut.strip(" ,，")
    return f"{cut}附近" if cut and match else (cut or None)


def is_listed(ticket: Ticket) -> bool:
    """Shown to anyone (Open311 lists and lookups): not 保密 and not a 举报."""
    return not ticket.confidential and ticket.appeal_type not in UNLISTED_TYPES


def status_notes(ticket: Ticket) -> str | None:
    status = TicketStatus(ticket.status)
    if status in ANSWERED:
        return ticket.public_answer or (ticket.answer_text if ticket.resolution == "direct" else None)
    if status == TicketStatus.not_accepted:
        # The published reason only; a staff note after it stays inside.
        reason = (ticket.answer_text or "").split("：", 1)[0]
        return f"不予受理：{reason}" if reason in NOT_ACCEPTED_REASONS.values() else "不予受理"
    return None


@dataclass
class PublicView:
    number: str
    status: str
    status_label: str
    open: bool
    category: str | None
    appeal_type: str
    title: str
    address: str | None
    department: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    dispatched_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    expected_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def view(session: Session, ticket: Ticket, *, own: bool = False) -> PublicView:
    """The public face of ``ticket``; ``own``: the citizen who filed it (may see their title)."""
    status = TicketStatus(ticket.status)
    dept = session.get(Department, ticket.primary_department_id) if ticket.primary_department_id else None
    show_text = own or not ticket.confidential
    return PublicView(
        number=ticket.number,
        status=status.value,
        status_label=PUBLIC_LABELS[status],
        open=status not in CLOSED,
        category=ticket.category,
        appeal_type=ticket.appeal_type,
        title=ticket.title if show_text else "（保密诉求）",
        address=public_address(ticket.address) if show_text else None,
        department=dept.name if dept else None,
        notes=status_notes(ticket),
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        dispatched_at=ticket.dispatched_at,
        answered_at=ticket.replied_at if status in ANSWERED else None,
        closed_at=ticket.closed_at,
        expected_at=ticket.reply_due if status not in CLOSED else None,
    )

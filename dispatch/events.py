"""Reactions to ticket events, subscribed by the composition root (hotline/wiring.py).

A registration leaves a pending row for the worker that routes it (``dispatch.route_pending``). The
others run inside the transaction of the change, in a savepoint: a failure of dispatch is logged and
undone, and never stops a 退单 or its ruling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from dispatch.models import DispatchPending
from dispatch.returns import on_return_ruled, on_returned
from hotline import hooks
from hotline.models import Ticket, TimelineEvent

log = logging.getLogger(__name__)
Handler = Callable[[Session, Ticket, TimelineEvent], object]


def _safely(fn: Handler) -> Callable[[Session, Ticket, TimelineEvent], None]:
    def handler(session: Session, ticket: Ticket, event: TimelineEvent) -> None:
        # The core's own pending changes flush first, outside the savepoint: a lost race stays the
        # core's to report (Conflict), never swallowed here.
        session.flush()
        try:
            with session.begin_nested():
                fn(session, ticket, event)
        except Exception:  # noqa: BLE001 - dispatch must never block the core
            log.exception("dispatch: %s failed for ticket %s", fn.__name__, ticket.id)

    handler.__name__ = f"dispatch_{fn.__name__}"
    return handler


def on_register(session: Session, ticket: Ticket, _event: TimelineEvent) -> None:
    """Routing reads the catalogue, the gazetteer and open tickets: a worker does it after the commit
    (``dispatch.route_pending``), so the agent's request writes only one row more for it."""
    session.add(DispatchPending(ticket_id=ticket.id, created_at=ticket.created_at))


_HANDLERS = {
    "register": on_register,
    "return": _safely(on_returned),
    "accept_return": _safely(on_return_ruled),
    "reject_return": _safely(on_return_ruled),
}


def subscribe() -> None:
    """Idempotent."""
    for action, handler in _HANDLERS.items():
        hooks.subscribe(action, handler)

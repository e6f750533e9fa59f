"""The core's one door to ``classifier/``: proposals for an appeal, and learning from corrections.

Every process keeps one :class:`classifier.ModelRegistry` on ``HOTLINE_CLASSIFIER_MODEL_DIR``
(default ``$DATA_DIR/models``), bootstrapped with the model the product ships; a promotion by
the retraining task reaches every API server and worker without a restart. Anything going
wrong here means "no proposal": registration never fails because of the model.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from hotline.db import utcnow
from hotline.enums import APPEAL_TYPE_LABELS, URGENCY_LABELS, AppealType, Urgency
from hotline.models import ClassificationFeedback, Department, Ticket, TimelineEvent, User
from hotline.settings import get_settings

log = logging.getLogger(__name__)

APPEAL_TYPE_BY_LABEL = {label: code for code, label in APPEAL_TYPE_LABELS.items()}
URGENCY_BY_LABEL = {label: code for code, label in URGENCY_LABELS.items()}
URGENCY_ORDER = [Urgency.normal, Urgency.urgent, Urgency.critical]

_lock = threading.Lock()
_registries: dict[Path, Any] = {}


def registry_root() -> Path:
    configured = get_settings().classifier_model_dir
    return Path(configured) if configured else get_settings().resolved_data_dir() / "models"


def urgency_rules_path(root: Path | None = None) -> Path:
    """The center's urgency safety rules, beside its models: the shipped rules are copied there on
    first use, so an admin's edit (``hotline/urgency_api.py``) reaches every API server and
    worker that shares the registry (each re-reads the file when it changes)."""
    from classifier import DEFAULT_RULES_PATH

    path = (root or registry_root()) / "urgency_rules.yaml"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fresh.write_bytes(DEFAULT_RULES_PATH.read_bytes())
        os.replace(fresh, path)  # whole or not at all, whoever copies first
    return path


def registry() -> Any:
    """This process's registry (a ``classifier.ModelRegistry``) with an active model."""
    from classifier import ModelRegistry

    root = registry_root()
    with _lock:
        reg = _registries.get(root)
        if reg is None:
            reg = ModelRegistry(root, rules=urgency_rules_path(root))
            reg.bootstrap()
            _registries[root] = reg
        return reg


# The agent's form asks for proposals as the text is typed, and asks again for the same text (a
# field left, a debounce): those answers come from here (per process, per model version).
_recent: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()
_RECENT_MAX = 2048


def predict(title: str, content: str) -> dict[str, Any] | None:
    """The model's proposals as stored on a ticket (model version and scores), or None."""
    try:
        model = registry().active()
        key = (str(model.version), title, content)
        with _lock:
            known = _recent.get(key)
            if known is not None:
                _recent.move_to_end(key)
        if known is None:
            known = model.predict(title, content, k=3).to_dict()
            with _lock:
                _recent[key] = known
                while len(_recent) > _RECENT_MAX:
                    _recent.popitem(last=False)
    except Exception:  # noqa: BLE001 - no proposal rather than no registration
        log.exception("classifier unavailable")
        return None
    return copy.deepcopy(known)


def category_labels() -> list[str]:
    """The 业务领域 the active model knows (the default taxonomy's when no model loads)."""
    from classifier.taxonomy import CATEGORIES

    try:
        labels = registry().active().labels.get("category") or []
    except Exception:  # noqa: BLE001 - the list is still useful without the model
        log.exception("classifier unavailable")
        labels = []
    return list(dict.fromkeys([*CATEGORIES, *labels]))


def safety_rule(title: str, content: str) -> dict[str, Any] | None:
    """The safety rule that fires on this text (特急/紧急 on 燃气泄漏, 扬言, fire ...), without the model:
    registration applies it at once, the model's proposals come later (:func:`classify_registered`)."""
    try:
        hit = registry().rules.check(title, content)
    except Exception:  # noqa: BLE001 - same as predict(): never a failed registration
        log.exception("urgency rules unavailable")
        return None
    return hit.to_dict() if hit is not None else None


def classify_registered(session: Session, ticket_ids: Sequence[int]) -> int:
    """The model's proposals for tickets registered without them, in one batch (the worker's half of
    registration): stored on the ticket with the model version, the category filled where staff left
    it empty, and staff's different choices kept as labelled examples. Answers how many were done."""
    if not ticket_ids:
        return 0
    # (a JSON column keeps None as JSON null, which IS NULL does not see: filtered here)
    tickets = [t for t in session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids))) if t.classification is None]
    if not tickets:
        return 0
    try:
        predictions = registry().active().predict_batch([t.title for t in tickets], [t.content for t in tickets], k=3)
    except Exception:  # noqa: BLE001 - unclassified tickets are still routed, by rules alone
        log.exception("classifier unavailable")
        return 0
    creators = {u.id: u for u in session.scalars(select(User).where(User.id.in_({t.created_by_id for t in tickets})))}
    rows = []
    for ticket, prediction in zip(tickets, predictions, strict=True):
        result = prediction.to_dict()
        rows.append({"b_id": ticket.id, "b_classification": result, "b_category": proposed(result, "category")})
    # The proposals are the system finishing the registration, not an edit: written without raising
    # the ticket's version (a Core UPDATE; the ORM's would), so a dispatcher who opened the ticket
    # before the worker got to it is not refused as stale for a change nobody made. The category
    # is filled only where it is still empty, whatever staff set meanwhile.
    table = Ticket.__table__
    session.execute(
        table.update()  # type: ignore[attr-defined]
        .where(table.c.id == bindparam("b_id"))
        .values(
            classification=bindparam("b_classification"),
            category=func.coalesce(table.c.category, bindparam("b_category")),
        ),
        rows,
    )
    for ticket, row in zip(tickets, rows, strict=True):
        set_committed_value(ticket, "classification", row["b_classification"])
        if ticket.category is None:
            set_committed_value(ticket, "category", row["b_category"])
        creator = creators.get(ticket.created_by_id) if ticket.created_by_id else None
        if creator is not None:
            record_corrections(session, ticket, creator)
    session.flush()
    return len(tickets)


def proposed(classification: dict[str, Any] | None, head: str) -> str | None:
    """The top label of one head, unless the model abstained."""
    if not classification or not classification.get(head):
        return None
    result = classification[head]
    return None if result.get("abstained") else result.get("label")


def rule_urgency(rule: dict[str, Any] | None) -> Urgency | None:
    """The urgency a safety rule forces (特急/紧急 on 燃气泄漏, 扬言, fire ...), if one fired."""
    return URGENCY_BY_LABEL.get(rule["urgency"]) if rule else None


def at_least(urgency: Urgency, floor: Urgency | None) -> Urgency:
    if floor is None:
        return urgency
    return max(urgency, floor, key=URGENCY_ORDER.index)


def record_corrections(session: Session, ticket: Ticket, actor: User) -> list[ClassificationFeedback]:
    """Where staff chose otherwise than the model proposed, keep a labelled example."""
    classification = ticket.classification
    if not classification:
        return []
    chosen = {
        "category": ticket.category,
        "appeal_type": APPEAL_TYPE_LABELS[AppealType(ticket.appeal_type)],
        "urgency": URGENCY_LABELS[Urgency(ticket.urgency)],
    }
    rows = []
    for head, label in chosen.items():
        predicted = proposed(classification, head)
        if label and predicted != label:
            row = ClassificationFeedback(
                ticket_id=ticket.id,
                head=head,
                predicted=predicted,
                label=label,
                model_version=classification.get("model_version"),
                title=ticket.title,
                text=ticket.content,
                actor_id=actor.id,
                created_at=utcnow(),
            )
            session.add(row)
            rows.append(row)
    return rows


def _department_example_exists(session: Session, ticket_id: int, label: str | None) -> bool:
    return (
        session.scalar(
            select(ClassificationFeedback.id)
            .where(
                ClassificationFeedback.ticket_id == ticket_id,
                ClassificationFeedback.head == "department",
                ClassificationFeedback.label == label,
            )
            .limit(1)
        )
        is not None
    )


def learn_department_on_redispatch(session: Session, ticket: Ticket, event: TimelineEvent) -> None:
    """An accepted 退单 (改派, by a dispatcher or a supervisor's ruling): the department it goes to now
    is a labelled example for the department head, kept at once (the next retraining learns it; the
    ticket may take weeks to close), with the department that refused it as what was predicted."""
    data = event.data or {}
    new_id, old_id = data.get("primary_department_id"), data.get("from_department_id")
    if not isinstance(new_id, int):
        return
    wanted = select(Department.id, Department.name).where(Department.id.in_([new_id, old_id or 0]))
    names = {dept_id: name for dept_id, name in session.execute(wanted)}
    session.add(
        ClassificationFeedback(
            ticket_id=ticket.id,
            head="department",
            predicted=names.get(old_id) if isinstance(old_id, int) else None,
            label=names.get(new_id),
            model_version=(ticket.classification or {}).get("model_version"),
            title=ticket.title,
            text=ticket.content,
            actor_id=event.actor_id,
            created_at=utcnow(),
        )
    )


def learn_department_on_close(session: Session, ticket: Ticket, event: TimelineEvent) -> None:
    """A ticket closed after being handled: its 主办 department is what the department head learns
    (once: a 改派 to the same department already taught it)."""
    if ticket.primary_department_id is None or ticket.resolution != "handled":
        return
    name = session.scalar(select(Department.name).where(Department.id == ticket.primary_department_id))
    if _department_example_exists(session, ticket.id, name):
        return
    session.add(
        ClassificationFeedback(
            ticket_id=ticket.id,
            head="department",
            predicted=proposed(ticket.classification, "department"),
            label=name,
            model_version=(ticket.classification or {}).get("model_version"),
            title=ticket.title,
            text=ticket.content,
            actor_id=event.actor_id,
            created_at=utcnow(),
        )
    )


def training_examples(session: Session, since: datetime | None = None) -> Sequence[Any]:
    """The center's labelled examples (``classifier.Example``), one per feedback row."""
    from classifier import Example

    query = select(ClassificationFeedback).order_by(ClassificationFeedback.id)
    if since is not None:
        query = query.where(ClassificationFeedback.created_at >= since)
    examples = []
    for row in session.scalars(query):
        examples.append(Example(title=row.title, text=row.text, **{row.head: row.label}))
    return examples

"""Reactions to ticket events, for packages the core may not import (dispatch, escalation).

Every timeline event a transition writes is offered to the subscribers of its action
("register", "dispatch", "reply", "record_callback", ...; "*" for all) inside the same
transaction: a subscriber may write rows that commit or roll back with the change, and use
``hotline.celery_app.enqueue_after_commit`` for work that must wait for the commit. The
composition roots (the app factory, the Celery app, the CLI) do the subscribing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hotline.models import Ticket, TimelineEvent

Subscriber = Callable[["Session", "Ticket", "TimelineEvent"], None]
_subscribers: dict[str, list[Subscriber]] = defaultdict(list)


def subscribe(action: str, fn: Subscriber) -> Subscriber:
    if fn not in _subscribers[action]:
        _subscribers[action].append(fn)
    return fn


def unsubscribe_all() -> None:
    _subscribers.clear()


def emit(session: Session, ticket: Ticket, event: TimelineEvent) -> None:
    for fn in [*_subscribers.get(event.action, ()), *_subscribers.get("*", ())]:
        fn(session, ticket, event)

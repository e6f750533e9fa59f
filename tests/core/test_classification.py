"""The classifier seen from the core: proposals stored on the ticket, safety rules, corrections."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import classification, lifecycle
from hotline.app import create_app
from hotline.enums import AppealType, Channel, TicketStatus, Urgency
from hotline.models import ClassificationFeedback, Ticket
from hotline.tasks import retrain_classifier
from tests.conftest import Org, login
from tests.core.factory import ticket_in, user


def appeal(**kw: object) -> lifecycle.NewAppeal:
    base = dict(
        title="楼道里燃气味很重",
        content="五栋二单元楼道燃气泄漏，味道很重，请马上派人处理。",
        appeal_type=AppealType.help,
        channel=Channel.phone,
        phone="13800000001",
    )
    base.update(kw)
    return lifecycle.NewAppeal(**base)  # type: ignore[arg-type]


def test_a_safety_rule_sets_the_urgency_floor_and_the_model_is_recorded(db: tuple[Session, Org]) -> None:
    session, org = db
    t = lifecycle.register_ticket(session, user(session, org, "agent"), appeal(urgency=Urgency.normal))
    session.commit()
    # at registration: the safety rule's floor, no model yet (the worker adds its proposals)
    assert t.urgency == Urgency.critical
    assert t.classification is None and t.category is None
    event = lifecycle.timeline(session, t.id)[0]
    assert "燃气泄漏" in (event.note or "") and event.data["urgency_rule"]["name"] == "燃气泄漏"
    # the worker's batch: the model's proposals, stored with its version, the empty category filled
    assert classification.classify_registered(session, [t.id]) == 1
    session.commit()
    assert t.classification and t.classification["model_version"]
    assert t.classification["urgency_rule"]["name"] == "燃气泄漏"
    assert t.category == "公用事业(水电气热)"  # left empty by the agent: the model's proposal
    assert classification.classify_registered(session, [t.id]) == 0  # once


def test_the_workers_proposals_leave_the_version_a_dispatcher_read(db: tuple[Session, Org]) -> None:
    """A dispatcher may open a new ticket before the worker has classified it: the model's
    proposals (and the category filled from them) are not an edit, and a dispatch sent with the
    version read before them is not refused as stale."""
    session, org = db
    t = lifecycle.register_ticket(session, user(session, org, "agent"), appeal(title="路灯不亮"))
    session.commit()
    read = t.version
    assert classification.classify_registered(session, [t.id]) == 1
    session.commit()
    session.expire_all()
    stored = session.get(Ticket, t.id)
    assert stored is not None and stored.classification["model_version"] and stored.category
    assert stored.version == read
    dispatched = lifecycle.dispatch_ticket(
        session, stored, user(session, org, "dispatcher"), version=read, primary_department_id=org.dept["zjj"]
    )
    session.commit()
    assert dispatched.status == TicketStatus.dispatched


def test_staff_choices_stand_and_become_labelled_examples(db: tuple[Session, Org]) -> None:
    session, org = db
    t = lifecycle.register_ticket(
        session, user(session, org, "agent"), appeal(category="公共安全", appeal_type=AppealType.report)
    )
    session.commit()
    classification.classify_registered(session, [t.id])
    session.commit()
    assert t.category == "公共安全"
    rows = session.scalars(select(ClassificationFeedback).where(ClassificationFeedback.ticket_id == t.id)).all()
    heads = {r.head: r for r in rows}
    assert heads["category"].label == "公共安全" and heads["category"].predicted == "公用事业(水电气热)"
    assert heads["appeal_type"].label == "举报"
    examples = classification.training_examples(session)
    assert any(e.category == "公共安全" and "燃气" in e.title for e in examples)


def test_closing_a_handled_ticket_teaches_the_department(db: tuple[Session, Org]) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.closed)
    row = session.scalar(
        select(ClassificationFeedback).where(
            ClassificationFeedback.ticket_id == t.id, ClassificationFeedback.head == "department"
        )
    )
    assert row is not None and row.label == "市住建局"


def test_retraining_waits_for_enough_examples(db: tuple[Session, Org]) -> None:
    report = retrain_classifier()
    assert report["promoted"] is False and "labelled examples" in report["reason"]


def test_classify_endpoint_for_agents(pg: tuple[Session, Org]) -> None:
    with TestClient(create_app()) as client:
        body = {"title": "小区门口垃圾堆积", "content": "小区门口垃圾三天没人清运，臭气熏天。"}
        result = client.post("/api/v1/classify", json=body, headers=login(client, "agent")).json()
        assert result["category"]["top"][0]["score"] >= result["category"]["top"][1]["score"]
        assert len(result["category"]["top"]) == 3 and result["urgency"]["label"] in {"一般", "紧急", "特急"}
        assert client.post("/api/v1/classify", json=body, headers=login(client, "zjj")).status_code == 403
        assert client.post("/api/v1/classify", json={"title": "x"}, headers=login(client, "agent")).status_code == 422

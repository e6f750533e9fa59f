"""Open311 GeoReport v2: every response checked field by field against the spec's lists, in JSON
and in XML; api_key; the spec's errors; no personal data on public GETs; staff see the request."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from hotline import lifecycle
from hotline.models import Ticket
from tests.channels.conftest import Registered, register_client
from tests.conftest import Org, login
from tests.core.factory import user

# The field lists of GeoReport v2 (wiki.open311.org/GeoReport_v2), in the spec's order.
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
ATTRIBUTE_FIELDS = [
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
]
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
CREATED_FIELDS = ["service_request_id", "token", "service_notice", "account_id"]
BASE = "/open311/v2"
POST = {
    "service_code": "CG",
    "lat": "39.912345",
    "long": "116.401234",
    "address_string": "东城区和平街道和平路88号3单元502",
    "description": "和平路人行道上的井盖缺失\n晚上路过很危险，已有老人差点踩空。我的电话13912345678。",
    "first_name": "小明",
    "last_name": "李",
    "phone": "13912345678",
    "email": "li@example.com",
    "media_url": "https://img.example.com/1.jpg",
}


def xml_items(body: bytes, root: str, item: str) -> list[dict[str, Any]]:
    tree = ET.fromstring(body)
    assert tree.tag == root
    return [{child.tag: child for child in node} for node in tree.findall(item)]


def create(client: TestClient, key: str, fmt: str = "json", **extra: str) -> Any:
    return client.post(f"{BASE}/requests.{fmt}", data={**POST, "api_key": key, **extra})


def test_services_and_definitions_in_json_and_xml(client: TestClient) -> None:
    services = client.get(f"{BASE}/services.json")
    assert services.status_code == 200 and services.headers["content-type"].startswith("application/json")
    items = services.json()
    assert len(items) == 15 and all(list(s) == SERVICE_FIELDS for s in items)
    assert {s["type"] for s in items} == {"realtime"} and all(s["metadata"] is True for s in items)
    assert "城市管理" in {s["service_name"] for s in items}
    xml = client.get(f"{BASE}/services.xml")
    assert xml.headers["content-type"].startswith("text/xml")
    nodes = xml_items(xml.content, "services", "service")
    assert [list(n) for n in nodes] == [SERVICE_FIELDS] * 15
    assert [n["service_code"].text for n in nodes] == [s["service_code"] for s in items]
    assert nodes[0]["metadata"].text == "true"

    definition = client.get(f"{BASE}/services/CG.json").json()
    assert list(definition) == ["service_code", "attributes"] and definition["service_code"] == "CG"
    attribute = definition["attributes"][0]
    assert list(attribute) == ATTRIBUTE_FIELDS and attribute["code"] == "appeal_type"
    assert {v["key"] for v in attribute["values"]} >= {"complaint", "help", "report"}
    tree = ET.fromstring(client.get(f"{BASE}/services/CG.xml").content)
    assert tree.tag == "service_definition" and tree.findtext("service_code") == "CG"
    xml_attr = tree.find("attributes/attribute")
    assert xml_attr is not None and [c.tag for c in xml_attr] == ATTRIBUTE_FIELDS
    assert xml_attr.find("values/value/key") is not None

    missing = client.get(f"{BASE}/services/NOPE.xml")
    assert missing.status_code == 404
    error = ET.fromstring(missing.content).find("error")
    assert error is not None and error.findtext("code") == "404" and error.findtext("description")
    assert client.get(f"{BASE}/services.csv").json() == [
        {"code": 404, "description": "unknown format 'csv': use .json or .xml"}
    ]


def test_post_needs_an_api_key_and_answers_in_the_spec_format(client: TestClient, pg: tuple[Session, Org]) -> None:
    app = register_client(client, "open311-app", "app")
    for fmt in ("json", "xml"):
        for key in ("", "hk_000000000000_wrong"):
            refused = create(client, key, fmt)
            assert refused.status_code == 403
            if fmt == "json":
                assert list(refused.json()[0]) == ["code", "description"] and refused.json()[0]["code"] == 403
            else:
                assert ET.fromstring(refused.content).findtext("error/code") == "403"
    for bad in ({"service_code": "ZZ"}, {"description": ""}, {"lat": "abc"}, {"attribute[appeal_type]": "x"}):
        answer = create(client, app.key, **bad)
        assert answer.status_code == 400 and answer.json()[0]["code"] == 400, (bad, answer.text)
    nowhere = client.post(
        f"{BASE}/requests.json", data={"api_key": app.key, "service_code": "CG", "description": "井盖缺失"}
    )
    assert nowhere.status_code == 400
    session, _org = pg
    session.expire_all()
    assert session.query(Ticket).count() == 0


def test_request_lifecycle_field_by_field(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, org = pg
    app = register_client(client, "open311-app", "app")
    created = create(client, app.key, **{"attribute[appeal_type]": "help"})
    assert created.status_code == 201, created.text
    [out] = created.json()
    assert list(out) == CREATED_FIELDS and out["account_id"] is None
    number, token = out["service_request_id"], out["token"]
    xml_created = create(client, app.key, "xml")
    [node] = xml_items(xml_created.content, "service_requests", "request")
    assert list(node) == CREATED_FIELDS

    # The ticket behind it: the client's channel, the category of the service, the caller's phone.
    ticket = session.query(Ticket).filter(Ticket.number == number).one()
    assert (ticket.channel, ticket.category, ticket.appeal_type) == ("app", "城市管理", "help")
    assert ticket.citizen is not None and ticket.citizen.phone == "+8613912345678"
    assert ticket.contact_name == "李 小明"

    fetched = client.get(f"{BASE}/requests/{number}.json")
    [req] = fetched.json()
    assert list(req) == REQUEST_FIELDS
    assert (req["status"], req["service_code"], req["service_name"]) == ("open", "CG", "城市管理")
    assert req["description"] == "和平路人行道上的井盖缺失"
    assert req["address"] == "东城区和平街道和平路附近" and (req["lat"], req["long"]) == (39.912, 116.401)
    assert req["media_url"] == POST["media_url"] and req["agency_responsible"] is None
    assert req["requested_datetime"].endswith("Z") and req["expected_datetime"] is None
    for personal in ("13912345678", "小明", "li@example.com", "88号", "502", "老人"):
        assert personal not in fetched.text
    [xml_req] = xml_items(client.get(f"{BASE}/requests/{number}.xml").content, "service_requests", "request")
    assert list(xml_req) == REQUEST_FIELDS
    assert {k: (v.text or None) for k, v in xml_req.items() if k not in ("lat", "long")} == {
        k: (None if v is None else str(v)) for k, v in req.items() if k not in ("lat", "long")
    }
    assert float(xml_req["lat"].text or 0) == req["lat"]

    tokens = client.get(f"{BASE}/tokens/{token}.json").json()
    assert tokens == [{"service_request_id": number, "token": token}]
    [xml_token] = xml_items(client.get(f"{BASE}/tokens/{token}.xml").content, "service_requests", "request")
    assert list(xml_token) == ["service_request_id", "token"]

    # Dispatched, replied, reviewed: agency, expected date, then the public answer and closed.
    t = session.get(Ticket, ticket.id)
    assert t is not None
    lifecycle.dispatch_ticket(
        session, t, user(session, org, "dispatcher"), version=t.version, primary_department_id=org.dept["cgj"]
    )
    session.commit()
    req = client.get(f"{BASE}/requests/{number}.json").json()[0]
    assert req["agency_responsible"] == "市城管局" and req["expected_datetime"] and req["status"] == "open"
    cgj = user(session, org, "cgj")
    lifecycle.sign_ticket(session, t, cgj, version=t.version)
    lifecycle.reply_ticket(
        session, t, cgj, version=t.version, handling="已补装井盖", resolved=True, public_answer="井盖已补装。"
    )
    session.commit()
    assert client.get(f"{BASE}/requests/{number}.json").json()[0]["status_notes"] is None  # not reviewed yet
    lifecycle.review_reply(session, t, user(session, org, "dispatcher"), version=t.version, accept=True)
    session.commit()
    req = client.get(f"{BASE}/requests/{number}.json").json()[0]
    assert req["status_notes"] == "井盖已补装。" and req["status"] == "open"
    lifecycle.close_ticket(session, t, user(session, org, "dispatcher"), version=t.version, note="回访未接通，办结")
    session.commit()
    assert client.get(f"{BASE}/requests/{number}.json").json()[0]["status"] == "closed"

    # Lists: by id, by service, by status, by dates; bad dates are 400.
    listed = client.get(f"{BASE}/requests.json", params={"service_request_id": f"{number},nope"}).json()
    assert [r["service_request_id"] for r in listed] == [number]
    assert len(client.get(f"{BASE}/requests.json", params={"service_code": "CG"}).json()) == 2
    assert [
        r["service_request_id"] for r in client.get(f"{BASE}/requests.json", params={"status": "closed"}).json()
    ] == [number]
    assert len(client.get(f"{BASE}/requests.json", params={"status": "open"}).json()) == 1
    assert (
        client.get(
            f"{BASE}/requests.json", params={"start_date": "2000-01-01T00:00:00Z", "end_date": "2000-02-01T00:00:00Z"}
        ).json()
        == []
    )
    assert client.get(f"{BASE}/requests.json", params={"start_date": "yesterday"}).status_code == 400
    assert client.get(f"{BASE}/requests.json", params={"status": "pending"}).status_code == 400
    xml_list = xml_items(client.get(f"{BASE}/requests.xml").content, "service_requests", "request")
    assert len(xml_list) == 2 and all(list(n) == REQUEST_FIELDS for n in xml_list)

    # Staff see the request in their lists with its channel.
    agent = login(client, "agent")
    items = client.get("/api/v1/tickets", headers=agent).json()["items"]
    assert {(i["number"], i["channel"]) for i in items} >= {(number, "app")}


def test_confidential_and_reports_are_not_public(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, _org = pg
    app: Registered = register_client(client, "open311-app", "app")
    report = create(client, app.key, **{"attribute[appeal_type]": "report"}).json()[0]["service_request_id"]
    assert client.get(f"{BASE}/requests/{report}.json").status_code == 404
    assert client.get(f"{BASE}/requests.json").json() == []
    plain = create(client, app.key).json()[0]["service_request_id"]
    session.expire_all()
    ticket = session.query(Ticket).filter(Ticket.number == plain).one()
    ticket.confidential = True
    session.commit()
    assert client.get(f"{BASE}/requests/{plain}.xml").status_code == 404
    # The token still tells the filing client its id.
    assert client.get(f"{BASE}/requests.json", params={"service_request_id": plain}).json() == []

"""Open311 GeoReport v2 at /open311/v2/: services, service definitions, requests, tokens, in JSON
and XML (``.json`` / ``.xml``), the spec's ``api_key`` for POST and its error format.

Our 业务领域 categories are the services (``channels/data/open311_services.yaml``); a request is a
ticket (``service_request_id`` = the ticket number), filed through the same intake as every channel
client, so it is classified, dispatched and shown to staff with the client's channel. Public GETs
show what ``channels.public`` allows and no more: 保密 tickets and 举报 are not listed, no name, no
phone, no e-mail, no house number, positions rounded to about 100 m.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from channels import clients, intake, public
from channels.models import ChannelIntake
from classifier.yamlfile import load_yaml
from hotline import classification, lifecycle
from hotline.deps import get_db
from hotline.enums import APPEAL_TYPE_LABELS, OPEN_STATUSES, AppealType, TicketStatus
from hotline.errors import HotlineError
from hotline.models import Ticket

# Open311 has its own specification and error format (GeoReport v2), not this API's: kept out of
# the OpenAPI document, whose every error is the one ErrorOut shape.
router = APIRouter(prefix="/open311/v2", tags=["open311"], include_in_schema=False)
SERVICES_FILE = Path(__file__).parent / "data" / "open311_services.yaml"
FORMATS = {"json", "xml"}
MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)
TYPE_BY_LABEL = {label: t for t, label in APPEAL_TYPE_LABELS.items()}
REQUEST_FIELDS = (
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
)
_LONG_DIGITS = re.compile(r"\d{7,}")


class Open311Error(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@cache
def services() -> list[dict[str, Any]]:
    rows = load_yaml(SERVICES_FILE.read_text(encoding="utf-8"))["services"]
    return [
        {
            "service_code": r["code"],
            "service_name": r["name"],
            "description": r["description"],
            "metadata": True,
            "type": "realtime",
            "keywords": ", ".join(r.get("keywords", [])),
            "group": r["group"],
        }
        for r in rows
    ]


def service_by_code(code: str) -> dict[str, Any] | None:
    return next((s for s in services() if s["service_code"] == code), None)


def service_by_name(name: str | None) -> dict[str, Any] | None:
    return next((s for s in services() if s["service_name"] == name), None)


def definition(code: str) -> dict[str, Any]:
    return {
        "service_code": code,
        "attributes": [
            {
                "variable": True,
                "code": "appeal_type",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "诉求类型；不填时由系统判断",
                "order": 1,
                "description": "诉求类型",
                "values": [{"key": t.value, "name": label} for t, label in APPEAL_TYPE_LABELS.items()],
            }
        ],
    }


# ---------------------------------------------------------------- rendering


def w3c(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if moment else None


def _xml_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml_fill(parent: ET.Element, data: dict[str, Any], item_tags: dict[str, str]) -> None:
    for key, value in data.items():
        child = ET.SubElement(parent, key)
        if isinstance(value, list):
            for item in value:
                _xml_fill(ET.SubElement(child, item_tags[key]), item, item_tags)
        else:
            child.text = _xml_value(value)


def render(fmt: str, data: Any, *, root: str, item: str | None = None, status: int = 200) -> Response:
    """``data``: a list of objects (under ``<root><item>``) or one object (``<root>``)."""
    if fmt == "json":
        return Response(json.dumps(data, ensure_ascii=False), status_code=status, media_type="application/json")
    tags = {"attributes": "attribute", "values": "value"}
    top = ET.Element(root)
    for obj in data if isinstance(data, list) else [data]:
        _xml_fill(ET.SubElement(top, item) if item else top, obj, tags)
    body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8")
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8")


def error(fmt: str, code: int, description: str) -> Response:
    return render(
        fmt if fmt in FORMATS else "json",
        [{"code": code, "description": description}],
        root="errors",
        item="error",
        status=code,
    )


def answering(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Every failure in the spec's error format and status (400, 403, 404), in the asked format."""

    def spec_error(fmt: str, exc: Exception) -> Response:
        if isinstance(exc, Open311Error):
            return error(fmt, exc.code, exc.description)
        assert isinstance(exc, HotlineError)
        return error(fmt, exc.status_code if exc.status_code in (403, 404) else 400, exc.message)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Response:
            fmt = kwargs.get("fmt", "json")
            if fmt not in FORMATS:
                return error("json", 404, f"unknown format {fmt!r}: use .json or .xml")
            try:
                return await fn(*args, **kwargs)  # type: ignore[no-any-return]
            except (Open311Error, HotlineError) as exc:
                return spec_error(fmt, exc)

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        fmt = kwargs.get("fmt", "json")
        if fmt not in FORMATS:
            return error("json", 404, f"unknown format {fmt!r}: use .json or .xml")
        try:
            return fn(*args, **kwargs)  # type: ignore[no-any-return]
        except (Open311Error, HotlineError) as exc:
            return spec_error(fmt, exc)

    return wrapper


def request_out(session: Session, ticket: Ticket, row: ChannelIntake | None) -> dict[str, Any]:
    shown = public.view(session, ticket)
    service = service_by_name(ticket.category)
    status = "open" if TicketStatus(ticket.status) in OPEN_STATUSES else "closed"
    return {
        "service_request_id": ticket.number,
        "status": status,
        "status_notes": shown.notes,
        "service_name": service["service_name"] if service else ticket.category,
        "service_code": service["service_code"] if service else None,
        "description": _LONG_DIGITS.sub("****", shown.title),
        "agency_responsible": shown.department,
        "service_notice": shown.status_label,
        "requested_datetime": w3c(ticket.created_at),
        "updated_datetime": w3c(ticket.updated_at),
        "expected_datetime": w3c(shown.expected_at),
        "address": shown.address,
        "address_id": None,
        "zipcode": None,
        "lat": round(row.lat, 3) if row and row.lat is not None else None,
        "long": round(row.long, 3) if row and row.long is not None else None,
        "media_url": row.media_url if row else None,
    }


def _intakes(session: Session, tickets: Sequence[Ticket]) -> dict[int, ChannelIntake]:
    ids = [t.id for t in tickets]
    rows = session.scalars(select(ChannelIntake).where(ChannelIntake.ticket_id.in_(ids))).all() if ids else []
    return {r.ticket_id: r for r in rows if r.ticket_id is not None}


def _date(params: Any, name: str) -> datetime | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be a W3C date-time, e.g. 2026-11-22T08:00:00+08:00") from exc
    if value.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone, e.g. 2026-11-22T08:00:00+08:00")
    return value


# ---------------------------------------------------------------- routes


@router.get("/services.{fmt}")
@answering
def list_services(fmt: str) -> Response:
    """The services (our 业务领域 categories)."""
    return render(fmt, services(), root="services", item="service")


@router.get("/services/{code}.{fmt}")
@answering
def service_definition(code: str, fmt: str) -> Response:
    """A service's definition: its attributes (诉求类型)."""
    if service_by_code(code) is None:
        raise Open311Error(404, f"service_code {code} not found")
    return render(fmt, definition(code), root="service_definition")


@router.post("/requests.{fmt}")
@answering
async def create_request(fmt: str, request: Request, session: Session = Depends(get_db)) -> Response:
    """Create a request. Form fields per the spec; ``api_key`` required (a channel client's key).
    An ``Idempotency-Key`` header makes a retry answer the same request instead of a second one."""
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    key = request.headers.get("idempotency-key")
    return await run_in_threadpool(_create, session, fmt, fields, key, request.method, request.url.path)


def _create(
    session: Session, fmt: str, form: dict[str, str], idempotency_key: str | None, method: str, path: str
) -> Response:
    found = clients.authenticate(session, form.get("api_key") or None)
    if found is None:
        raise Open311Error(403, "Invalid api_key received -- can't proceed with create_request.")
    client, key = found
    clients.record_call(session, client, key, method, path)
    session.commit()
    fields = {k: v for k, v in form.items() if k != "api_key"}
    service = service_by_code(fields.get("service_code", ""))
    if service is None:
        raise Open311Error(400, "service_code is required and must be one of GET services")
    lat, long = _position(fields)
    if lat is None and not fields.get("address_string") and not fields.get("address_id"):
        raise Open311Error(400, "a location is required: lat & long, address_string or address_id")
    description = fields.get("description", "").strip()
    if not description:
        raise Open311Error(400, "description is required")
    title = description.splitlines()[0][:40]
    predicted = classification.predict(title, description)
    kind = fields.get("attribute[appeal_type]") or ""
    if kind and kind not in {t.value for t in AppealType}:
        raise Open311Error(400, f"attribute[appeal_type] must be one of {[t.value for t in AppealType]}")
    appeal_type = (
        AppealType(kind)
        if kind
        else TYPE_BY_LABEL.get(classification.proposed(predicted, "appeal_type") or "", AppealType.other)
    )
    name = " ".join(p for p in (fields.get("last_name", "").strip(), fields.get("first_name", "").strip()) if p)
    appeal = lifecycle.NewAppeal(
        title=title,
        content=description,
        appeal_type=appeal_type,
        phone=fields.get("phone") or None,
        contact_name=name[:100] or None,
        address=fields.get("address_string") or None,
        category=service["service_name"],
        classification=predicted,
    )
    reference = idempotency_key or f"open311-{uuid.uuid4().hex}"
    req = intake.IntakeRequest(
        client_ref=f"open311:{reference}"[:128],
        appeal=appeal,
        request_hash=intake.request_hash(fields),
        protocol="open311",
        lat=lat,
        long=long,
        media_url=(fields.get("media_url") or None),
    )
    result = intake.file_appeal(session, client, req)
    session.commit()
    out = {
        "service_request_id": result.ticket.number,
        "token": result.intake.token,
        "service_notice": "12345热线已受理，将按时限转交承办单位办理",
        "account_id": None,
    }
    return render(fmt, [out], root="service_requests", item="request", status=201 if result.created else 200)


def _position(fields: dict[str, str]) -> tuple[float | None, float | None]:
    if not fields.get("lat") and not fields.get("long"):
        return None, None
    try:
        lat, long = float(fields["lat"]), float(fields["long"])
    except (KeyError, ValueError) as exc:
        raise Open311Error(400, "lat and long must both be decimal degrees") from exc
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        raise Open311Error(400, "lat/long out of range")
    return lat, long


@router.get("/requests.{fmt}")
@answering
def list_requests(fmt: str, request: Request, session: Session = Depends(get_db)) -> Response:
    """Requests by ``service_request_id`` (comma-separated; then other filters are ignored), or by
    ``service_code``, ``status`` (open, closed) and ``start_date``/``end_date`` (default: the last 90
    days; at most 1000, newest first)."""
    params = request.query_params
    query = select(Ticket)
    ids = [i.strip() for i in (params.get("service_request_id") or "").split(",") if i.strip()]
    if ids:
        query = query.where(Ticket.number.in_(ids[:MAX_RESULTS]))
    else:
        codes = [c.strip() for c in (params.get("service_code") or "").split(",") if c.strip()]
        if codes:
            names = [s["service_name"] for c in codes if (s := service_by_code(c))]
            if not names:
                raise Open311Error(404, "service_code not found")
            query = query.where(Ticket.category.in_(names))
        start, end = _date(params, "start_date"), _date(params, "end_date")
        if start is None:
            start = (end or datetime.now(UTC)) - DEFAULT_WINDOW
        query = query.where(Ticket.created_at >= start)
        if end is not None:
            query = query.where(Ticket.created_at <= end)
        wanted = {s.strip() for s in (params.get("status") or "").split(",") if s.strip()}
        if wanted - {"open", "closed"}:
            raise Open311Error(400, "status must be open or closed")
        if wanted == {"open"}:
            query = query.where(Ticket.status.in_([s.value for s in OPEN_STATUSES]))
        elif wanted == {"closed"}:
            query = query.where(Ticket.status.not_in([s.value for s in OPEN_STATUSES]))
    query = query.where(Ticket.confidential.is_(False), Ticket.appeal_type.not_in(public.UNLISTED_TYPES))
    tickets = session.scalars(query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(MAX_RESULTS)).all()
    rows = _intakes(session, tickets)
    return render(
        fmt, [request_out(session, t, rows.get(t.id)) for t in tickets], root="service_requests", item="request"
    )


@router.get("/requests/{request_id}.{fmt}")
@answering
def get_request(request_id: str, fmt: str, session: Session = Depends(get_db)) -> Response:
    ticket = session.scalar(select(Ticket).where(Ticket.number == request_id))
    if ticket is None or not public.is_listed(ticket):
        raise Open311Error(404, f"service_request_id {request_id} not found")
    row = _intakes(session, [ticket]).get(ticket.id)
    return render(fmt, [request_out(session, ticket, row)], root="service_requests", item="request")


@router.get("/tokens/{token}.{fmt}")
@answering
def get_token(token: str, fmt: str, session: Session = Depends(get_db)) -> Response:
    row = session.scalar(select(ChannelIntake).where(ChannelIntake.token == token))
    ticket = session.get(Ticket, row.ticket_id) if row and row.ticket_id else None
    if row is None or ticket is None:
        raise Open311Error(404, f"token {token} not found")
    return render(
        fmt,
        [{"service_request_id": ticket.number, "token": token}],
        root="service_requests",
        item="request",
    )

"""Excel exports: real workbooks with a header row, number formats and a frozen header; the 月报 with
its sheets and charts; the scope of the viewer; nobody's name or number in any cell."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from dashboards.api import EXPORTS
from dashboards.exports import PERCENT
from hotline import lifecycle
from hotline.enums import TicketStatus
from tests.conftest import Org, login
from tests.core.factory import ticket_in, user


@pytest.fixture
def client(pg: tuple[Session, Org]) -> Iterator[TestClient]:
    from hotline.app import create_app

    session, org = pg
    ticket_in(session, org, TicketStatus.closed)  # 张先生, 13800000001, 市住建局
    ticket_in(session, org, TicketStatus.dispatched, dept="dc.hp", handler="hp", phone="13800000002")
    late = ticket_in(session, org, TicketStatus.in_progress, phone="13800000003")
    lifecycle.escalate_ticket(session, late, user(session, org, "supervisor"), level=2, cause="manual")
    session.commit()
    with TestClient(create_app()) as c:
        yield c


def cells(book: bytes) -> list[str]:
    wb = load_workbook(io.BytesIO(book))
    return [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]


def test_every_table_exports_to_a_real_workbook(client: TestClient) -> None:
    sup = login(client, "supervisor")
    for name in EXPORTS:
        response = client.get(f"/api/v1/dashboards/export/{name}.xlsx", params={"period": "month"}, headers=sup)
        assert response.status_code == 200, (name, response.text)
        assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert "attachment" in response.headers["content-disposition"]
        wb = load_workbook(io.BytesIO(response.content))
        first = wb.worksheets[0]
        assert first.freeze_panes == "A2", name
        assert first.cell(1, 1).font.bold and first.cell(1, 1).value
        assert wb.sheetnames[-1] == "说明"
        text = cells(response.content)
        assert not any(s in t for t in text for s in ("13800000001", "张先生")), name
    kpis = load_workbook(io.BytesIO(client.get("/api/v1/dashboards/export/kpis.xlsx", headers=sup).content))["指标"]
    rows = {r[0].value: r for r in kpis.iter_rows(min_row=2)}
    assert rows["受理量"][1].value == 3 and rows["受理量"][1].number_format == "#,##0"
    assert rows["按时办结率"][1].number_format == PERCENT
    assert "归属规则" in cells(client.get("/api/v1/dashboards/export/kpis.xlsx", headers=sup).content)


def test_the_monthly_report(client: TestClient) -> None:
    response = client.get("/api/v1/dashboards/report.xlsx", headers=login(client, "supervisor"))
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["概览", "红黑榜", "业务领域", "趋势", "督办通报", "热点诉求", "口径说明", "说明"]
    assert all(wb[name].freeze_panes == "A2" for name in ("概览", "红黑榜", "趋势", "督办通报", "热点诉求"))
    charts = {name: len(wb[name]._charts) for name in wb.sheetnames}
    assert charts["概览"] == 1 and charts["红黑榜"] == 1 and charts["业务领域"] == 2 and charts["趋势"] == 2
    assert not any("138000000" in t or "张先生" in t for t in cells(response.content))


def test_exports_follow_the_viewer(client: TestClient, pg: tuple[Session, Org]) -> None:
    _session, org = pg
    head = login(client, "dc_head")
    own = client.get("/api/v1/dashboards/export/overdue.xlsx", headers=head)
    assert own.status_code == 200
    aside = client.get(
        "/api/v1/dashboards/export/overdue.xlsx", params={"department_id": org.dept["zjj"]}, headers=head
    )
    assert aside.status_code == 403
    assert client.get("/api/v1/dashboards/report.xlsx", headers=login(client, "zjj")).status_code == 403
    assert client.get("/api/v1/dashboards/export/nothing.xlsx", headers=head).status_code == 404

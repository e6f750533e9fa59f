"""The README states each KPI exactly as the API does (one text, written once in definitions.py)."""

from __future__ import annotations

from pathlib import Path

from dashboards.definitions import KPIS

README = Path(__file__).resolve().parents[2] / "dashboards" / "README.md"


def test_the_readme_table_is_the_definitions() -> None:
    text = README.read_text(encoding="utf-8")
    for kpi in KPIS:
        scope = "全市" if kpi.city_only else "任意"
        assert f"| {kpi.name} | {kpi.definition} | {scope} |" in text, kpi.key

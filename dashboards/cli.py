"""The dashboards' commands (added to `hotline` by hotline/cli.py)."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

import click

from dashboards.hot_topics import Appeal, cluster

DATE_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
REQUIRED = ("id", "date", "title", "text")


def parse_day(value: str) -> date:
    value = value.strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"无法识别的日期：{value!r}")


def read_appeals(path: Path) -> list[Appeal]:
    """Appeals from a CSV file with the columns id, date, title, text and an optional likes."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise click.UsageError(f"{path}: 缺少列 {', '.join(missing)}（须有 id, date, title, text，可选 likes）")
        out = []
        for line, row in enumerate(reader, start=2):
            try:
                likes = int(row.get("likes") or 0)
                out.append(
                    Appeal(
                        id=_id(row["id"]),
                        day=parse_day(row["date"]),
                        title=row["title"] or "",
                        text=row["text"] or "",
                        likes=likes,
                    )
                )
            except ValueError as exc:
                raise click.UsageError(f"{path} 第 {line} 行：{exc}") from exc
    return out


def _id(value: str) -> int | str:
    value = value.strip()
    return int(value) if value.isdigit() else value


@click.command("hot-topics")
@click.option(
    "--data",
    "data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="CSV: id, date, title, text[, likes]",
)
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="How many clusters to print.")
def hot_topics_command(data: Path, top: int) -> None:
    """热点诉求 of a file: one JSON list of the hottest clusters, best first (title, place, heat,
    first, last, size, ids)."""
    topics = cluster(read_appeals(data))[:top]
    click.echo(json.dumps([t.to_json() for t in topics], ensure_ascii=False, indent=1))

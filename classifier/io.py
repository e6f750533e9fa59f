"""Reading labelled appeals from CSV / Excel, and the gzip CSV kept beside a model."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

TRAIN_DATA_FILE = "train_data.csv.gz"
SUPPORTED_SUFFIXES = (".csv", ".xlsx")


class DataError(ValueError):
    """Unusable input data: unknown file type, empty file, missing column."""


@dataclass(frozen=True)
class Example:
    """One labelled appeal. Any label may be None: a head learns from the rows that have it, so
    a center's dispatch history (text → department) and a category corpus can be mixed."""

    title: str
    text: str
    category: str | None = None
    appeal_type: str | None = None
    urgency: str | None = None
    department: str | None = None


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # Excel stores department ids as floats
    return str(v).strip()


def read_table(path: str | Path) -> list[dict[str, str]]:
    """Rows of a .csv (UTF-8, with or without BOM; GB18030 fallback) or .xlsx (first sheet)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataError(f"{p.name}: unsupported file type {suffix or '(none)'}; use .csv or .xlsx")
    if not p.is_file():
        raise DataError(f"{p}: no such file")
    if suffix == ".csv":
        raw = p.read_bytes()
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            content = raw.decode("gb18030")  # Excel-on-Windows exports
        reader = csv.reader(io.StringIO(content, newline=""))
        table = [row for row in reader if any(c.strip() for c in row)]
    else:
        import openpyxl

        try:
            wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several unrelated types for a bad file
            raise DataError(f"{p.name}: not a readable .xlsx file ({exc})") from exc
        try:
            ws = wb.worksheets[0]
            table = [[_cell(c) for c in row] for row in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
        table = [row for row in table if any(c for c in row)]
    if not table:
        raise DataError(f"{p.name}: the file is empty")
    header = [h.strip() for h in table[0]]
    rows = [{h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header) if h} for row in table[1:]]
    if not rows:
        raise DataError(f"{p.name}: no data rows under the header")
    return rows


def require_columns(rows: Sequence[dict[str, str]], columns: Iterable[str], source: str) -> None:
    have = set(rows[0]) if rows else set()
    missing = [c for c in columns if c not in have]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)} (have: {', '.join(sorted(have))})")


def load_examples(
    path: str | Path,
    text_cols: Sequence[str] = ("title", "text"),
    label_col: str | None = "label",
    type_col: str | None = None,
    urgency_col: str | None = None,
    department_col: str | None = None,
) -> list[Example]:
    """Examples from a table. With two or more ``text_cols`` the first is the title and the rest
    are joined as the text; with one, it is the text and the title is empty."""
    if not text_cols:
        raise DataError("at least one text column is needed")
    rows = read_table(path)
    label_cols = {"category": label_col, "appeal_type": type_col, "urgency": urgency_col, "department": department_col}
    require_columns(rows, [*text_cols, *(c for c in label_cols.values() if c)], Path(path).name)
    out: list[Example] = []
    for r in rows:
        if len(text_cols) >= 2:
            title, text = r[text_cols[0]], "\n".join(r[c] for c in text_cols[1:] if r[c])
        else:
            title, text = "", r[text_cols[0]]
        labels = {k: (r[c] or None) if c else None for k, c in label_cols.items()}
        out.append(Example(title, text, **labels))
    return out


def write_examples(examples: Iterable[Example], path: Path) -> None:
    names = [f.name for f in fields(Example)]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(names)
    for e in examples:
        w.writerow([getattr(e, n) or "" for n in names])
    # mtime=0: the same rows give the same bytes (reproducible model directories)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(buf.getvalue().encode("utf-8"))


def read_examples(path: Path) -> list[Example]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return [
            Example(
                title=row["title"],
                text=row["text"],
                category=row.get("category") or None,
                appeal_type=row.get("appeal_type") or None,
                urgency=row.get("urgency") or None,
                department=row.get("department") or None,
            )
            for row in csv.DictReader(f)
        ]

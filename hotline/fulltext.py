"""Chinese full-text search, one machinery for tickets and the knowledge base (知识库).

Text is cut into words by jieba in search mode (a long word also yields the shorter dictionary
words inside it: 拖欠工资 → 拖欠, 工资, 拖欠工资), with the HMM off so that the same characters cut
the same way in a document and in a query. The words are kept on the row when it is written:

- PostgreSQL: a ``tsvector`` column (lexemes with positions and weights, title words weighted A)
  under a GIN index; a query is a ``tsquery`` of the same words, ranked by ``ts_rank_cd``.
- SQLite: a text column of space-joined words, indexed by an FTS5 table kept in step by triggers
  (``sqlite_index_ddl``); ranked by ``bm25``.

Query semantics, the same on both: words separated by spaces must all be there (解放路 噪音); the
words of one part are cut like the document, and each must be there (拖欠工资 finds 拖欠 … 工资 too).
A word the dictionary cuts differently in a document than in the query (rare with the HMM off) is
missed: the price of an index, written down in the README.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import jieba
from sqlalchemy import ColumnElement, Select, Text, bindparam, cast, column, event, func, literal_column, table, text
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.types import TypeDecorator, TypeEngine

# A word is CJK ideographs, or letters and digits; punctuation and spaces are never words.
_WORD = re.compile(r"[\w\u3400-\u9fff]+", re.UNICODE)
_MAX_TERMS = 4000  # a very long text keeps its first words (PostgreSQL positions stop at 16383)
_MAX_QUERY_PARTS = 8
_lock = threading.Lock()
_ready = False


def _tokenizer() -> jieba.Tokenizer:
    global _ready
    if not _ready:
        with _lock:
            if not _ready:
                jieba.setLogLevel(60)
                jieba.initialize()
                _ready = True
    return jieba.dt


def words(text: str | None) -> list[str]:
    """The index words of ``text``, in order (lower-cased; punctuation dropped)."""
    if not text:
        return []
    out: list[str] = []
    for token in _tokenizer().cut_for_search(text, HMM=False):
        token = token.strip().lower()
        if token and _WORD.fullmatch(token):
            out.append(token)
            if len(out) >= _MAX_TERMS:
                break
    return out


def _inner_words(word: str) -> list[str]:
    """The dictionary words of two and three characters inside a longer word (as search mode finds)."""
    freq = _tokenizer().FREQ
    inner = []
    for size in (2, 3):
        if len(word) > size:
            inner += [word[i : i + size] for i in range(len(word) - size + 1) if freq.get(word[i : i + size])]
    return inner


def query_groups(query: str | None) -> list[list[list[str]]]:
    """What a query asks for: every group must match; a group matches when one of its alternatives
    does, an alternative when all its words are there. A word is one group; a long word whose inner
    dictionary words cover it may also be found as those words (拖欠工资: 拖欠工资, or 拖欠 and 工资)."""
    groups: list[list[list[str]]] = []
    for part in (query or "").split()[:_MAX_QUERY_PARTS]:
        for token in _tokenizer().cut(part, HMM=False):
            word = token.strip().lower()
            if not word or not _WORD.fullmatch(word):
                continue
            alternatives = [[word]]
            inner = list(dict.fromkeys(_inner_words(word)))
            covered = {i for w in inner for start in _starts(word, w) for i in range(start, start + len(w))}
            if inner and len(covered) == len(word):
                alternatives.append(inner)
            if alternatives not in groups:
                groups.append(alternatives)
    return groups


def _starts(word: str, inner: str) -> list[int]:
    return [i for i in range(len(word) - len(inner) + 1) if word.startswith(inner, i)]


def query_words(query: str | None) -> set[str]:
    """Every word a query may match (for highlighting)."""
    return {w for group in query_groups(query) for alt in group for w in alt}


def _tsquery(groups: list[list[list[str]]]) -> str:
    def alt(words_: list[str]) -> str:
        inner = " & ".join(_quote(w) for w in words_)
        return f"({inner})" if len(words_) > 1 else inner

    return " & ".join("(" + " | ".join(alt(a) for a in group) + ")" for group in groups)


def _fts5_query(groups: list[list[list[str]]]) -> str:
    def term(w: str) -> str:
        return '"' + w.replace('"', '""') + '"'

    def alt(words_: list[str]) -> str:
        return "(" + " AND ".join(term(w) for w in words_) + ")"

    return " AND ".join("(" + " OR ".join(alt(a) for a in group) + ")" for group in groups)


# -------------------------------------------------------------------- writing the document


def _quote(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(fields: Sequence[tuple[str | None, str]]) -> str:
    """A ``tsvector`` in its text form for ``(text, weight)`` fields, weights 'A' to 'D'."""
    positions: dict[str, list[str]] = {}
    pos = 0
    for value, weight in fields:
        for word in words(value):
            pos += 1
            if pos > 16383:
                break
            suffix = "" if weight == "D" else weight
            positions.setdefault(word, []).append(f"{pos}{suffix}")
    return " ".join(f"{_quote(w)}:{','.join(p[:256])}" for w, p in positions.items())


def plain_document(fields: Sequence[tuple[str | None, str]]) -> str:
    """The SQLite form: the words, space-joined (FTS5's unicode61 tokenizer splits on the spaces)."""
    return " ".join(w for value, _ in fields for w in words(value))


class SearchDocument(TypeDecorator[str]):
    """The document column: ``tsvector`` on PostgreSQL, plain text elsewhere.

    The value bound is what :func:`document_value` computed for the dialect.
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(TSVECTOR())
        return dialect.type_descriptor(Text())

    def bind_expression(self, bindvalue: Any) -> Any:
        # On PostgreSQL the text form becomes a tsvector by a cast inside the statement.
        return _DialectCast(bindvalue)


class _DialectCast(ColumnElement[Any]):
    inherit_cache = True

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.type = inner.type


@compiles(_DialectCast)
def _compile_cast(element: _DialectCast, compiler: Any, **kw: Any) -> str:
    inner = compiler.process(element.inner, **kw)
    if compiler.dialect.name == "postgresql":
        return f"CAST({inner} AS tsvector)"
    return inner


def document_value(dialect_name: str, fields: Sequence[tuple[str | None, str]]) -> str:
    return tsvector_literal(fields) if dialect_name == "postgresql" else plain_document(fields)


@dataclass(frozen=True)
class Searchable:
    """How one table is searched: its document column, the fields and weights it is made of, and
    (SQLite) the FTS5 table that indexes it."""

    table: str
    column: str
    fields: tuple[tuple[str, str], ...]  # (attribute, weight)
    fts_table: str

    def document(self, dialect_name: str, row: Any) -> str:
        return document_value(dialect_name, [(getattr(row, name), weight) for name, weight in self.fields])

    def keep_on_write(self, model: type) -> None:
        """Recompute the document whenever a row is inserted or one of its fields changes."""
        from sqlalchemy import inspect

        names = [name for name, _ in self.fields]

        def before_insert(_mapper: Any, connection: Any, target: Any) -> None:
            setattr(target, self.column, self.document(connection.dialect.name, target))

        def before_update(_mapper: Any, connection: Any, target: Any) -> None:
            state = inspect(target)
            if any(state.attrs[name].history.has_changes() for name in names):
                setattr(target, self.column, self.document(connection.dialect.name, target))

        event.listen(model, "before_insert", before_insert)
        event.listen(model, "before_update", before_update)

    # -- reading ---------------------------------------------------------------------------

    def search(
        self, dialect_name: str, query: Select[Any], id_column: Any, document_column: Any, words_query: str
    ) -> tuple[Select[Any], Any] | None:
        """``query`` narrowed to rows matching ``words_query``, and a rank that sorts best first
        (ascending); None when the query holds no word (then nothing can match)."""
        groups = query_groups(words_query)
        if not groups:
            return None
        if dialect_name == "postgresql":
            # A cast, not to_tsquery(): the words are already cut, and no parser may cut them again.
            q = cast(bindparam("fts_query", _tsquery(groups), type_=Text, unique=True), TSQUERY)
            return query.where(document_column.op("@@")(q)), -func.ts_rank_cd(document_column, q)
        fts_match = _fts5_query(groups)
        fts = table(self.fts_table, column("rowid"))
        name: ColumnElement[Any] = literal_column(self.fts_table)
        narrowed = query.join(fts, fts.c.rowid == id_column).where(
            name.op("MATCH")(bindparam("fts_query", fts_match, type_=Text, unique=True))
        )
        return narrowed, func.bm25(name)


def sqlite_index_ddl(searchable: Searchable, *, id_column: str = "id") -> list[str]:
    """FTS5 over the document column (external content) and the triggers that keep it in step."""
    t, c, f = searchable.table, searchable.column, searchable.fts_table
    return [
        f"CREATE VIRTUAL TABLE {f} USING fts5({c}, content='{t}', content_rowid='{id_column}', "
        "tokenize='unicode61 remove_diacritics 0')",
        f"CREATE TRIGGER {f}_ai AFTER INSERT ON {t} BEGIN "
        f"INSERT INTO {f}(rowid, {c}) VALUES (new.{id_column}, new.{c}); END",
        f"CREATE TRIGGER {f}_ad AFTER DELETE ON {t} BEGIN "
        f"INSERT INTO {f}({f}, rowid, {c}) VALUES ('delete', old.{id_column}, old.{c}); END",
        f"CREATE TRIGGER {f}_au AFTER UPDATE OF {c} ON {t} BEGIN "
        f"INSERT INTO {f}({f}, rowid, {c}) VALUES ('delete', old.{id_column}, old.{c}); "
        f"INSERT INTO {f}(rowid, {c}) VALUES (new.{id_column}, new.{c}); END",
    ]


def sqlite_drop_ddl(searchable: Searchable) -> list[str]:
    f = searchable.fts_table
    return [f"DROP TRIGGER IF EXISTS {f}_{s}" for s in ("ai", "ad", "au")] + [f"DROP TABLE IF EXISTS {f}"]


def backfill(connection: Any, searchable: Searchable, batch: int = 2000) -> int:
    """Compute the document of every row that has none (a migration, or rows written before)."""
    names = [name for name, _ in searchable.fields]
    dialect = connection.dialect.name
    done = 0
    last = 0
    while True:
        rows = connection.execute(
            text(
                f"SELECT id, {', '.join(names)} FROM {searchable.table} "
                f"WHERE id > :last AND {searchable.column} IS NULL ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": batch},
        ).all()
        if not rows:
            return done
        values = [
            {
                "id": r[0],
                "doc": document_value(dialect, list(zip(r[1:], [w for _, w in searchable.fields], strict=True))),
            }
            for r in rows
        ]
        target = "CAST(:doc AS tsvector)" if dialect == "postgresql" else ":doc"
        connection.execute(text(f"UPDATE {searchable.table} SET {searchable.column} = {target} WHERE id = :id"), values)
        done += len(rows)
        last = rows[-1][0]


def highlight(text_value: str | None, query: str, *, before: str = "<em>", after: str = "</em>") -> str:
    """``text_value`` with the query's words marked (HTML-escaped first; for snippets on a page)."""
    from html import escape

    if not text_value:
        return ""
    marked = escape(text_value)
    found: Iterable[str] = sorted(query_words(query), key=len, reverse=True)
    for word in found:
        marked = re.sub(re.escape(escape(word)), lambda m: f"{before}{m.group(0)}{after}", marked, flags=re.I)
    return marked

"""Finding articles: full-text search (hotline/fulltext.py: jieba words, ranked, on PostgreSQL
and SQLite alike), filters, and the highlighted title and passage of each hit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, select
from sqlalchemy.orm import Session

from hotline.fulltext import highlight, query_words
from hotline.models import User
from hotline.service import count_rows
from knowledge.articles import ArticleStatus, is_manager, offered, state, today, visible
from knowledge.models import ARTICLE_SEARCH, KnowledgeArticle

SNIPPET = 120  # characters of the body shown around the first word found


@dataclass
class ArticleQuery:
    q: str | None = None
    category: str | None = None
    department_id: int | None = None
    # offered: what an agent may answer from today; all: every article the user may read
    scope: str = "offered"
    status: str | None = None
    # 即将到期: valid_to within this many days from today (departments renew their policies)
    expiring_within: int | None = None


def passage(body: str, q: str | None, size: int = SNIPPET) -> str:
    """The part of ``body`` around the first word of the query (its start when none is there)."""
    text = re.sub(r"\s+", " ", body).strip()
    words = sorted(query_words(q), key=len, reverse=True) if q else []
    lowered = text.lower()
    hits = [i for i in (lowered.find(w) for w in words) if i >= 0]
    start = max(0, min(hits) - size // 4) if hits else 0
    piece = text[start : start + size]
    return ("…" if start > 0 else "") + piece + ("…" if start + size < len(text) else "")


def title_hits(q: str) -> ColumnElement[int]:
    """How many of the query's words the title holds: an article whose title answers the query
    ranks above one that only mentions the words in its body, on both databases (SQLite's bm25
    over the one document column knows no field weights; PostgreSQL's ts_rank_cd does, and agrees)."""
    hits: list[ColumnElement[int]] = [
        case((func.lower(KnowledgeArticle.title).contains(w, autoescape=True), 1), else_=0)
        for w in sorted(query_words(q))
    ]
    return sum(hits[1:], hits[0]) if hits else literal(0)


def search_articles(
    session: Session, user: User, query: ArticleQuery, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    day = today()
    stmt: Select[Any] = select(KnowledgeArticle)
    if query.scope == "all" and (is_manager(user) or user.department_id is not None):
        stmt = stmt.where(visible(user, day))
    else:
        stmt = stmt.where(offered(day))
    if query.category:
        stmt = stmt.where(KnowledgeArticle.category == query.category)
    if query.department_id:
        stmt = stmt.where(KnowledgeArticle.department_id == query.department_id)
    if query.status:
        stmt = stmt.where(KnowledgeArticle.status == ArticleStatus(query.status).value)
    if query.expiring_within:
        last = day + timedelta(days=query.expiring_within)
        stmt = stmt.where(KnowledgeArticle.valid_to >= day, KnowledgeArticle.valid_to <= last)
    order: list[Any] = [KnowledgeArticle.usage_count.desc(), KnowledgeArticle.updated_at.desc(), KnowledgeArticle.id]
    if query.q and query.q.strip():
        found = ARTICLE_SEARCH.search(
            session.get_bind().dialect.name, stmt, KnowledgeArticle.id, KnowledgeArticle.search_document, query.q
        )
        if found is None:
            return [], 0
        stmt, rank = found
        order[:0] = [title_hits(query.q).desc(), rank]
    total, _exact = count_rows(session, stmt)
    rows = session.scalars(stmt.order_by(*order).offset((page - 1) * page_size).limit(page_size)).all()
    return [hit(a, query.q, day) for a in rows], total


def hit(article: KnowledgeArticle, q: str | None, day: Any) -> dict[str, Any]:
    return {
        "id": article.id,
        "title": article.title,
        "category": article.category,
        "department_id": article.department_id,
        "status": article.status,
        "state": state(article, day),
        "valid_from": article.valid_from,
        "valid_to": article.valid_to,
        "current_version": article.current_version,
        "usage_count": article.usage_count,
        "updated_at": article.updated_at,
        "title_html": highlight(article.title, q or ""),
        "passage_html": highlight(passage(article.body, q), q or ""),
    }

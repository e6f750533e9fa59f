"""Tables of the knowledge base (知识库): articles, every version of each, and their uses (直办).

``knowledge_articles`` holds what agents are offered: the content of the article's approved
version (or, before any approval, of its first draft, which nobody outside its department and
the hotline's editors sees), its search document and its usage count. ``knowledge_versions``
keeps every version ever written, approved or not: a proposal changes the article only when the
hotline approves it. ``knowledge_uses`` records each ticket answered on the call from an article.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import Base, utcnow
from hotline.fulltext import Searchable, SearchDocument


class KnowledgeArticle(Base):
    __tablename__ = "knowledge_articles"
    __table_args__ = (Index("ix_knowledge_articles_status_category", "status", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # draft / proposed (never approved yet), approved (offered while valid), withdrawn
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))  # the source department
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    current_version: Mapped[int | None] = mapped_column(Integer)  # the number of the approved version shown
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # 全文检索 (hotline/fulltext.py): title words weighted A, body words D; kept on write.
    search_document: Mapped[str | None] = mapped_column(SearchDocument(), deferred=True)


ARTICLE_SEARCH = Searchable(
    table="knowledge_articles",
    column="search_document",
    fields=(("title", "A"), ("category", "B"), ("body", "D")),
    fts_table="knowledge_articles_fts",
)
ARTICLE_SEARCH.keep_on_write(KnowledgeArticle)


class KnowledgeVersion(Base):
    """One version of an article: a draft, a proposal, approved, rejected, or superseded."""

    __tablename__ = "knowledge_versions"
    __table_args__ = (
        UniqueConstraint("article_id", "number", name="uq_knowledge_versions_article_number"),
        Index("ix_knowledge_versions_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_articles.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... within the article
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    change_note: Mapped[str | None] = mapped_column(String(500))  # what the proposer changed and why
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    proposed_at: Mapped[datetime | None] = mapped_column()
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewer_name: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    review_note: Mapped[str | None] = mapped_column(String(500))


class KnowledgeUse(Base):
    """A ticket answered on the call (直办) from an article, and the version the agent read."""

    __tablename__ = "knowledge_uses"
    __table_args__ = (Index("ix_knowledge_uses_article", "article_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_articles.id", ondelete="CASCADE"))
    version_number: Mapped[int] = mapped_column(Integer)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

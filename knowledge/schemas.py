"""Pydantic shapes of the knowledge base's API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, computed_field

from hotline.schemas import Line, Note, Strict, Text
from knowledge.articles import STATE_LABELS, VERSION_STATUS_LABELS, VersionStatus

Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
ChangeNote = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None


class ArticleIn(Strict):
    """A version as written: a new article, an edit, or a draft changed."""

    title: Line
    body: Text
    category: Category
    department_id: int | None = None  # the source department (a department user's own by default)
    valid_from: date | None = None
    valid_to: date | None = None
    change_note: ChangeNote = None
    propose: bool = False  # submit for approval at once (else kept as a draft)


class ReviewIn(Strict):
    note: Note = None


class ArticleHit(BaseModel):
    id: int
    title: str
    category: str
    department_id: int
    status: str
    state: str  # offered, not_yet_valid, expired, withdrawn, draft, proposed

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    valid_from: date | None
    valid_to: date | None
    current_version: int | None
    usage_count: int
    updated_at: datetime
    title_html: str  # HTML-escaped, the query's words in <em>
    passage_html: str


class ArticlePage(BaseModel):
    items: list[ArticleHit]
    total: int
    page: int
    page_size: int


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    article_id: int
    number: int
    status: str
    title: str
    body: str
    category: str
    department_id: int
    valid_from: date | None
    valid_to: date | None
    change_note: str | None
    author_name: str
    created_at: datetime
    proposed_at: datetime | None
    reviewer_name: str | None
    reviewed_at: datetime | None
    review_note: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status_label(self) -> str:
        return VERSION_STATUS_LABELS[VersionStatus(self.status)]


class QueueItem(VersionOut):
    article_title: str  # the article as published (or as first written)
    article_current_version: int | None


class ArticleOut(BaseModel):
    id: int
    title: str
    body: str
    category: str
    department_id: int
    status: str
    state: str
    valid_from: date | None
    valid_to: date | None
    current_version: int | None
    usage_count: int
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    updated_at: datetime
    may_edit: bool  # the reader may write a new version
    may_review: bool  # the reader approves proposals and withdraws articles
    versions: list[VersionOut]


class UseOut(BaseModel):
    """One 直办 from the article: the ticket it closed, the version read, who and when."""

    ticket_id: int
    ticket_number: str
    version_number: int
    user_name: str | None
    at: datetime

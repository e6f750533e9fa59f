"""HTTP routes of the knowledge base under /api/v1/knowledge (thin: the rules are in articles.py).

直办 from an article is the core's ``POST /api/v1/tickets/{id}/answer`` with ``article_id``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.auth import require_roles
from hotline.deps import get_db
from hotline.http_errors import documented
from hotline.models import Ticket, User
from knowledge import articles
from knowledge.articles import ArticleFields, ArticleStatus, VersionStatus
from knowledge.models import KnowledgeArticle, KnowledgeUse, KnowledgeVersion
from knowledge.schemas import ArticleHit, ArticleIn, ArticleOut, ArticlePage, QueueItem, ReviewIn, UseOut, VersionOut
from knowledge.search import ArticleQuery, search_articles

router = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])
DB = Annotated[Session, Depends(get_db)]
Reader = Annotated[User, Depends(require_roles(*articles.READER_ROLES))]
CHANGE_ERRORS = documented(403, 404, 409)


def _fields(body: ArticleIn) -> ArticleFields:
    return ArticleFields(
        title=body.title,
        body=body.body,
        category=body.category,
        department_id=body.department_id,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        change_note=body.change_note,
    )


def _article_out(session: Session, user: User, article: KnowledgeArticle) -> ArticleOut:
    return ArticleOut(
        id=article.id,
        title=article.title,
        body=article.body,
        category=article.category,
        department_id=article.department_id,
        status=article.status,
        state=articles.state(article, articles.today()),
        valid_from=article.valid_from,
        valid_to=article.valid_to,
        current_version=article.current_version,
        usage_count=article.usage_count,
        created_at=article.created_at,
        updated_at=article.updated_at,
        may_edit=articles.may_edit(session, user, article.department_id),
        may_review=articles.is_manager(user),
        versions=[VersionOut.model_validate(v) for v in articles.versions_of(session, user, article)],
    )


@router.get("/articles", response_model=ArticlePage)
def search(
    user: Reader,
    session: DB,
    q: Annotated[str | None, Query(max_length=100, description="words; all must be there")] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    department_id: int | None = None,
    scope: Annotated[
        Literal["offered", "all"], Query(description="offered: what agents answer from today; all: what you may read")
    ] = "offered",
    status: ArticleStatus | None = None,
    expiring_within: Annotated[
        int | None, Query(ge=1, le=366, description="即将到期: valid_to within this many days")
    ] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Any:
    """Search the knowledge base: best match first (a word in the title above one in the body),
    the query's words highlighted (``<em>``) in the title and the passage shown."""
    query = ArticleQuery(
        q=q,
        category=category,
        department_id=department_id,
        scope=scope,
        status=status.value if status else None,
        expiring_within=expiring_within,
    )
    items, total = search_articles(session, user, query, page, page_size)
    return ArticlePage(items=[ArticleHit.model_validate(i) for i in items], total=total, page=page, page_size=page_size)


@router.post("/articles", response_model=VersionOut, status_code=201, responses=documented(403))
def create(body: ArticleIn, user: Reader, session: DB) -> Any:
    """A new article (its first version): a draft, or proposed for approval with ``propose``."""
    version = articles.write_article(session, user, _fields(body), propose=body.propose)
    session.commit()
    return version


@router.get("/articles/{article_id}", response_model=ArticleOut)
def article(article_id: int, user: Reader, session: DB) -> Any:
    """An article with its versions (readers who may not edit it see the published ones)."""
    return _article_out(session, user, articles.get_article(session, user, article_id))


@router.get("/articles/{article_id}/uses", response_model=list[UseOut])
def uses(article_id: int, user: Reader, session: DB, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> Any:
    """The latest tickets answered on the call (直办) from the article, newest first."""
    target = articles.get_article(session, user, article_id)
    rows = session.execute(
        select(KnowledgeUse, Ticket.number, User.display_name)
        .join(Ticket, Ticket.id == KnowledgeUse.ticket_id)
        .outerjoin(User, User.id == KnowledgeUse.user_id)
        .where(KnowledgeUse.article_id == target.id)
        .order_by(KnowledgeUse.at.desc(), KnowledgeUse.id.desc())
        .limit(limit)
    ).all()
    return [
        UseOut(ticket_id=u.ticket_id, ticket_number=n, version_number=u.version_number, user_name=name, at=u.at)
        for u, n, name in rows
    ]


@router.post("/articles/{article_id}/versions", response_model=VersionOut, status_code=201, responses=CHANGE_ERRORS)
def edit(article_id: int, body: ArticleIn, user: Reader, session: DB) -> Any:
    """An edit: a new version (draft, or proposed); the article changes when it is approved."""
    target = articles.get_article(session, user, article_id)
    version = articles.write_version(session, user, target, _fields(body), propose=body.propose)
    session.commit()
    return version


@router.post("/articles/{article_id}/withdraw", response_model=ArticleOut, responses=CHANGE_ERRORS)
def withdraw(article_id: int, user: Reader, session: DB) -> Any:
    """撤下: agents are no longer offered the article."""
    target = articles.withdraw_article(session, user, articles.get_article(session, user, article_id))
    session.commit()
    return _article_out(session, user, target)


@router.get("/versions", response_model=list[QueueItem])
def queue(
    user: Reader,
    session: DB,
    status: VersionStatus = VersionStatus.proposed,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> Any:
    """Versions by status, oldest proposal first: the hotline's approval queue (待审核), or a
    department's own drafts, proposals and rejections."""
    query = (
        select(KnowledgeVersion, KnowledgeArticle)
        .join(KnowledgeArticle, KnowledgeArticle.id == KnowledgeVersion.article_id)
        .where(KnowledgeVersion.status == status.value)
    )
    if not articles.is_manager(user):
        if user.department_id is None or not articles.may_edit(session, user, user.department_id):
            return []
        from hotline.access import subtree_ids

        query = query.where(KnowledgeVersion.department_id.in_(subtree_ids(user.department_id)))
    rows = session.execute(
        query.order_by(KnowledgeVersion.proposed_at.is_(None), KnowledgeVersion.proposed_at, KnowledgeVersion.id).limit(
            limit
        )
    ).all()
    return [
        QueueItem(
            **VersionOut.model_validate(v).model_dump(),
            article_title=a.title,
            article_current_version=a.current_version,
        )
        for v, a in rows
    ]


@router.get("/versions/{version_id}", response_model=VersionOut)
def version(version_id: int, user: Reader, session: DB) -> Any:
    return articles.get_version(session, user, version_id)


@router.put("/versions/{version_id}", response_model=VersionOut, responses=CHANGE_ERRORS)
def update(version_id: int, body: ArticleIn, user: Reader, session: DB) -> Any:
    """Change a draft (or a proposal not ruled on yet); ``propose`` submits it."""
    articles.get_version(session, user, version_id)
    changed = articles.update_draft(session, user, version_id, _fields(body), propose=body.propose)
    session.commit()
    return changed


@router.post("/versions/{version_id}/propose", response_model=VersionOut, responses=CHANGE_ERRORS)
def propose(version_id: int, user: Reader, session: DB) -> Any:
    """草稿 → 待审核."""
    articles.get_version(session, user, version_id)
    changed = articles.propose_version(session, user, version_id)
    session.commit()
    return changed


@router.post("/versions/{version_id}/approve", response_model=VersionOut, responses=CHANGE_ERRORS)
def approve(version_id: int, body: ReviewIn, user: Reader, session: DB) -> Any:
    """审核通过: the version is published (the one before is kept as 历史版本)."""
    articles.get_version(session, user, version_id)
    changed = articles.approve_version(session, user, version_id, body.note)
    session.commit()
    return changed


@router.post("/versions/{version_id}/reject", response_model=VersionOut, responses=CHANGE_ERRORS)
def reject(version_id: int, body: ReviewIn, user: Reader, session: DB) -> Any:
    """退回 with the reason."""
    articles.get_version(session, user, version_id)
    changed = articles.reject_version(session, user, version_id, body.note or "")
    session.commit()
    return changed

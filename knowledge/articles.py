"""The knowledge base's rules: who writes, proposes and approves articles, and every version kept.

A department (承办单位) writes a draft of a new article or of an edit to one of its own articles
and proposes it; the hotline's editors (督办员, 管理员) approve or reject the proposal. Only an
approval changes what agents are offered: the article takes the approved version's content and
the version it replaced is kept as superseded. Each change is one function that checks the
actor and the version's state and flushes; the caller commits.

Statuses of a version: draft → proposed → approved | rejected; approved → superseded when a
later version is approved. Of an article: draft / proposed until its first approval, approved,
withdrawn (taken off by the hotline). An approved article outside its validity (valid_from,
valid_to) is not offered: it is "not yet valid" or "expired", computed from today's date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from hotline import access
from hotline.db import utcnow
from hotline.enums import DEPARTMENT_ROLES, Role
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.models import Department, User
from hotline.settings import get_settings
from knowledge.models import KnowledgeArticle, KnowledgeVersion


class VersionStatus(StrEnum):
    draft = "draft"  # 草稿
    proposed = "proposed"  # 待审核
    approved = "approved"  # 已发布
    rejected = "rejected"  # 已退回
    superseded = "superseded"  # 历史版本


class ArticleStatus(StrEnum):
    draft = "draft"  # 草稿 (never approved)
    proposed = "proposed"  # 待审核 (never approved)
    approved = "approved"  # 已发布
    withdrawn = "withdrawn"  # 已撤下


VERSION_STATUS_LABELS = {
    VersionStatus.draft: "草稿",
    VersionStatus.proposed: "待审核",
    VersionStatus.approved: "已发布",
    VersionStatus.rejected: "已退回",
    VersionStatus.superseded: "历史版本",
}

# What an article is for the reader today (status and validity together).
STATE_LABELS = {
    "draft": "草稿",
    "proposed": "待审核",
    "offered": "生效中",
    "not_yet_valid": "未到生效日期",
    "expired": "已过期",
    "withdrawn": "已撤下",
}

EDITOR_ROLES = frozenset({*DEPARTMENT_ROLES, Role.supervisor, Role.admin})
APPROVER_ROLES = frozenset({Role.supervisor, Role.admin})
READER_ROLES = frozenset(set(Role) - {Role.channel})


def today() -> date:
    return utcnow().astimezone(ZoneInfo(get_settings().timezone)).date()


def offered(day: date) -> ColumnElement[bool]:
    """The condition of an article offered to agents on ``day``: approved and valid."""
    a = KnowledgeArticle
    return and_(
        a.status == ArticleStatus.approved.value,
        or_(a.valid_from.is_(None), a.valid_from <= day),
        or_(a.valid_to.is_(None), a.valid_to >= day),
    )


def state(article: KnowledgeArticle, day: date) -> str:
    if article.status != ArticleStatus.approved:
        return article.status
    if article.valid_from and article.valid_from > day:
        return "not_yet_valid"
    if article.valid_to and article.valid_to < day:
        return "expired"
    return "offered"


def is_manager(user: User) -> bool:
    return Role(user.role) in APPROVER_ROLES


def visible(user: User, day: date) -> ColumnElement[bool]:
    """The articles ``user`` may read: editors all, a department its own too, everyone else
    the articles offered today."""
    if is_manager(user):
        return true()
    if access.is_department_user(user) and user.department_id is not None:
        return or_(offered(day), KnowledgeArticle.department_id.in_(access.subtree_ids(user.department_id)))
    if Role(user.role) == Role.channel:
        return false()
    return offered(day)


def get_article(session: Session, user: User, article_id: int) -> KnowledgeArticle:
    article = session.scalar(select(KnowledgeArticle).where(KnowledgeArticle.id == article_id, visible(user, today())))
    if article is None:
        raise NotFound("知识库文章不存在或无权查看")
    return article


def may_edit(session: Session, user: User, department_id: int) -> bool:
    """Editors of the hotline write for any department; a department for itself and units below."""
    if is_manager(user):
        return True
    if Role(user.role) not in DEPARTMENT_ROLES or user.department_id is None:
        return False
    return access.is_within(session, department_id, user.department_id)


def versions_of(session: Session, user: User, article: KnowledgeArticle) -> list[KnowledgeVersion]:
    """Every version, newest first; readers who may not edit the article see the published ones."""
    query = select(KnowledgeVersion).where(KnowledgeVersion.article_id == article.id)
    if not may_edit(session, user, article.department_id):
        query = query.where(KnowledgeVersion.status.in_([VersionStatus.approved.value, VersionStatus.superseded.value]))
    return list(session.scalars(query.order_by(KnowledgeVersion.number.desc())))


@dataclass
class ArticleFields:
    title: str
    body: str
    category: str
    department_id: int | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    change_note: str | None = None


def _checked(session: Session, actor: User, fields: ArticleFields, department_id: int | None) -> ArticleFields:
    from hotline.classification import category_labels

    title, body = fields.title.strip(), fields.body.strip()
    if not title:
        raise InvalidInput("请填写标题", field="title")
    if not body:
        raise InvalidInput("请填写正文", field="body")
    categories = category_labels()
    if fields.category not in categories:
        raise InvalidInput(f"业务领域无效：{fields.category}", field="category", allowed=categories)
    if fields.valid_from and fields.valid_to and fields.valid_to < fields.valid_from:
        raise InvalidInput("失效日期不能早于生效日期", field="valid_to")
    dept_id = department_id or fields.department_id or actor.department_id
    if dept_id is None:
        raise InvalidInput("请选择来源单位", field="department_id")
    dept = session.get(Department, dept_id)
    if dept is None or not dept.active:
        raise InvalidInput("来源单位不存在或已停用", field="department_id")
    if not may_edit(session, actor, dept_id):
        raise Forbidden("只能为本单位（或下属单位）编写知识", code="not_own_department")
    return ArticleFields(
        title=title,
        body=body,
        category=fields.category,
        department_id=dept_id,
        valid_from=fields.valid_from,
        valid_to=fields.valid_to,
        change_note=(fields.change_note or "").strip() or None,
    )


def _require_role(actor: User, roles: frozenset[Role], action: str) -> None:
    if Role(actor.role) not in roles:
        raise access.role_refusal(actor, roles, action)


def _apply(target: KnowledgeArticle | KnowledgeVersion, fields: ArticleFields) -> None:
    target.title = fields.title
    target.body = fields.body
    target.category = fields.category
    target.department_id = fields.department_id  # type: ignore[assignment]
    target.valid_from = fields.valid_from
    target.valid_to = fields.valid_to


def _open_version(session: Session, article_id: int) -> KnowledgeVersion | None:
    return session.scalar(
        select(KnowledgeVersion).where(
            KnowledgeVersion.article_id == article_id,
            KnowledgeVersion.status.in_([VersionStatus.draft.value, VersionStatus.proposed.value]),
        )
    )


def _mirror_unpublished(article: KnowledgeArticle, version: KnowledgeVersion, now: datetime) -> None:
    """An article never approved shows its latest version to those who may see it."""
    if article.current_version is None:
        _apply(article, _fields_of(version))
        article.status = ArticleStatus.proposed.value if version.status == "proposed" else ArticleStatus.draft.value
        article.updated_at = now


def _fields_of(version: KnowledgeVersion) -> ArticleFields:
    return ArticleFields(
        title=version.title,
        body=version.body,
        category=version.category,
        department_id=version.department_id,
        valid_from=version.valid_from,
        valid_to=version.valid_to,
    )


def write_article(session: Session, actor: User, fields: ArticleFields, *, propose: bool) -> KnowledgeVersion:
    """A new article: its first version, a draft or at once a proposal."""
    _require_role(actor, EDITOR_ROLES, "编写知识")
    checked = _checked(session, actor, fields, None)
    now = utcnow()
    article = KnowledgeArticle(status=ArticleStatus.draft.value, usage_count=0, created_at=now, updated_at=now)
    _apply(article, checked)
    session.add(article)
    session.flush()
    return _new_version(session, actor, article, checked, propose=propose, now=now)


def write_version(
    session: Session, actor: User, article: KnowledgeArticle, fields: ArticleFields, *, propose: bool
) -> KnowledgeVersion:
    """An edit of an article: a new version; the article changes only when it is approved."""
    _require_role(actor, EDITOR_ROLES, "修改知识")
    if not may_edit(session, actor, article.department_id):
        raise Forbidden("只能修改本单位（或下属单位）的知识", code="not_own_department")
    checked = _checked(session, actor, fields, fields.department_id or article.department_id)
    pending = _open_version(session, article.id)
    if pending is not None:
        raise Conflict(
            f"该文章已有{VERSION_STATUS_LABELS[VersionStatus(pending.status)]}的第 {pending.number} 版，"
            "请在其上修改或等待审核",
            code="open_version",
        )
    return _new_version(session, actor, article, checked, propose=propose, now=utcnow())


def _new_version(
    session: Session, actor: User, article: KnowledgeArticle, fields: ArticleFields, *, propose: bool, now: datetime
) -> KnowledgeVersion:
    number = (
        session.scalar(select(func.max(KnowledgeVersion.number)).where(KnowledgeVersion.article_id == article.id)) or 0
    ) + 1
    version = KnowledgeVersion(
        article_id=article.id,
        number=number,
        status=(VersionStatus.proposed if propose else VersionStatus.draft).value,
        change_note=fields.change_note,
        author_id=actor.id,
        author_name=actor.display_name,
        created_at=now,
        proposed_at=now if propose else None,
    )
    _apply(version, fields)
    session.add(version)
    _mirror_unpublished(article, version, now)
    session.flush()
    return version


def _version_for_change(session: Session, version_id: int) -> tuple[KnowledgeVersion, KnowledgeArticle]:
    version = session.get(KnowledgeVersion, version_id)
    if version is None:
        raise NotFound("版本不存在")
    article = session.get(KnowledgeArticle, version.article_id)
    assert article is not None
    return version, article


def _expect(version: KnowledgeVersion, allowed: set[VersionStatus], action: str) -> None:
    if VersionStatus(version.status) not in allowed:
        label = VERSION_STATUS_LABELS[VersionStatus(version.status)]
        raise Conflict(
            f"第 {version.number} 版当前为「{label}」，不能{action}", code="invalid_state", status=version.status
        )


def get_version(session: Session, user: User, version_id: int) -> KnowledgeVersion:
    version = session.get(KnowledgeVersion, version_id)
    if version is None or not (
        may_edit(session, user, version.department_id)
        or version.status in {VersionStatus.approved, VersionStatus.superseded}
    ):
        raise NotFound("版本不存在或无权查看")
    get_article(session, user, version.article_id)  # 404 when the article is out of reach
    return version


def update_draft(
    session: Session, actor: User, version_id: int, fields: ArticleFields, *, propose: bool
) -> KnowledgeVersion:
    """Change a draft (or a proposal the hotline has not ruled on yet, which goes back to the queue)."""
    _require_role(actor, EDITOR_ROLES, "修改知识")
    version, article = _version_for_change(session, version_id)
    if not may_edit(session, actor, version.department_id):
        raise Forbidden("只能修改本单位（或下属单位）的知识", code="not_own_department")
    _expect(version, {VersionStatus.draft, VersionStatus.proposed}, "修改")
    checked = _checked(session, actor, fields, fields.department_id or version.department_id)
    now = utcnow()
    _apply(version, checked)
    version.change_note = checked.change_note
    if propose:
        version.status = VersionStatus.proposed.value
        version.proposed_at = now
    _mirror_unpublished(article, version, now)
    session.flush()
    return version


def propose_version(session: Session, actor: User, version_id: int) -> KnowledgeVersion:
    """草稿 → 待审核."""
    _require_role(actor, EDITOR_ROLES, "提交审核")
    version, article = _version_for_change(session, version_id)
    if not may_edit(session, actor, version.department_id):
        raise Forbidden("只能提交本单位（或下属单位）的知识", code="not_own_department")
    _expect(version, {VersionStatus.draft}, "提交审核")
    now = utcnow()
    version.status = VersionStatus.proposed.value
    version.proposed_at = now
    _mirror_unpublished(article, version, now)
    session.flush()
    return version


def approve_version(session: Session, actor: User, version_id: int, note: str | None = None) -> KnowledgeVersion:
    """审核通过: the version becomes what agents are offered; the one it replaces is kept."""
    _require_role(actor, APPROVER_ROLES, "审核发布知识")
    version, article = _version_for_change(session, version_id)
    _expect(version, {VersionStatus.proposed}, "审核通过")
    now = utcnow()
    previous = session.scalar(
        select(KnowledgeVersion).where(
            KnowledgeVersion.article_id == article.id, KnowledgeVersion.status == VersionStatus.approved.value
        )
    )
    if previous is not None:
        previous.status = VersionStatus.superseded.value
    version.status = VersionStatus.approved.value
    _reviewed(version, actor, note, now)
    _apply(article, _fields_of(version))
    article.status = ArticleStatus.approved.value
    article.current_version = version.number
    article.updated_at = now
    session.flush()
    return version


def reject_version(session: Session, actor: User, version_id: int, note: str) -> KnowledgeVersion:
    """退回 a proposal with the reason; the article stays as it was."""
    _require_role(actor, APPROVER_ROLES, "审核知识")
    version, article = _version_for_change(session, version_id)
    _expect(version, {VersionStatus.proposed}, "退回")
    if not (note or "").strip():
        raise InvalidInput("请填写退回原因", field="note")
    now = utcnow()
    version.status = VersionStatus.rejected.value
    _reviewed(version, actor, note, now)
    if article.current_version is None:
        article.status = ArticleStatus.draft.value
        article.updated_at = now
    session.flush()
    return version


def _reviewed(version: KnowledgeVersion, actor: User, note: str | None, now: datetime) -> None:
    version.reviewer_id = actor.id
    version.reviewer_name = actor.display_name
    version.reviewed_at = now
    version.review_note = (note or "").strip() or None


def withdraw_article(session: Session, actor: User, article: KnowledgeArticle) -> KnowledgeArticle:
    """撤下: no longer offered (a new approved version brings it back)."""
    _require_role(actor, APPROVER_ROLES, "撤下知识")
    if article.status != ArticleStatus.approved:
        raise Conflict("只有已发布的文章可以撤下", code="invalid_state", status=article.status)
    article.status = ArticleStatus.withdrawn.value
    article.updated_at = utcnow()
    session.flush()
    return article


def offered_article(session: Session, article_id: Any) -> KnowledgeArticle:
    """The article an agent answers from, or 422 when it is not offered today."""
    article = (
        session.scalar(select(KnowledgeArticle).where(KnowledgeArticle.id == article_id, offered(today())))
        if isinstance(article_id, int)
        else None
    )
    if article is None:
        raise InvalidInput("该知识库文章不存在或未生效，不能据此直办", field="article_id")
    return article

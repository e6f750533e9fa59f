"""The demo city's knowledge base: the articles of knowledge/data/articles.yaml, written by the
project for 示范市 (policies, office hours, procedures of its departments), each proposed in its
department's name and approved, as the workflow would have it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifier.yamlfile import load_yaml
from hotline.models import Department
from hotline.orgs import get_system_user
from knowledge.articles import ArticleFields, approve_version, write_article
from knowledge.models import KnowledgeArticle

ARTICLES_FILE = Path(__file__).parent / "data" / "articles.yaml"


def load_articles(path: Path = ARTICLES_FILE) -> list[dict[str, Any]]:
    data: dict[str, Any] = load_yaml(path.read_text(encoding="utf-8"))
    return list(data["articles"])


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def seed_articles(session: Session, path: Path = ARTICLES_FILE) -> int:
    """Load the articles once (nothing when the knowledge base has any); returns how many."""
    if session.scalar(select(func.count()).select_from(KnowledgeArticle)):
        return 0
    departments = {d.code: d.id for d in session.scalars(select(Department))}
    editor = get_system_user(session)
    count = 0
    for entry in load_articles(path):
        department_id = departments.get(entry["department"])
        if department_id is None:
            continue  # an organisation without that department (a center's own tree)
        fields = ArticleFields(
            title=entry["title"],
            body=entry["body"].strip(),
            category=entry["category"],
            department_id=department_id,
            valid_from=_day(entry.get("valid_from")),
            valid_to=_day(entry.get("valid_to")),
        )
        version = write_article(session, editor, fields, propose=True)
        approve_version(session, editor, version.id, "示范数据")
        count += 1
    session.flush()
    return count

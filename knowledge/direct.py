"""直办 from an article: the use recorded with the ticket's own 直办 event (same transaction).

The state change is the core's one function (``hotline.lifecycle.answer_directly``) with the
article's id; this subscriber checks that the article is offered today, writes the use, counts
it on the article. The timeline event (append-only) names the article by its id; the use row
keeps the version the agent read."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from hotline.models import Ticket, TimelineEvent
from knowledge.articles import offered_article
from knowledge.models import KnowledgeArticle, KnowledgeUse


def on_answer_directly(session: Session, ticket: Ticket, event: TimelineEvent) -> None:
    article_id = (event.data or {}).get("article_id")
    if article_id is None:
        return
    article = offered_article(session, article_id)
    version = article.current_version or 1
    session.add(
        KnowledgeUse(article_id=article.id, version_number=version, ticket_id=ticket.id, user_id=event.actor_id)
    )
    session.execute(
        update(KnowledgeArticle)
        .where(KnowledgeArticle.id == article.id)
        .values(usage_count=KnowledgeArticle.usage_count + 1)
        .execution_options(synchronize_session=False)
    )
    session.expire(article, ["usage_count"])

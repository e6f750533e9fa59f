"""How the knowledge base plugs into the core (called from hotline/wiring.py only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.orm import Session


def subscribe() -> None:
    from hotline import hooks
    from knowledge.direct import on_answer_directly

    hooks.subscribe("answer_directly", on_answer_directly)


def include_routers(app: FastAPI) -> None:
    from knowledge.api import router

    app.include_router(router)


def seed_demo(session: Session) -> dict[str, object]:
    """The demo city's articles (knowledge/data/articles.yaml), approved."""
    from knowledge.demo import seed_articles

    return {"knowledge_articles": seed_articles(session)}

"""Dispatch's view of the classifier: category and department proposals, or nothing.

Predictions come through the core's door (``hotline.classification``: one model registry per
process, switched on promotion), preferably the one stored on the ticket at registration. With no
usable model, dispatch works on rules alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Opinion:
    model_version: str
    categories: list[tuple[str, float]]
    departments: list[tuple[str, float]]  # labels as the model knows them (codes or names)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "category": [{"label": c, "score": round(s, 4)} for c, s in self.categories],
            "department": [{"label": d, "score": round(s, 4)} for d, s in self.departments],
        }


def opinion_of(classification: dict[str, Any] | None) -> Opinion | None:
    """An opinion from a stored prediction (``Ticket.classification``, ``hotline.classification``)."""
    if not classification or not classification.get("category"):
        return None

    def top(head: str) -> list[tuple[str, float]]:
        result = classification.get(head) or {}
        return [(item["label"], float(item["score"])) for item in result.get("top", [])]

    return Opinion(str(classification.get("model_version")), top("category"), top("department"))


def predict(title: str, text: str) -> Opinion | None:
    """The active model's opinion, through the core's one registry (hot-switched on promotion)."""
    from hotline import classification

    return opinion_of(classification.predict(title, text))

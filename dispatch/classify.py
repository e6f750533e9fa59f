"""The one door to ``classifier/``: category and department proposals, or nothing.

The classifier is a library of its own, possibly absent or without a trained model; dispatch then
works on rules alone. Every failure here (import, missing model, a bad prediction) means "no
opinion", logged without the appeal's text.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.settings import get_settings

log = logging.getLogger(__name__)
_lock = threading.Lock()
_cache: dict[str, Any] = {}


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


def model_dir() -> Path | None:
    configured = get_settings().classifier_model_dir
    if configured:
        return Path(configured)
    try:
        import classifier
    except ImportError:
        return None
    return Path(next(iter(classifier.__path__))) / "default_model"


def _model() -> Any | None:
    directory = model_dir()
    if directory is None:
        return None
    key = str(directory)
    with _lock:
        if key in _cache:
            return _cache[key]
        model = None
        try:
            if (directory / "model.joblib").is_file():
                from classifier.model import load_model

                model = load_model(directory)
        except Exception as exc:  # noqa: BLE001 - any failure: rules alone
            log.warning("classifier model not usable (%s): %s", directory, type(exc).__name__)
            model = None
        _cache[key] = model
        return model


def reset() -> None:
    with _lock:
        _cache.clear()


def predict(title: str, text: str) -> Opinion | None:
    model = _model()
    if model is None:
        return None
    try:
        p = model.predict(title, text, k=3)
        departments = list(p.department.top) if getattr(p, "department", None) is not None else []
        return Opinion(str(p.model_version), list(p.category.top), departments)
    except Exception as exc:  # noqa: BLE001
        log.warning("classifier prediction failed: %s", type(exc).__name__)
        return None

"""12345 appeal classifier: proposes 业务领域 category, 诉求类型 appeal type, urgency (with safety
rules) and responsible department for a citizen's appeal, and finds 并单 merge candidates.

A library of its own: it imports nothing from the rest of the project.

    from classifier import ModelRegistry
    registry = ModelRegistry("/var/lib/hotline/models")
    registry.bootstrap()                       # ship-default model if nothing is active
    pred = registry.active().predict(title, text, k=3)
    ticket.classification = pred.to_dict()
"""

from .io import DataError, Example, load_examples
from .model import HeadResult, Model, Prediction, load_model
from .registry import DEFAULT_MODEL_DIR, ModelRegistry, NoActiveModel
from .rules import DEFAULT_RULES_PATH, RuleHit, UrgencyRules
from .similar import Candidate, SimilarMatch, find_similar
from .taxonomy import APPEAL_TYPES, CATEGORIES, URGENCIES
from .train import TrainConfig, evaluate, retrain_and_maybe_promote, train_model

__all__ = [
    "APPEAL_TYPES",
    "CATEGORIES",
    "DEFAULT_MODEL_DIR",
    "DEFAULT_RULES_PATH",
    "URGENCIES",
    "Candidate",
    "DataError",
    "Example",
    "HeadResult",
    "Model",
    "ModelRegistry",
    "NoActiveModel",
    "Prediction",
    "RuleHit",
    "SimilarMatch",
    "TrainConfig",
    "UrgencyRules",
    "evaluate",
    "find_similar",
    "load_examples",
    "load_model",
    "retrain_and_maybe_promote",
    "train_model",
]

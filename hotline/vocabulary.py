"""The API's codes with their Chinese labels, in one answer (``GET /api/v1/vocabulary``).

The console shows every status, type, reason and role by these labels, so a label is written
once, here or beside its enum, and never again in the browser."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from hotline import classification, lifecycle
from hotline.enums import (
    APPEAL_TYPE_LABELS,
    CHANNEL_LABELS,
    EMERGENCY_LABELS,
    KIND_LABELS,
    LEVEL_LABELS,
    LIMIT_KIND_LABELS,
    LIMIT_UNIT_LABELS,
    ROLE_LABELS,
    SATISFACTION_LABELS,
    URGENCY_LABELS,
)
from hotline.schemas import Option, Vocabulary


def _options(labels: Mapping[StrEnum, str] | Mapping[str, str]) -> list[Option]:
    return [Option(value=str(code), label=label) for code, label in labels.items()]


def vocabulary() -> Vocabulary:
    return Vocabulary(
        statuses=_options(lifecycle.STATUS_LABELS),
        appeal_types=_options(APPEAL_TYPE_LABELS),
        urgencies=_options(URGENCY_LABELS),
        channels=_options(CHANNEL_LABELS),
        roles=_options(ROLE_LABELS),
        categories=[Option(value=c, label=c) for c in classification.category_labels()],
        return_reasons=_options(lifecycle.RETURN_REASONS),
        not_accepted_reasons=_options(lifecycle.NOT_ACCEPTED_REASONS),
        emergency_services=_options(EMERGENCY_LABELS),
        satisfactions=_options(SATISFACTION_LABELS),
        department_levels=_options(LEVEL_LABELS),
        department_kinds=_options(KIND_LABELS),
        limit_kinds=_options(LIMIT_KIND_LABELS),
        limit_units=_options(LIMIT_UNIT_LABELS),
    )

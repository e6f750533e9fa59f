"""HTTP routes of the urgency safety rules (紧急程度安全规则): supervisors read them, admins
replace them. The rules live in the center's file beside its models
(:func:`hotline.classification.urgency_rules_path`); a replacement is checked whole by the same
parser the classifier uses, written atomically, and in force at once in this process and within
a second in the others."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from hotline import classification
from hotline.auth import require_roles
from hotline.enums import Role
from hotline.errors import InvalidInput
from hotline.models import User

router = APIRouter(prefix="/api/v1", tags=["admin"])
Admin = Annotated[User, Depends(require_roles(Role.admin))]
Reader = Annotated[User, Depends(require_roles(Role.admin, Role.supervisor))]

Phrase = Annotated[str, Field(min_length=1, max_length=60)]


class UrgencyRule(BaseModel):
    """One rule: any keyword or pattern (after the exclusions are removed) decides the urgency."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$", description="stable id, kept on tickets")
    name: str = Field(min_length=1, max_length=40, description="shown to the agent (e.g. 燃气泄漏)")
    urgency: Literal["紧急", "特急"]
    keywords: list[Phrase] = Field(default_factory=list, max_length=200, description="plain substrings")
    patterns: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=20, description="Python regular expressions"
    )
    exclude: list[Phrase] = Field(default_factory=list, max_length=200, description="phrases removed first")


class UrgencyRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[UrgencyRule] = Field(min_length=1, max_length=200)


def read_rules() -> dict[str, Any]:
    from classifier.yamlfile import load_yaml

    path = classification.urgency_rules_path()
    data = load_yaml(path.read_text(encoding="utf-8"))
    return {"rules": [{**r, "patterns": [str(p) for p in r.get("patterns") or []]} for r in data["rules"]]}


@router.get("/urgency-rules", response_model=UrgencyRules)
def get_urgency_rules(_user: Reader) -> Any:
    """The rules in force, in file order (the most urgent matching rule wins)."""
    return read_rules()


@router.put("/urgency-rules", response_model=UrgencyRules)
def replace_urgency_rules(body: UrgencyRules, _user: Admin) -> Any:
    """Replace the whole rule set; a set the classifier would refuse (a bad pattern, a rule with
    neither keywords nor patterns, an id twice) is refused whole and nothing changes."""
    from classifier.rules import RulesError, parse_rules

    data = {"rules": [rule.model_dump() for rule in body.rules]}
    try:
        parse_rules(data, "rules")
    except RulesError as exc:
        raise InvalidInput(f"安全规则有误：{str(exc).removeprefix('rules: ')}", "rules") from exc
    path = classification.urgency_rules_path()
    fresh = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    header = "# 紧急程度安全规则: written by the admin API (PUT /api/v1/urgency-rules)\n"
    fresh.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    os.replace(fresh, path)
    classification.registry().rules.reload()
    return read_rules()

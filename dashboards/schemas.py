"""Pydantic shapes of the dashboards API (inputs; the figures go out as documented JSON objects)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Weights(BaseModel):
    """三率 weights of the score (any positive scale; shown and applied as shares of their sum)."""

    model_config = ConfigDict(extra="forbid")

    response: float = Field(ge=0, le=100, description="响应率")
    resolution: float = Field(ge=0, le=100, description="解决率")
    satisfaction: float = Field(ge=0, le=100, description="满意率（承办单位）")


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weights: Weights
    basic_satisfied_weight: float = Field(ge=0, le=1, description="基本满意 counted as this share of 满意")
    ranking_min_cases: int = Field(ge=1, le=100000, description="fewest cases a unit needs to be ranked")

    @field_validator("weights")
    @classmethod
    def _some_weight(cls, value: Weights) -> Weights:
        if value.response + value.resolution + value.satisfaction <= 0:
            raise ValueError("三率权重之和须大于0")
        return value

"""The scenario format's number: a value with a unit and exactly one provenance (plan, statistic or
assumption). Shared by :mod:`.schema` and :mod:`.uncertainty`."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Number = float
YearValues = list[float] | dict[int, float]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Provenanced(Strict):
    """Where a number comes from: exactly one of ``plan``, ``statistic`` or ``assumption``."""

    plan: str | None = None
    statistic: str | None = None
    assumption: str | None = None
    source: str | None = Field(None, description="URL or title backing a statistic")
    was: str | None = Field(None, description="provenance before a what-if changed the number")

    @model_validator(mode="after")
    def _one_provenance(self):
        given = [k for k in ("plan", "statistic", "assumption") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "every number needs exactly one provenance: plan (quote), statistic (source "
                f"and quote) or assumption (reason); found {given or 'none'}"
            )
        return self

    @property
    def provenance_kind(self) -> str:
        return next(k for k in ("plan", "statistic", "assumption") if getattr(self, k))

    @property
    def provenance(self) -> str:
        """``kind: text`` in one line, for reports."""
        text = getattr(self, self.provenance_kind)
        if self.source:
            text = f"{text} [{self.source}]"
        return f"{self.provenance_kind}: {text}"


class Quantity(Provenanced):
    """A number (or per-year numbers, or a [low, high] range) with unit and provenance."""

    value: Number | YearValues
    unit: str

    @field_validator("value", mode="before")
    @classmethod
    def _real_numbers(cls, v):
        items = v.values() if isinstance(v, dict) else v if isinstance(v, list) else [v]
        for x in items:
            if isinstance(x, bool) or (isinstance(x, float) and not math.isfinite(x)):
                raise ValueError(f"{x!r} is not a finite number")
        return v

    def values(self) -> list[float]:
        v = self.value
        if isinstance(v, dict):
            return list(v.values())
        return list(v) if isinstance(v, list) else [v]

"""A line's production model for KPIs: which tags say what it does, and what a lost hour costs.

``production:`` names the line's state tag (each value mapped to running, a planned stop or
an unplanned stop, with a reason, as Point85 OEE-Designer's availability reasons), the piece
counters (good, and total or scrap) and the ideal rate; ``costs:`` the cost of an hour of
unplanned downtime and of a scrapped unit, for ROI (``andon.kpi``). Both are optional: a
line without them has no OEE, and older specs stay valid. Tags are written ``asset/tag`` and
must be on an asset of the line (``production_problems``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from andon.spec.fields import FieldError

if TYPE_CHECKING:
    from andon.spec.model import Line, PlantSpec

__all__ = ["Costs", "Loss", "Production", "StateValue", "production_problems"]

#: what a state value means for OEE: time running, in a planned stop, in an unplanned stop
Loss = Literal["running", "planned", "unplanned"]
_REF = r"^[a-z0-9][a-z0-9_-]{0,62}/[a-z][a-z0-9_]{0,62}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class StateValue(_Strict):
    """What one value of the state tag means: its loss class and reason."""

    loss: Loss = Field(description="running, planned (stop) or unplanned (stop)")
    reason: str = Field(min_length=1, description="reason shown in the downtime figures, "
                        "e.g. 'Equipment failure', 'Changeover'")


class Production(_Strict):
    """The tags that tell what a line produces (ISO 22400 OEE; Point85-like reasons)."""

    state_tag: str = Field(pattern=_REF, description="the line state tag, 'asset/tag'")
    states: dict[int, StateValue] = Field(
        min_length=1, description="state value -> {loss: running|planned|unplanned, reason}",
    )
    good_count: str = Field(pattern=_REF, description="counter of good units, 'asset/tag'")
    total_count: str | None = Field(
        default=None, pattern=_REF, description="counter of all units made, 'asset/tag'",
    )
    scrap_count: str | None = Field(
        default=None, pattern=_REF,
        description="counter of scrapped units, 'asset/tag' (total = good + scrap)",
    )
    ideal_rate: float | None = Field(
        default=None, gt=0, description="ideal rate in units per hour while running",
    )
    ideal_rate_tag: str | None = Field(
        default=None, pattern=_REF, description="a tag holding the ideal rate (units per hour)",
    )
    unit_name: str = Field(default="units", min_length=1, description="what a unit is, e.g. "
                           "'parts', 'batches'")

    @field_validator("states", mode="before")
    @classmethod
    def _int_keys(cls, v: object) -> object:
        if isinstance(v, dict):
            return {(int(k) if isinstance(k, str) and re.fullmatch(r"-?\d+", k) else k): x
                    for k, x in v.items()}
        return v

    @model_validator(mode="after")
    def _complete(self) -> Production:
        if (self.total_count is None) == (self.scrap_count is None):
            raise FieldError("total_count", "give total_count or scrap_count (one of them)")
        if (self.ideal_rate is None) == (self.ideal_rate_tag is None):
            raise FieldError("ideal_rate", "give ideal_rate (units per hour) or "
                             "ideal_rate_tag (one of them)")
        if not any(s.loss == "running" for s in self.states.values()):
            raise FieldError("states", "no state value means running (loss: running)")
        return self

    def tags(self) -> dict[str, str]:
        """Field -> 'asset/tag' of every tag named."""
        named = {"state_tag": self.state_tag, "good_count": self.good_count,
                 "total_count": self.total_count, "scrap_count": self.scrap_count,
                 "ideal_rate_tag": self.ideal_rate_tag}
        return {k: v for k, v in named.items() if v is not None}

    def value_of(self, loss: Loss) -> int:
        """The first state value of a loss class (the simulator publishes it)."""
        return next(k for k, s in sorted(self.states.items()) if s.loss == loss)


class Costs(_Strict):
    """What losses cost, for ROI: an hour of unplanned downtime and a scrapped unit."""

    downtime_per_hour: float = Field(default=0.0, ge=0, description="cost of one hour of "
                                     "unplanned downtime, in currency")
    scrap_per_unit: float = Field(default=0.0, ge=0, description="cost of one scrapped unit")
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$",
                          description="ISO 4217 code, e.g. EUR")


#: which quantity each named tag must measure
_QUANTITY = {"state_tag": ("state", "count"), "good_count": ("count",),
             "total_count": ("count",), "scrap_count": ("count",),
             "ideal_rate_tag": ("count",)}


def line_problems(line: Line, base: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...],
                                                                         str]]:
    """Tags of the line's production block that are not on its assets or measure the wrong thing."""
    if line.production is None:
        return []
    tags = {f"{x.id}/{t.name}": t for x in line.assets for t in x.tags}
    out: list[tuple[tuple[str | int, ...], str]] = []
    for field, ref in line.production.tags().items():
        path = (*base, "production", field)
        tag = tags.get(ref)
        if tag is None:
            out.append((path, (f"{ref!r} is not a tag of an asset of line {line.id!r} "
                        f"(known: {', '.join(sorted(tags)[:8])}, ...)")))
        elif tag.quantity not in _QUANTITY[field]:
            out.append((path, (f"{ref} measures {tag.quantity}; {field} needs a "
                        f"{' or '.join(_QUANTITY[field])} tag (dimensionless)")))
    return out


def production_problems(spec: PlantSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """Every line's production-tag problems, with the field path."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    for si, s in enumerate(spec.sites):
        for ai, a in enumerate(s.areas):
            for li, ln in enumerate(a.lines):
                out += line_problems(ln, ("sites", si, "areas", ai, "lines", li))
    return out

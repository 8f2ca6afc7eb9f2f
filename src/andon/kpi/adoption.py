"""Adoption: what people did with the interventions raised on a line over a period.

Per intervention raised in the period, by the state it reached (its lifecycle history):

* **acted**: done (the action was carried out);
* **deferred**: deferred at least once (the owner will act later);
* **dismissed**: dismissed (judged not needed; a reason is required);
* **overridden**: dismissed, and yet the asset failed within the use case's horizon after
  the intervention was raised (the model was right, a person overrode it);
* **unanswered**: none of acted, deferred or dismissed;
* **time to acknowledge**: from raised to the first acknowledgement (median, and the
  longest), over the acknowledged ones.

The adoption rate is acted / raised.

>>> from andon.clock import utc
>>> a = adoption([Answer(utc(2026, 1, 5, 8), utc(2026, 1, 5, 8, 10), "done", False),
...               Answer(utc(2026, 1, 5, 9), None, "dismissed", True)])
>>> a.acted, a.dismissed, a.overridden, a.median_ack_min, a.adoption_rate
(1, 1, 1, 10.0, 0.5)
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["Adoption", "Answer", "adoption"]


@dataclass(frozen=True, slots=True)
class Answer:
    """One intervention as adoption sees it."""

    raised_at: datetime
    acknowledged_at: datetime | None
    outcome: str  # "done", "deferred", "dismissed" or "" (unanswered)
    failed_after: bool = False  # the asset failed within the horizon after it was raised


@dataclass(frozen=True, slots=True)
class Adoption:
    """Counts and times of one period."""

    raised: int
    acted: int
    deferred: int
    dismissed: int
    overridden: int
    unanswered: int
    median_ack_min: float | None
    max_ack_min: float | None

    @property
    def adoption_rate(self) -> float | None:
        """Acted / raised."""
        return None if not self.raised else self.acted / self.raised

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (minutes, ratios 0..1 or None)."""
        return {"raised": self.raised, "acted": self.acted, "deferred": self.deferred,
                "dismissed": self.dismissed, "overridden": self.overridden,
                "unanswered": self.unanswered, "median_ack_min": self.median_ack_min,
                "max_ack_min": self.max_ack_min,
                "adoption_rate": None if self.adoption_rate is None
                else round(self.adoption_rate, 4)}


def adoption(answers: Iterable[Answer]) -> Adoption:
    """Adoption figures of ``answers`` (module docstring)."""
    items = list(answers)
    acks = [(a.acknowledged_at - a.raised_at).total_seconds() / 60 for a in items
            if a.acknowledged_at is not None]
    dismissed = [a for a in items if a.outcome == "dismissed"]
    return Adoption(
        raised=len(items), acted=sum(a.outcome == "done" for a in items),
        deferred=sum(a.outcome == "deferred" for a in items), dismissed=len(dismissed),
        overridden=sum(a.failed_after for a in dismissed),
        unanswered=sum(a.outcome == "" for a in items),
        median_ack_min=round(statistics.median(acks), 2) if acks else None,
        max_ack_min=round(max(acks), 2) if acks else None)

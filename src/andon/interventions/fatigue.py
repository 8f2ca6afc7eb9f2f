"""Alert-fatigue rules: the pure core of the gate (``andon.interventions.gate``).

The gate decides, for each scored window, whether a person sees the intervention now; these
are the rules it applies, as pure functions of instants (no clock, no store):

- **planned downtime**: a window inside a planned stop of its line is suppressed, naming the
  stop (``downtime_covering``);
- **rate limit**: each operator position gets at most ``rate_limit`` new interventions in any
  ``rate_window`` (10 per 10 min); beyond that they wait in a visible first-in-first-out
  queue and are delivered, in order, at the instant the window frees a slot
  (``slot_free_at``). Nothing is dropped;
- **flood**: a position receiving ``flood_threshold`` (10) or more new interventions in any
  ``flood_window`` (10 min) is in flood, the ISA-18.2 figure (``flood_count``).

The state these rules read (episodes, the decision log, the overflow queue) is the gate's,
kept in the store, so an edge restart forgets nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "DowntimeWindow",
    "FatigueConfig",
    "Verdict",
    "downtime_covering",
    "flood_count",
    "slot_free_at",
]


class Verdict(StrEnum):
    """What fatigue control did with one signal."""

    DELIVERED = "delivered"  # a new intervention shown to the position now
    DEDUPLICATED = "deduplicated"  # a repeat within an open episode; folded into it
    SUPPRESSED = "suppressed"  # inside a planned downtime window
    SHELVED = "shelved"  # its key is shelved until a given instant
    QUEUED = "queued"  # a new intervention held back by the position's rate limit
    TRIAGE = "triage"  # not confident enough, or out of distribution: held for a reviewer
    HELD = "held"  # its episode was dismissed: not raised again until the asset is normal


@dataclass(frozen=True, slots=True)
class FatigueConfig:
    """The knobs of fatigue control (ISA-18.2 defaults)."""

    rate_limit: int = 10
    rate_window: timedelta = timedelta(minutes=10)
    flood_threshold: int = 10
    flood_window: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        for name in ("rate_window", "flood_window"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"fatigue.{name}: {getattr(self, name)} must be positive")
        for name in ("rate_limit", "flood_threshold"):
            if getattr(self, name) < 1:
                raise ValueError(f"fatigue.{name}: {getattr(self, name)} must be at least 1")


@dataclass(frozen=True, slots=True)
class DowntimeWindow:
    """A planned stop ``[start, end)``; ``line`` None means every line.

    ``andon.spec.planned_stops`` gives the stops of a line's calendar (name, start, end).
    """

    name: str
    start: datetime
    end: datetime
    line: str | None = None

    def covers(self, line: str | None, at: datetime) -> bool:
        """Whether an instant ``at`` on ``line`` falls inside this window."""
        in_scope = self.line is None or self.line == line
        return in_scope and self.start <= at < self.end


def slot_free_at(deliveries: Sequence[datetime], earliest: datetime,
                 config: FatigueConfig) -> datetime:
    """The first instant at or after ``earliest`` when a position has a free delivery slot.

    ``deliveries`` are the position's delivery instants, oldest first, none after ``earliest``.

    >>> from andon.clock import utc
    >>> sent = [utc(2026, 1, 5, 8, m) for m in (0, 1)]
    >>> slot_free_at(sent, utc(2026, 1, 5, 8, 2), FatigueConfig(rate_limit=2)).time()
    datetime.time(8, 10)
    """
    recent = [t for t in deliveries if t > earliest - config.rate_window]
    if len(recent) < config.rate_limit:
        return earliest
    # the slot frees when the oldest of the last ``rate_limit`` deliveries leaves the window
    return recent[-config.rate_limit] + config.rate_window


def flood_count(arrivals: Iterable[datetime], at: datetime, window: timedelta) -> int:
    """How many ``arrivals`` fall in the flood window ending at ``at``: ``(at - window, at]``.

    >>> from andon.clock import utc
    >>> flood_count([utc(2026, 1, 5, 8, m) for m in range(0, 30, 5)], utc(2026, 1, 5, 8, 25),
    ...             timedelta(minutes=10))
    2
    """
    since = at - window
    return sum(1 for t in arrivals if since < t <= at)


def downtime_covering(windows: Iterable[DowntimeWindow], line: str | None,
                      at: datetime) -> DowntimeWindow | None:
    """The first planned-downtime window covering ``at`` on ``line``, if any.

    >>> from andon.clock import utc
    >>> lunch = DowntimeWindow("Lunch stop", utc(2026, 1, 5, 12), utc(2026, 1, 5, 13), "cw")
    >>> downtime_covering([lunch], "cw", utc(2026, 1, 5, 12, 30)).name
    'Lunch stop'
    >>> downtime_covering([lunch], "other-line", utc(2026, 1, 5, 12, 30)) is None
    True
    """
    return next((w for w in windows if w.covers(line, at)), None)

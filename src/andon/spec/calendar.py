"""Planned downtime windows in real time: expand a line's calendar between two instants.

Recurring windows are local to the site's time zone, so a 06:00 stop stays at 06:00 across a
DST change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from andon.spec.model import Calendar

if TYPE_CHECKING:
    from andon.spec.model import Shift

__all__ = ["PlannedStop", "in_shift", "next_planned_stop", "planned_stops"]


@dataclass(frozen=True)
class PlannedStop:
    """One concrete planned downtime window (UTC)."""

    name: str
    start: datetime
    end: datetime


def planned_stops(
    calendar: Calendar, tz: str, after: datetime, before: datetime,
) -> list[PlannedStop]:
    """Windows whose start lies in ``[after, before)``, sorted by start.

    ``after`` and ``before`` must be timezone-aware. One-off windows written without a UTC
    offset are site-local, like recurring ones.
    """
    if after.tzinfo is None or before.tzinfo is None:
        raise ValueError("planned_stops needs timezone-aware 'after' and 'before'")
    zone = ZoneInfo(tz)
    out: list[PlannedStop] = []
    for w in calendar.planned_downtime:
        if w.days is None:
            start_utc = _instant(datetime.fromisoformat(w.start), zone)
            if after <= start_utc < before:
                end_utc = (_instant(w.end, zone) if w.end is not None
                           else start_utc + w.length())
                out.append(PlannedStop(w.name, start_utc, end_utc))
            continue
        days = w.weekdays()
        local_day: date = after.astimezone(zone).date() - timedelta(days=1)
        last_day: date = before.astimezone(zone).date()
        while local_day <= last_day:
            if local_day.weekday() in days:
                start = datetime.combine(local_day, w.start_time(), tzinfo=zone).astimezone(UTC)
                if after <= start < before:
                    out.append(PlannedStop(w.name, start, start + w.length()))
            local_day += timedelta(days=1)
    return sorted(out, key=lambda s: s.start)


def _instant(when: datetime, zone: ZoneInfo) -> datetime:
    """Convert a datetime from the spec to UTC; without an offset it is local to ``zone``."""
    return (when.replace(tzinfo=zone) if when.tzinfo is None else when).astimezone(UTC)


def next_planned_stop(
    calendar: Calendar, tz: str, after: datetime, before: datetime,
) -> PlannedStop | None:
    """Return the first planned stop starting in ``[after, before)``, or None."""
    stops = planned_stops(calendar, tz, after, before)
    return stops[0] if stops else None


def in_shift(shift: Shift, tz: str, at: datetime) -> bool:
    """Whether ``at`` (aware) falls in one of ``shift``'s working periods (site-local times).

    A shift that runs past midnight belongs to the day it starts.
    """
    window = shift.as_window()
    starts = planned_stops(Calendar(planned_downtime=[window]), tz,
                           at - window.length() - timedelta(days=1), at + timedelta(seconds=1))
    return any(s.start <= at < s.end for s in starts)

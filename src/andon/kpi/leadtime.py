"""Lead time: how long before a confirmed failure an asset's first intervention warned.

The join every backtest and report uses: per asset, its first detection, and the first
confirmed failure at or after it (work orders with ``failure_confirmed``, see
``andon.feedback.workorders``); failures with no detection before them are *missed*.

>>> from andon.clock import utc
>>> found, missed = lead_times({"p-101": utc(2026, 3, 1, 6)},
...                            {"p-101": [utc(2026, 3, 2, 7)], "p-102": [utc(2026, 3, 3)]})
>>> found[0].lead_time, sorted(missed)
(datetime.timedelta(days=1, seconds=3600), ['p-102'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["LeadTime", "lead_times"]


@dataclass(frozen=True, slots=True)
class LeadTime:
    """An asset's first detection, and the confirmed failure it came before (if any)."""

    asset: str
    detected_at: datetime
    failure_at: datetime | None  # first confirmed failure at or after detection, if any

    @property
    def lead_time(self) -> timedelta | None:
        """How long before the confirmed failure the intervention was raised."""
        return None if self.failure_at is None else self.failure_at - self.detected_at


def lead_times(first_detections: Mapping[str, datetime],
               failures: Mapping[str, Sequence[datetime]],
               ) -> tuple[list[LeadTime], dict[str, list[datetime]]]:
    """Lead time per detected asset (oldest detection first), and failures nobody warned of.

    ``first_detections``: asset -> its first detection; ``failures``: asset -> confirmed
    failure times. A failure is missed when its asset had no detection at or before it.
    """
    found = []
    for asset, detected in sorted(first_detections.items(), key=lambda x: x[1]):
        after = sorted(t for t in failures.get(asset, ()) if t >= detected)
        found.append(LeadTime(asset, detected, after[0] if after else None))
    missed: dict[str, list[datetime]] = {}
    for asset, times in failures.items():
        first = first_detections.get(asset)
        late = [t.astimezone(UTC) for t in times if first is None or t < first]
        if late:
            missed[asset] = late
    return found, missed

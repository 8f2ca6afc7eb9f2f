"""MTBF and MTTR of a line over a period, from its unplanned stops and its work orders.

Two bases, each shown with its count so a reader can judge it:

* **from the line state**: failures = separate unplanned stops; MTBF = run time / failures;
  MTTR = unplanned downtime / failures;
* **from work orders**: failures = corrective or failure-confirming work orders on the line's
  assets opened in the period; MTTR = mean of (closed - opened) over the closed ones; MTBF =
  run time / failures.

With no failure the mean is None (shown "-"), never infinite.

>>> from andon.clock import utc
>>> r = reliability(run_h=100.0, unplanned_h=6.0, stops=3, repairs=[(utc(2026, 1, 5, 8),
...                 utc(2026, 1, 5, 12))])
>>> r.mtbf_h, r.mttr_h, r.work_order_failures, r.work_order_mttr_h
(33.3333, 2.0, 1, 4.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["Reliability", "reliability"]


@dataclass(frozen=True, slots=True)
class Reliability:
    """MTBF / MTTR over one period, on both bases."""

    failures: int  # unplanned stops of the line state
    mtbf_h: float | None
    mttr_h: float | None
    work_order_failures: int
    work_order_mtbf_h: float | None
    work_order_mttr_h: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (hours)."""
        return {"failures": self.failures, "mtbf_h": self.mtbf_h, "mttr_h": self.mttr_h,
                "work_order_failures": self.work_order_failures,
                "work_order_mtbf_h": self.work_order_mtbf_h,
                "work_order_mttr_h": self.work_order_mttr_h}


def reliability(*, run_h: float, unplanned_h: float, stops: int,
                repairs: Sequence[tuple[datetime, datetime | None]]) -> Reliability:
    """MTBF/MTTR from ``stops`` unplanned stops and ``repairs`` (opened, closed) work orders."""
    closed = [(b - a).total_seconds() / 3600 for a, b in repairs if b is not None and b >= a]
    n = len(repairs)
    return Reliability(
        stops, _r(run_h / stops) if stops else None, _r(unplanned_h / stops) if stops else None,
        n, _r(run_h / n) if n else None, _r(sum(closed) / len(closed)) if closed else None)


def _r(value: float) -> float:
    return round(value, 4)

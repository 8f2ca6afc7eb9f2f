"""ROI of Andon on a line: avoided downtime and scrap against a baseline, in money.

The baseline period's rates (unplanned downtime hours per planned busy hour, scrap per unit
made) are what the after period would have had without a change; scaled to the after period:

* avoided downtime (h) = baseline downtime rate x after planned busy time - after downtime;
* avoided scrap (units) = baseline scrap rate x after total count - after scrap;
* value = avoided downtime x cost per hour + avoided scrap x cost per unit.

Negative means the after period did worse. With no baseline busy time or counts, the part
that cannot be computed is None and said in ``basis``.

>>> r = roi(base_downtime_h=10, base_busy_h=100, base_scrap=50, base_total=1000,
...         after_downtime_h=4, after_busy_h=200, after_scrap=40, after_total=2000,
...         cost_per_hour=1000, cost_per_unit=2, currency="EUR")
>>> r.avoided_downtime_h, r.avoided_scrap, r.value
(16.0, 60.0, 16120.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Roi", "roi"]


@dataclass(frozen=True, slots=True)
class Roi:
    """Avoided losses and their value, with the basis of the figures."""

    avoided_downtime_h: float | None
    avoided_scrap: float | None
    value: float | None
    currency: str
    cost_per_hour: float
    cost_per_unit: float
    basis: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {"avoided_downtime_h": self.avoided_downtime_h,
                "avoided_scrap": self.avoided_scrap, "value": self.value,
                "currency": self.currency, "downtime_cost_per_hour": self.cost_per_hour,
                "scrap_cost_per_unit": self.cost_per_unit, "basis": self.basis}


def roi(*, base_downtime_h: float, base_busy_h: float, base_scrap: float, base_total: float,
        after_downtime_h: float, after_busy_h: float, after_scrap: float, after_total: float,
        cost_per_hour: float, cost_per_unit: float, currency: str) -> Roi:
    """ROI of the after period against the baseline (module docstring)."""
    parts = []
    downtime = None
    if base_busy_h > 0:
        rate = base_downtime_h / base_busy_h
        downtime = round(rate * after_busy_h - after_downtime_h, 4)
        parts.append(f"baseline {rate:.2%} unplanned downtime of busy time x "
                     f"{after_busy_h:.1f} h busy after")
    else:
        parts.append("no baseline busy time: downtime not compared")
    scrap = None
    if base_total > 0:
        srate = base_scrap / base_total
        scrap = round(srate * after_total - after_scrap, 4)
        parts.append(f"baseline scrap rate {srate:.2%} x {after_total:g} units after")
    else:
        parts.append("no baseline counts: scrap not compared")
    value = None
    if downtime is not None or scrap is not None:
        value = round((downtime or 0.0) * cost_per_hour + (scrap or 0.0) * cost_per_unit, 2)
    return Roi(downtime, scrap, value, currency, cost_per_hour, cost_per_unit,
               "; ".join(parts))

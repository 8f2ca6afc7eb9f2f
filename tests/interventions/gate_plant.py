"""A small plant and a harness for the gate tests: Decider → Gate → store, on a manual clock.

One site (UTC), one line with ``PUMPS`` pumps and a daily planned stop 12:00-13:00, one use
case (persistence 1, confidence floor 1.25, re-raise after 3 normal windows) owned by the
maintenance planner: every pump feeds the same operator position, ``ghent/maintenance_planner``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from andon.clock import ManualClock, utc
from andon.interventions import Decider, Detection
from andon.interventions.gate import Gate, GateOutcome
from andon.scoring.contribution import Contribution
from andon.spec.loader import load_spec_text
from andon.store import SqlStore

if TYPE_CHECKING:
    from datetime import datetime

    from andon.spec.model import PlantSpec

PUMPS = 15
POSITION = "ghent/maintenance_planner"
#: Monday 2 March 2026, 08:00 UTC: well before the 12:00 planned stop
T0 = utc(2026, 3, 2, 8, 0)
WHY = (Contribution("vibration.mean", 7.9, 2.1, 0.3, 0.61, "mm/s"),)


def plant_text(*, floor: float = 1.25, rearm: int = 3, fatigue: str = "") -> str:
    """The test plant as spec text (``fatigue`` is an optional ``fatigue:`` block)."""
    pumps = "\n".join(
        f"              - {{id: p-{i:02d}, name: Pump P-{i:02d}, kind: pump, tags: "
        f"[{{name: vibration, quantity: velocity, unit: mm/s, range: [0, 50], period: 60s}}]}}"
        for i in range(1, PUMPS + 1))
    return f"""
version: 1
enterprise: {{id: acme, name: ACME}}
roles:
  - {{id: operator, name: Control-room operator, access: operator}}
  - {{id: shift_lead, name: Shift lead, access: operator}}
  - {{id: maintenance_planner, name: Maintenance planner, access: operator}}
  - {{id: reliability_engineer, name: Reliability engineer, access: engineer}}
  - {{id: plant_manager, name: Plant manager, access: viewer}}
sites:
  - id: ghent
    name: Ghent
    timezone: UTC
    areas:
      - id: utilities
        name: Utilities
        lines:
          - id: cooling
            name: Cooling water
            calendar:
              planned_downtime:
                - {{name: Lunch stop, days: [daily], start: "12:00", duration: 1h}}
            assets:
{pumps}
use_cases:
  - id: pump-bearing
    name: Pump bearing wear
    asset_kind: pump
    model: pump-bearing
    action: "Inspect the bearing on {{asset}} at the {{deadline}}"
    owner_role: maintenance_planner
    horizon: 24h
    persistence: 1
    confidence_floor: {floor}
    rearm_after: {rearm}
{fatigue}
"""


def plant(**kwargs: object) -> PlantSpec:
    return load_spec_text(plant_text(**kwargs))  # type: ignore[arg-type]


@dataclass
class Harness:
    """Decider → Gate → store, as ``Edge._score_now`` wires them (emit = save)."""

    spec: PlantSpec
    store: SqlStore
    clock: ManualClock = field(default_factory=lambda: ManualClock(T0))
    gate: Gate = field(init=False)
    decider: Decider = field(init=False)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """Forget everything held in memory, as an edge restart does."""
        self.gate = Gate(self.spec, self.clock, self.store)
        self.decider = Decider(self.spec, self.clock, self.gate)

    def window(self, asset: str, score: float, *, at: datetime | None = None,
               in_distribution: bool | None = True) -> list[GateOutcome]:
        """Score one window of ``asset`` (threshold 1.0) ending now (or ``at``)."""
        d = Detection("pump-bearing", asset, at or self.clock.now(), score, 1.0, "pump-bearing",
                      "1", WHY)
        outs = self.gate.admit(d, self.decider.decide(d), in_distribution)
        self.emit(outs)
        return outs

    def emit(self, outs: list[GateOutcome]) -> None:
        for out in outs:
            if out.emit and out.iv is not None:
                self.store.save_intervention(out.iv)

    def release(self) -> list[GateOutcome]:
        outs = self.gate.release_due()
        self.emit(outs)
        return outs


def verdicts(outs: list[GateOutcome]) -> list[str]:
    return [o.verdict.value for o in outs]

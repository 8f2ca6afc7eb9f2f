"""What a simulated line produces: its state tag and its good and scrap counters.

For a line whose spec declares ``production:`` (``andon.spec.production``), the simulator
publishes, on the tags named there:

* the **state**: the value meaning *planned* while the line's calendar has a planned stop,
  *unplanned* while an asset of the line has failed (bearing wear ran to its end) or the line
  is in an outage it was told of, *running* otherwise;
* **counters** (monotonic, from a seeded start): while running, units at the ideal rate times
  a performance of 75-95 % that follows the line load; 2 % of them scrapped, more as a bearing
  wears (up to 12 % at failure).

``LineProduction`` is the one model; the engine (``andon.simulator.engine``) asks it to
override the values of those tags each step, and ``production_samples`` steps it alone over
a stretch of history (e.g. the demo plant's recorded past) with given outages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

import numpy as np

from andon.clock import to_ms
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress
from andon.simulator.plant import LineLoad, stable_hash
from andon.spec.calendar import PlannedStop, planned_stops

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from andon.spec.model import Line, PlantSpec
    from andon.spec.production import Production

__all__ = ["LineProduction", "Outage", "production_samples"]

#: performance while running: BASE + GAIN * min(load, 1)
PERFORMANCE_BASE: Final = 0.75
PERFORMANCE_GAIN: Final = 0.20
#: share of units scrapped on a healthy line, and extra at full bearing wear
SCRAP_BASE: Final = 0.02
SCRAP_WEAR: Final = 0.10
_COUNTER_START: Final = (10_000, 200_000)
_LOOKAHEAD: Final = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Outage:
    """An unplanned stop the line is told of (UTC): it reports the unplanned state.

    ``wear``: for this long before the stop, a wearing asset makes more scrap (severity
    rising from 0 to 1, as bearing wear does in the engine).
    """

    start: datetime
    end: datetime
    wear: timedelta = timedelta(0)

    def severity(self, now: datetime) -> float:
        """Wear severity in [0, 1] at ``now`` (0 outside the wear stretch before the stop)."""
        if not self.wear or not self.start - self.wear <= now < self.start:
            return 0.0
        return 1.0 - (self.start - now) / self.wear


class LineProduction:
    """State and counters of one line with a ``production:`` block (module docstring)."""

    def __init__(self, line: Line, timezone: str, seed: int, *,
                 outages: Sequence[Outage] = ()) -> None:
        prod = line.production
        if prod is None:
            raise ValueError(f"line {line.id!r} declares no production")
        self.production: Production = prod
        self.line = line.id
        self.asset, self._state = prod.state_tag.split("/")
        self._good = _on(prod.good_count, self.asset)
        self._scrap = _on(prod.scrap_count, self.asset)
        self._total = _on(prod.total_count, self.asset)
        self._calendar = line.calendar
        self._tz = timezone
        self._stops: list[PlannedStop] = []
        self._stops_until: datetime | None = None
        self._outages = tuple(outages)
        self._values = {loss: prod.value_of(loss) for loss in ("running", "planned",
                                                               "unplanned")}
        rng = np.random.default_rng(np.random.SeedSequence([seed, stable_hash(line.id), 7]))
        self._good_n = float(rng.integers(*_COUNTER_START))
        self._scrap_n = float(rng.integers(*_COUNTER_START)) / 20
        self.ideal_per_h = prod.ideal_rate or 0.0

    def state(self, now: datetime, *, failed: bool) -> str:
        """``running``, ``planned`` or ``unplanned`` at ``now``."""
        if self._in_planned(now):
            return "planned"
        if failed or any(o.start <= now < o.end for o in self._outages):
            return "unplanned"
        return "running"

    def advance(self, now: datetime, step_s: float, load: float, *, failed: bool = False,
                severity: float = 0.0) -> dict[str, float]:
        """Step the line by ``step_s`` ending at ``now``: tag name -> value."""
        state = self.state(now, failed=failed)
        severity = max([severity, *(o.severity(now) for o in self._outages)])
        if state == "running":
            made = (self.ideal_per_h * step_s / 3600
                    * (PERFORMANCE_BASE + PERFORMANCE_GAIN * min(max(load, 0.0), 1.0)))
            scrap = made * (SCRAP_BASE + SCRAP_WEAR * min(max(severity, 0.0), 1.0))
            self._good_n += made - scrap
            self._scrap_n += scrap
        out = {self._state: float(self._values[state])}
        if self._good:
            out[self._good] = float(math.floor(self._good_n))
        if self._scrap:
            out[self._scrap] = float(math.floor(self._scrap_n))
        if self._total:
            out[self._total] = float(math.floor(self._good_n) + math.floor(self._scrap_n))
        return out

    def _in_planned(self, now: datetime) -> bool:
        if self._stops_until is None or now >= self._stops_until - timedelta(days=1):
            after = now - timedelta(days=1)
            self._stops_until = now + _LOOKAHEAD
            self._stops = planned_stops(self._calendar, self._tz, after, self._stops_until)
        return any(s.start <= now < s.end for s in self._stops)


def _on(ref: str | None, asset: str) -> str | None:
    """The tag name of ``asset/tag`` when it is on the state tag's asset (else not published)."""
    if ref is None:
        return None
    owner, _, tag = ref.partition("/")
    return tag if owner == asset else None


def production_samples(spec: PlantSpec, line_id: str, *, seed: int, start: datetime,
                       end: datetime, outages: Sequence[Outage] = (), step_s: float = 60.0,
                       first_seq: int = 0) -> Iterator[list[Sample]]:
    """Step one line's production tags alone over ``[start, end)``: each step's samples.

    The line load follows the same shifts and weekends as the engine's; the source is the
    line's gateway (``plc-{site}-{line}``), counting from ``first_seq``.
    """
    site, area, line = next((s, a, ln) for s, a, ln in spec.lines() if ln.id == line_id)
    model = LineProduction(line, site.timezone, seed, outages=outages)
    load = LineLoad(seed, site.id, line.id, site.timezone, step_s)
    now = start.astimezone(UTC)
    load.at(now)
    seq = first_seq
    source = f"plc-{site.id}-{line.id}"
    k = 0
    while now < end:
        k += 1
        now = start.astimezone(UTC) + timedelta(seconds=k * step_s)
        load.advance(now)
        values = model.advance(now, step_s, load.load)
        batch = []
        for tag, value in sorted(values.items()):
            batch.append(Sample(TagAddress(spec.enterprise.id, site.id, area.id, line.id,
                                           model.asset, tag), value, "dimensionless",
                                Quality.GOOD, to_ms(now), seq, source))
            seq += 1
        yield batch

"""Healthy behaviour derived from a tag's declaration, for any asset kind.

The demo's asset kinds (``andon.simulator.plant.KIND_PHYSICS``) have hand-written physics in
the demo's magnitudes. Any other tag, or a demo tag name whose physics would not fit the
spec's declaration (a pump ``flow`` of 0-5 m3/h where the demo pump delivers ~250 m3/h,
``physics_fits``), behaves as its own declaration says:

* a **measured** tag (any quantity but ``state`` and counters) sits in the middle of its
  range and follows its line's load ``L``: ``mid + gain * (L - 0.8)``, with ``gain`` a share
  of the span per quantity (``LOAD_SHARE``: 20 % for flow, current, power, ...; 2 % for
  voltage and frequency) and bounded noise (sd 1 % of the span, cut at 3 sd), so every
  healthy value stays well inside the range; temperatures follow the load through a 15-min
  first-order lag. The tags of one asset share the load, so they correlate;
* a tag with ``max_rate`` changes by at most 80 % of it: gain and noise are scaled down
  until load swings plus noise cannot exceed it between two samples;
* a **counter** (``monotonic``, default for ``count``) starts at 1 % of its span and grows
  with the load so that a year at full load fills half of the span; a ``count`` counter with
  ``stuck_after`` rises by at least one count per period; a stopped machine's counter holds;
* a **state** tag with ``enum`` holds its nominal value (1 when allowed, else the first
  listed); with ``stuck_after`` it visits the next allowed value for one period before the
  contract would call it stuck;
* ``bearing_wear`` raises a velocity or acceleration tag by up to 15 % of its span (noise x4
  at failure), the asset's first temperature tag by 8 % and currents by 3 %; a failed asset
  reports a stopped machine: load-driven magnitudes drop to 1 % of their span, temperatures
  decay toward 10 % of theirs, counters and states hold.

Everything is a pure function of the load, the asset's normal draws and the step count, so
the simulator stays deterministic for a seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from andon.units import affine

if TYPE_CHECKING:
    from andon.simulator.plant import TagPhysics
    from andon.spec.model import Tag

__all__ = [
    "LOAD_HIGH",
    "LOAD_LOW",
    "LOAD_REF",
    "LOAD_SHARE",
    "Derived",
    "derive",
    "physics_fits",
]

#: the line load stays within [LOAD_LOW, LOAD_HIGH] (shifts, weekends, batch cycle, wander)
LOAD_LOW: Final = 0.5
LOAD_HIGH: Final = 1.07
#: the load at which a derived tag reports the middle of its range
LOAD_REF: Final = 0.8
#: largest change of the load per second (shift ramps, batch cycle) and per step (wander)
LOAD_SLOPE_PER_S: Final = 4e-4
LOAD_JUMP: Final = 0.012
#: share of the span a derived tag moves per unit of load, per quantity (others: DEFAULT)
LOAD_SHARE: Final[dict[str, float]] = {
    "flow": 0.2, "current": 0.2, "power": 0.2, "speed": 0.2, "ratio": 0.2, "force": 0.2,
    "pressure": 0.15, "velocity": 0.1, "acceleration": 0.1, "temperature": 0.15,
    "energy": 0.1, "voltage": 0.02, "frequency": 0.02, "length": 0.05, "mass": 0.05,
}
DEFAULT_SHARE: Final = 0.1
NOISE_SHARE: Final = 0.01  # noise sd, share of the span
NOISE_CUT: Final = 3.0  # noise is cut at this many sd
RATE_MARGIN: Final = 0.8  # a derived tag changes by at most this share of max_rate
LAG_TAU_S: Final = 15 * 60.0
COUNTER_START_SHARE: Final = 0.01
COUNTER_YEAR_SHARE: Final = 0.5  # a year at full load fills this share of the span
YEAR_S: Final = 365 * 24 * 3600.0
WEAR_VIBRATION_SHARE: Final = 0.15
WEAR_NOISE_GAIN: Final = 3.0
WEAR_HEAT_SHARE: Final = 0.08
WEAR_CURRENT: Final = 0.03
STOPPED_SHARE: Final = 0.01  # a stopped machine's load-driven tags, share of the span
COOL_SHARE: Final = 0.1  # a stopped machine's temperatures decay toward this share of the span
#: quantities that stop with the machine (the others keep their nominal value)
_STOPS: Final = frozenset({"flow", "current", "power", "speed", "ratio", "force", "pressure",
                           "velocity", "acceleration"})
_VIBRATION: Final = frozenset({"velocity", "acceleration"})
#: sd multiples kept as margin when checking that demo physics fit a tag's range
_PHYSICS_SD: Final = 5.0
#: sd multiples of two samples' difference kept under ``max_rate`` by demo physics
_RATE_SD: Final = 4.0

Mode = Literal["measured", "lagged", "counter", "state"]


def _load_swing(period_s: float) -> float:
    """The largest change of the line load between two samples ``period_s`` apart."""
    return min(LOAD_HIGH - LOAD_LOW, LOAD_SLOPE_PER_S * period_s
               + LOAD_JUMP * math.sqrt(max(1.0, period_s / 60.0)))


def physics_fits(physics: TagPhysics, tag: Tag, rating: float) -> bool:
    """Whether the demo physics of a tag name fit the tag's declared range and ``max_rate``.

    Healthy values over the whole load band (and ambient 20-30 degC) with 5 sd of noise must
    lie inside the range once converted to the tag's unit; a counter's start and a year at
    full load too; and the change between two samples (load swing plus 4 sd of the noise's
    difference) must stay under ``max_rate``.
    """
    a, b = affine(physics.unit, tag.unit)
    low, high = tag.range
    if physics.role == "counter":
        ends: tuple[float, ...] = (
            100_000.0, 1_000_000.0 + physics.gain * rating * LOAD_HIGH * YEAR_S / 60)
    else:
        amb = (20.0, 30.0) if physics.ambient else (0.0, 0.0)
        ends = tuple(physics.base + physics.gain * rating * load + t + s * _PHYSICS_SD
                     * physics.noise for load in (LOAD_LOW, LOAD_HIGH) for t in amb
                     for s in (-1.0, 1.0))
    converted = [a * v + b for v in ends]
    if not all(low <= v <= high for v in converted):
        return False
    if tag.max_rate is None or physics.role == "counter":
        return True
    # a lag smooths the wander's jumps; two samples' noise differ by sd * sqrt(2)
    load_swing = (LOAD_SLOPE_PER_S * tag.period if physics.lag
                  else _load_swing(tag.period))
    swing = abs(a) * (physics.gain * rating * load_swing
                      + _RATE_SD * math.sqrt(2) * physics.noise)
    return swing <= tag.max_rate * tag.period


@dataclass(slots=True)
class Derived:
    """One tag's derived behaviour (module docstring); ``value`` gives each step's value."""

    mode: Mode
    low: float
    span: float
    nominal: float  # at LOAD_REF (measured, lagged); the held value (state)
    gain: float  # per unit of load (measured, lagged); per second at load 1 (counter)
    noise: float  # sd, in the tag's unit
    wear_add: float  # added at bearing-wear severity 1
    wear_scale: float  # multiplies (value - low) at severity 1 (currents)
    wear_noise: bool  # noise grows with severity (vibration-like tags)
    stopped: float | None  # value of a stopped machine (None: keeps running the same)
    alpha: float  # lag factor per step (lagged)
    step_s: float
    visit: float | None = None  # state: the other value visited before it looks stuck
    visit_every_s: float = math.inf
    visit_for_s: float = 0.0
    whole: bool = False  # counter of counts: reports whole numbers
    state: float = 0.0  # lag output or counter value
    k: int = 0  # steps taken

    def value(self, load: float, severity: float, z: float, *, failed: bool) -> float:
        """The tag's value after one step at ``load``; ``z`` is the step's N(0, 1) draw."""
        self.k += 1
        z = max(-NOISE_CUT, min(NOISE_CUT, z))
        mode = self.mode
        if mode == "state":
            if self.visit is not None and (
                    self.k * self.step_s) % self.visit_every_s < self.visit_for_s:
                return self.visit
            return self.nominal
        if mode == "counter":
            if not failed:
                self.state += self.gain * load * self.step_s
            return math.floor(self.state) if self.whole else self.state
        sd = self.noise * (1.0 + WEAR_NOISE_GAIN * severity if self.wear_noise else 1.0)
        if mode == "lagged":
            target = (self.low + COOL_SHARE * self.span if failed else
                      self.nominal + self.gain * (load - LOAD_REF) + self.wear_add * severity)
            self.state += (target - self.state) * self.alpha
            return self.state + sd * z
        if failed and self.stopped is not None:
            return max(self.low, self.stopped + self.noise * 0.05 * z)
        v = self.nominal + self.gain * (load - LOAD_REF)
        v = self.low + (v - self.low) * (1.0 + self.wear_scale * severity)
        return v + self.wear_add * severity + sd * z


def derive(tag: Tag, *, step_s: float, load: float, heats: bool) -> Derived:
    """The derived behaviour of ``tag`` (module docstring), starting at line load ``load``.

    ``heats``: the tag is the asset's first temperature, which bearing wear heats up.
    """
    low, high = tag.range
    span = high - low
    budget = math.inf if tag.max_rate is None else RATE_MARGIN * tag.max_rate * tag.period
    d = Derived("measured", low=low, span=span, nominal=low + span / 2, gain=0.0, noise=0.0,
                wear_add=0.0, wear_scale=0.0, wear_noise=False, stopped=None, alpha=0.0,
                step_s=step_s)
    if tag.enum is not None:
        _state(d, tag)
    elif tag.is_counter:
        _counter(d, tag, budget)
    else:
        _measured(d, tag, budget, load, heats=heats)
    return d


def _measured(d: Derived, tag: Tag, budget: float, load: float, *, heats: bool) -> None:
    quantity, span = tag.quantity, d.span
    d.gain = min(LOAD_SHARE.get(quantity, DEFAULT_SHARE) * span,
                 0.5 * budget / _load_swing(tag.period))
    d.noise = min(NOISE_SHARE * span, 0.25 * budget / NOISE_CUT)
    if quantity == "temperature":
        d.mode = "lagged"
        d.alpha = 1.0 - math.exp(-d.step_s / LAG_TAU_S)
        d.state = d.nominal + d.gain * (load - LOAD_REF)
        d.wear_add = WEAR_HEAT_SHARE * span if heats else 0.0
        return
    if quantity in _STOPS:
        d.stopped = d.low + STOPPED_SHARE * span
    if quantity in _VIBRATION:
        d.wear_add, d.wear_noise = WEAR_VIBRATION_SHARE * span, True
    elif quantity == "current":
        d.wear_scale = WEAR_CURRENT


def _state(d: Derived, tag: Tag) -> None:
    allowed = list(tag.enum or ())
    d.mode = "state"
    d.nominal = 1.0 if 1.0 in allowed else allowed[0]
    others = [v for v in allowed if v != d.nominal]
    if tag.stuck_after is not None and others:
        d.visit = others[0]
        d.visit_every_s = tag.period * (tag.stuck_after - 1)
        d.visit_for_s = tag.period


def _counter(d: Derived, tag: Tag, budget: float) -> None:
    d.mode = "counter"
    d.whole = tag.quantity == "count"
    per_s = COUNTER_YEAR_SHARE * d.span / YEAR_S
    if d.whole and tag.stuck_after is not None:
        per_s = max(per_s, 1.0 / (LOAD_LOW * tag.period))  # at least a count per period
    d.gain = min(per_s, budget / (LOAD_HIGH * tag.period))
    start = d.low + COUNTER_START_SHARE * d.span
    d.nominal = d.state = float(math.floor(start)) if d.whole else start

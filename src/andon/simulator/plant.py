"""Physics of the simulated plant: line load, ambient temperature and one model per asset kind.

Everything an asset reports is an affine function of its line's load ``L`` (plus ambient
temperature for some temperatures), optionally through a first-order lag, plus independent
Gaussian noise per tag. Affine on purpose: a PCA-style anomaly model can learn a healthy asset
exactly, so faults stand out.

* ``L(t)`` per line, roughly in [0.55, 1.0]: the shift pattern in the site's local time
  (06-14 h 1.0, 14-22 h 0.85, 22-06 h 0.6, weekends x0.9) with smooth 30-min ramps, times a
  +-4 % batch cycle of 90 min, times a small AR(1) wander (about +-2 %).
* ambient temperature per site: 25 degC +- 3 degC over the local day (warmest at 15 h).
* per asset a rating drawn once within +-5 % of nominal scales every load-dependent term, so
  assets of one kind look alike but not identical.
* bearing wear (severity ``s`` in [0, 1]) adds ``7 s`` mm/s of vibration with noise x(1 + 3 s),
  ``25 s`` degC to the kind's bearing temperature tag and ``3 s`` % to currents; a failed asset
  is a stopped machine: no speed, flow, current, power or load, ~0.1 bar, ~0.1 mm/s, counters
  hold, temperatures decay toward ambient.

Values are computed in each tag's canonical unit (the table below) and mapped to the unit the
spec declares with an affine factor computed once. A tag the kind does not know, declared in a
unit that does not measure the same quantity, or whose declared range or ``max_rate`` the
physics would not fit (``andon.simulator.derived.physics_fits``), behaves as its declaration
says instead (``andon.simulator.derived``): the middle of its range following the load, a
counter, a state.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal
from zoneinfo import ZoneInfo

import numpy as np

from andon.simulator.derived import Derived, derive, physics_fits
from andon.units import affine, check_unit

if TYPE_CHECKING:
    from datetime import datetime

    from andon.spec.model import Asset, Tag

__all__ = [
    "BEARING_TEMP_TAG",
    "KIND_PHYSICS",
    "AssetModel",
    "LineLoad",
    "Role",
    "TagPhysics",
    "ambient_c",
    "shift_level",
    "stable_hash",
    "weekend_factor",
]

Role = Literal[
    "speed", "flow", "current", "power", "level", "pressure", "vibration", "temperature",
    "counter", "generic",
]

# -- load and ambient ------------------------------------------------------------------------
#: shift edges (local hour, load from then on) and the ramp width around each edge
SHIFT_EDGES: Final = ((6.0, 1.0), (14.0, 0.85), (22.0, 0.6))
SHIFT_RAMP_H: Final = 0.5
#: weekend edges on the hour of the week (Monday 00:00 = 0)
WEEKEND_EDGES: Final = ((0.0, 1.0), (120.0, 0.9))
BATCH_AMPLITUDE: Final = 0.04
BATCH_PERIOD_S: Final = 90 * 60.0
WANDER_SD: Final = 0.007
WANDER_LIMIT: Final = 0.025
WANDER_TAU_S: Final = 20 * 60.0
AMBIENT_MEAN_C: Final = 25.0
AMBIENT_SWING_C: Final = 3.0
AMBIENT_PEAK_H: Final = 15.0

# -- assets ----------------------------------------------------------------------------------
RATING_SPREAD: Final = 0.05
LAG_TAU_S: Final = 15 * 60.0
WEAR_VIBRATION: Final = 7.0  # mm/s at severity 1
WEAR_NOISE_GAIN: Final = 3.0  # vibration noise sd x (1 + 3 s)
WEAR_HEAT_C: Final = 25.0  # degC on the bearing temperature at severity 1
WEAR_CURRENT: Final = 0.03  # +3 % current at severity 1
STOPPED: Final[dict[str, float]] = {"pressure": 0.1, "vibration": 0.1}  # others stop at 0
STOPPED_NOISE: Final = 0.05  # noise of a stopped machine, relative to running noise
COUNTER_START: Final = (100_000, 1_000_000)
NOISE_BLOCK: Final = 256  # normal draws are fetched this many steps at a time


@dataclass(frozen=True, slots=True)
class TagPhysics:
    """How one known tag behaves: ``base + gain * rating * L`` in ``unit``, with noise sd.

    ``lag`` passes the value through a first-order lag (``LAG_TAU_S``); ``ambient`` adds the
    site's ambient temperature to ``base``. For a ``counter`` the gain is counts per minute at
    full load.
    """

    quantity: str
    unit: str
    role: Role
    base: float
    gain: float
    noise: float
    lag: bool = False
    ambient: bool = False


_TEMP: Final = ("temperature", "degC", "temperature")
_VIB: Final = ("velocity", "mm/s", "vibration")
_AMPS: Final = ("current", "A", "current")
_BAR: Final = ("pressure", "bar", "pressure")
_M3H: Final = ("flow", "m^3/h", "flow")
_RPM: Final = ("speed", "rpm", "speed")

#: kind -> tag name -> physics (canonical units as in examples/demo-plant.yaml)
KIND_PHYSICS: Final[dict[str, dict[str, TagPhysics]]] = {
    "pump": {
        "speed": TagPhysics(*_RPM, 2950 * 0.7, 2950 * 0.3, 4.0),
        "flow": TagPhysics(*_M3H, 0.0, 250.0, 2.5),
        "discharge_pressure": TagPhysics(*_BAR, 2.0, 6.0, 0.05),
        "motor_current": TagPhysics(*_AMPS, 20.0, 70.0, 0.6),
        "vibration": TagPhysics(*_VIB, 1.8, 0.8, 0.08),
        "bearing_temp": TagPhysics(*_TEMP, 0.0, 20.0, 0.3, lag=True, ambient=True),
    },
    "motor": {
        "current": TagPhysics(*_AMPS, 30.0, 90.0, 0.8),
        "speed": TagPhysics(*_RPM, 1480 * 0.8, 1480 * 0.2, 2.0),
        "winding_temp": TagPhysics(*_TEMP, 0.0, 45.0, 0.3, lag=True, ambient=True),
        "vibration": TagPhysics(*_VIB, 1.2, 0.6, 0.06),
        "power": TagPhysics("power", "kW", "power", 15.0, 110.0, 1.0),
    },
    "compressor": {
        "discharge_pressure": TagPhysics(*_BAR, 6.5, 1.0, 0.04),
        "discharge_temp": TagPhysics(*_TEMP, 70.0, 25.0, 0.4, lag=True),
        "motor_current": TagPhysics(*_AMPS, 60.0, 160.0, 1.5),
        "vibration": TagPhysics(*_VIB, 2.2, 0.9, 0.09),
        "oil_temp": TagPhysics(*_TEMP, 55.0, 20.0, 0.3, lag=True),
        "flow": TagPhysics(*_M3H, 0.0, 1400.0, 12.0),
    },
    "press": {
        "hydraulic_pressure": TagPhysics(*_BAR, 120.0, 150.0, 2.0),
        "oil_temp": TagPhysics(*_TEMP, 40.0, 15.0, 0.3, lag=True),
        "stroke_count": TagPhysics("count", "dimensionless", "counter", 0.0, 12.0, 0.0),
        "motor_current": TagPhysics(*_AMPS, 25.0, 100.0, 1.0),
        "vibration": TagPhysics(*_VIB, 3.0, 2.0, 0.15),
    },
    "conveyor": {
        "belt_speed": TagPhysics("velocity", "m/s", "speed", 1.2, 0.8, 0.02),
        "motor_current": TagPhysics(*_AMPS, 10.0, 35.0, 0.4),
        "load": TagPhysics("ratio", "percent", "level", 0.0, 100.0, 1.5),
        "drive_temp": TagPhysics(*_TEMP, 0.0, 20.0, 0.3, lag=True, ambient=True),
    },
}

#: the temperature that bearing wear heats up, per kind
BEARING_TEMP_TAG: Final[dict[str, str]] = {
    "pump": "bearing_temp",
    "motor": "winding_temp",
    "compressor": "oil_temp",
    "press": "oil_temp",
    "conveyor": "drive_temp",
}


def stable_hash(text: str) -> int:
    """Hash ``text`` the same way in every process (CRC-32; the builtin ``hash`` is salted)."""
    return zlib.crc32(text.encode())


def _smooth(u: float) -> float:
    """Smoothstep from 0 (u <= 0) to 1 (u >= 1), flat at both ends."""
    if u <= 0.0:
        return 0.0
    if u >= 1.0:
        return 1.0
    return u * u * (3.0 - 2.0 * u)


def _periodic(
    x: float, period: float, edges: tuple[tuple[float, float], ...], ramp: float,
) -> float:
    """Evaluate a periodic step function whose steps are ramps ``ramp`` wide around the edges.

    ``edges`` are ``(position, level from there on)`` sorted by position within one period.
    """
    x %= period
    level = edges[-1][1]
    for pos, value in edges:
        if x >= pos:
            level = value
    for i, (pos, after) in enumerate(edges):
        d = (x - pos + period / 2) % period - period / 2
        if abs(d) < ramp / 2:
            before = edges[i - 1][1]
            return before + (after - before) * _smooth(d / ramp + 0.5)
    return level


def shift_level(hour: float) -> float:
    """Shift load at a local hour of the day: 1.0 early, 0.85 late, 0.6 night, ramped."""
    return _periodic(hour, 24.0, SHIFT_EDGES, SHIFT_RAMP_H)


def weekend_factor(hour_of_week: float) -> float:
    """x0.9 on Saturday and Sunday (hour of the week from Monday 00:00 local), ramped."""
    return _periodic(hour_of_week, 168.0, WEEKEND_EDGES, SHIFT_RAMP_H)


def ambient_c(hour: float) -> float:
    """Ambient temperature at a local hour of the day, degC."""
    return AMBIENT_MEAN_C + AMBIENT_SWING_C * math.cos(2 * math.pi * (hour - AMBIENT_PEAK_H) / 24)


class _Normals:
    """Standard normal draws of one generator, fetched ``NOISE_BLOCK`` rows at a time."""

    __slots__ = ("_i", "_rng", "_rows", "_width")

    def __init__(self, rng: np.random.Generator, width: int) -> None:
        self._rng = rng
        self._width = width
        self._rows: list[list[float]] = []
        self._i = 0

    def row(self) -> list[float]:
        """Return the next ``width`` independent N(0, 1) values."""
        if self._i == len(self._rows):
            self._rows = self._rng.standard_normal((NOISE_BLOCK, self._width)).tolist()
            self._i = 0
        row = self._rows[self._i]
        self._i += 1
        return row


class LineLoad:
    """The load ``L`` of one line and the ambient temperature at its site, step by step.

    Its random parts (batch phase, AR(1) wander) come from a generator seeded with the seed and
    the site and line ids, so they do not depend on which other lines are simulated.
    """

    def __init__(self, seed: int, site_id: str, line_id: str, timezone: str, step_s: float) -> None:
        rng = np.random.default_rng(
            np.random.SeedSequence([seed, stable_hash(f"{site_id}/{line_id}"), 1]),
        )
        self._zone = ZoneInfo(timezone)
        self._phase = float(rng.uniform(0.0, 2 * math.pi))
        self._wander = float(np.clip(rng.normal(0.0, WANDER_SD), -WANDER_LIMIT, WANDER_LIMIT))
        self._phi = math.exp(-step_s / WANDER_TAU_S)
        self._kick = WANDER_SD * math.sqrt(1.0 - self._phi**2)
        self._normals = _Normals(rng, 1)
        self.load = 0.0
        self.ambient = AMBIENT_MEAN_C

    def at(self, when: datetime) -> None:
        """Set ``load`` and ``ambient`` for ``when`` with the current wander (no step)."""
        local = when.astimezone(self._zone)
        hour = local.hour + local.minute / 60 + (local.second + local.microsecond / 1e6) / 3600
        cycle = math.sin(2 * math.pi * when.timestamp() / BATCH_PERIOD_S + self._phase)
        self.load = (shift_level(hour) * weekend_factor(local.weekday() * 24 + hour)
                     * (1 + BATCH_AMPLITUDE * cycle) * (1 + self._wander))
        self.ambient = ambient_c(hour)

    def advance(self, when: datetime) -> None:
        """Step the wander once, then set ``load`` and ``ambient`` for ``when``."""
        w = self._phi * self._wander + self._kick * self._normals.row()[0]
        self._wander = min(WANDER_LIMIT, max(-WANDER_LIMIT, w))
        self.at(when)


@dataclass(slots=True)
class _Channel:
    """One tag's precomputed physics: canonical value ``v`` is reported as ``a * v + b``."""

    role: Role
    base: float
    gain: float  # already times the asset rating
    noise: float
    lag: bool
    ambient: bool
    heats: bool  # the bearing temperature tag of the kind
    floor: float  # lowest value while running (0 for physical magnitudes)
    stopped: float  # value of a stopped machine (roles without lag or counter)
    a: float
    b: float
    state: float = 0.0  # lag output (canonical unit) or counter value
    derived: Derived | None = None  # behaviour derived from the spec (no fitting physics)


def _channel(kind: str, tag: Tag, rating: float, *, step_s: float, load: float,
             heats: bool) -> _Channel:
    physics = KIND_PHYSICS.get(kind, {}).get(tag.name)
    if (physics is None or check_unit(tag.unit, physics.quantity) is not None
            or not physics_fits(physics, tag, rating)):
        return _Channel("generic", 0.0, 0.0, 0.0, lag=False, ambient=False, heats=False,
                        floor=0.0, stopped=0.0, a=1.0, b=0.0,
                        derived=derive(tag, step_s=step_s, load=load, heats=heats))
    a, b = affine(physics.unit, tag.unit)
    floor = -math.inf if physics.role == "temperature" else 0.0
    return _Channel(physics.role, physics.base, physics.gain * rating, physics.noise,
                    physics.lag, physics.ambient, heats=BEARING_TEMP_TAG.get(kind) == tag.name,
                    floor=floor, stopped=STOPPED.get(physics.role, 0.0), a=a, b=b)


class AssetModel:
    """One asset's physics; ``advance`` returns every tag's value, tags sorted by name.

    Its random parts (rating, counter start, noise) come from a generator seeded with the seed
    and the asset id only. Noise is drawn for every tag at every step whether or not the tag is
    reported, so faults and sample periods never shift the noise of other tags.
    """

    def __init__(self, asset: Asset, seed: int, step_s: float, load: float, ambient: float) -> None:
        rng = np.random.default_rng(np.random.SeedSequence([seed, stable_hash(asset.id)]))
        self.asset = asset
        self.tags: list[Tag] = sorted(asset.tags, key=lambda t: t.name)
        self.rating = float(rng.uniform(1 - RATING_SPREAD, 1 + RATING_SPREAD))
        heated = BEARING_TEMP_TAG.get(asset.kind) or next(
            (t.name for t in self.tags if t.quantity == "temperature"), None)
        self._channels = [_channel(asset.kind, t, self.rating, step_s=step_s, load=load,
                                   heats=t.name == heated) for t in self.tags]
        self._alpha = 1.0 - math.exp(-step_s / LAG_TAU_S)
        self._per_minute = step_s / 60.0
        for ch in self._channels:
            if ch.role == "counter":
                ch.state = float(rng.integers(*COUNTER_START))
            elif ch.lag:
                ch.state = (ambient if ch.ambient else 0.0) + ch.base + ch.gain * load
        self._normals = _Normals(rng, len(self._channels))

    def advance(self, load: float, ambient: float, severity: float, failed: bool) -> list[float]:
        """Step once at line load ``load``; values in the spec's units, in ``tags`` order.

        ``severity`` is the bearing-wear severity in [0, 1]; ``failed`` means the asset tripped
        and reports a stopped machine.
        """
        noise = self._normals.row()
        if failed:
            return self._stopped(ambient, noise)
        return self._running(load, ambient, severity, noise)

    def _running(
        self, load: float, ambient: float, severity: float, zs: list[float],
    ) -> list[float]:
        out: list[float] = []
        alpha = self._alpha
        for ch, z in zip(self._channels, zs, strict=True):
            if ch.derived is not None:  # in the tag's unit already
                out.append(ch.derived.value(load, severity, z, failed=False))
                continue
            role = ch.role
            if ch.lag:
                target = ch.base + ch.gain * load
                if ch.ambient:
                    target += ambient
                if ch.heats:
                    target += WEAR_HEAT_C * severity
                ch.state += (target - ch.state) * alpha
                v = ch.state + ch.noise * z
            elif role == "counter":
                ch.state += ch.gain * load * self._per_minute
                v = math.floor(ch.state)
            else:
                v = ch.base + ch.gain * load
                sd = ch.noise
                if role == "vibration":
                    v += WEAR_VIBRATION * severity
                    sd *= 1.0 + WEAR_NOISE_GAIN * severity
                elif role == "current":
                    v *= 1.0 + WEAR_CURRENT * severity
                v = max(ch.floor, v + sd * z)
            out.append(ch.a * v + ch.b)
        return out

    def _stopped(self, ambient: float, zs: list[float]) -> list[float]:
        out: list[float] = []
        alpha = self._alpha
        for ch, z in zip(self._channels, zs, strict=True):
            if ch.derived is not None:  # in the tag's unit already
                out.append(ch.derived.value(0.0, 1.0, z, failed=True))
                continue
            if ch.lag:
                ch.state += (ambient - ch.state) * alpha
                v = ch.state + ch.noise * z
            elif ch.role == "counter":
                v = math.floor(ch.state)
            else:
                v = max(0.0, ch.stopped + ch.noise * STOPPED_NOISE * z)
            out.append(ch.a * v + ch.b)
        return out

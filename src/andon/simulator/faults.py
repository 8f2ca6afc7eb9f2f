"""Fault scenarios: what can go wrong in the simulated plant, and when.

A ``Fault`` is a plain value: its kind, what it applies to (asset, tag or line), when it starts
and ends (seconds after the simulation start) and, for some kinds, an offset. Two families:

* physical faults change the machine itself — ``bearing_wear`` makes vibration, bearing
  temperature and current grow quadratically until the asset fails (trips) at ``end_s``;
* reporting faults change only what one tag reports — ``calibration_step`` (a constant
  offset), ``drift`` (an offset growing linearly from nothing at ``start_s`` to ``offset`` at
  ``end_s``, held afterwards), ``spike`` (``offset`` added to one sample, once or every
  ``every_s``), ``noise`` (extra Gaussian noise of standard deviation ``offset``), ``stuck``
  (the value freezes), ``dropout`` (no samples; every tag of the asset without a tag) — or
  the line's source: ``clock_skew`` (samples stamped with a wrong time).

Magnitudes (``offset``) are in the tag's unit, or with ``percent`` a percentage of the tag's
span (range high - low), so one scenario fits any tag; the simulator resolves them
(``andon.simulator.effects``). The file format is documented in ``docs/simulator.md``.

``fault_problems`` lists every reason a fault is malformed as ``(field, reason)`` pairs; the
dataclass refuses to exist when there is one, and the scenario loader turns them into
``SpecError`` lines that name the file, the line and the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "FAULT_KINDS",
    "Fault",
    "FaultKind",
    "Interval",
    "fault_problems",
    "wear_severity",
]

FaultKind = Literal["bearing_wear", "calibration_step", "drift", "spike", "noise", "stuck",
                    "dropout", "clock_skew"]

#: every fault kind, in the order the docs list them
FAULT_KINDS: Final[tuple[FaultKind, ...]] = (
    "bearing_wear",
    "calibration_step",
    "drift",
    "spike",
    "noise",
    "stuck",
    "dropout",
    "clock_skew",
)

# Which of asset / tag / line each kind needs ("required"), accepts ("optional") or refuses.
_TARGETS: Final[dict[str, dict[str, str]]] = {
    "bearing_wear": {"asset": "required"},
    "calibration_step": {"asset": "required", "tag": "required"},
    "drift": {"asset": "required", "tag": "required"},
    "spike": {"asset": "required", "tag": "required"},
    "noise": {"asset": "required", "tag": "required"},
    "stuck": {"asset": "required", "tag": "required"},
    "dropout": {"asset": "required", "tag": "optional"},
    "clock_skew": {"line": "required"},
}
_WHAT: Final[dict[str, str]] = {"asset": "an asset id", "tag": "a tag name", "line": "a line id"}
_USES_OFFSET: Final[frozenset[str]] = frozenset({"calibration_step", "drift", "spike", "noise",
                                                  "clock_skew"})
#: kinds whose end_s is required, and what it means for them
_NEEDS_END: Final[dict[str, str]] = {"bearing_wear": "the failure time",
                                     "drift": "when the drift reaches its full offset"}


def fault_problems(
    kind: str,
    *,
    asset: str | None = None,
    tag: str | None = None,
    line: str | None = None,
    start_s: float = 0.0,
    end_s: float | None = None,
    offset: float = 0.0,
    percent: bool = False,
    every_s: float | None = None,
) -> list[tuple[str, str]]:
    """Every reason these fault fields do not make a fault, as ``(field, reason)``; [] if fine."""
    if kind not in _TARGETS:
        return [("kind", f"unknown fault kind {kind!r} (known: {', '.join(FAULT_KINDS)})")]
    return [
        *_target_problems(kind, {"asset": asset, "tag": tag, "line": line}),
        *_time_problems(kind, start_s, end_s),
        *_offset_problems(kind, offset, percent=percent),
        *_every_problems(kind, every_s),
    ]


def _target_problems(kind: str, ids: dict[str, str | None]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    targets = _TARGETS[kind]
    for field, value in ids.items():
        need = targets.get(field)
        if value is None:
            if need == "required":
                problems.append((field, f"{kind} needs {_WHAT[field]}"))
        elif need is None:
            problems.append((field, f"{field} does not apply to {kind}"))
        elif not value:
            problems.append((field, f"{field} must not be empty"))
    return problems


def _time_problems(kind: str, start_s: float, end_s: float | None) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not math.isfinite(start_s) or start_s < 0:
        problems.append(("start_s", f"start {start_s:g}s must be a finite time >= 0"))
    if end_s is None:
        if kind in _NEEDS_END:
            problems.append(("end_s", f"{kind} needs end_s, {_NEEDS_END[kind]}"))
    elif not math.isfinite(end_s):
        problems.append(("end_s", f"end {end_s:g}s must be a finite time"))
    elif end_s <= start_s:
        problems.append(("end_s", f"end {end_s:g}s is not after start {start_s:g}s"))
    return problems


def _offset_problems(kind: str, offset: float, *, percent: bool) -> list[tuple[str, str]]:
    if kind not in _USES_OFFSET:
        return [] if offset == 0 else [("offset", f"offset does not apply to {kind}")]
    if percent and kind == "clock_skew":
        return [("offset", "clock_skew needs its offset in seconds, not a percentage")]
    unit = "seconds" if kind == "clock_skew" else "the tag's unit or a percentage of its span"
    if not math.isfinite(offset) or offset == 0:
        return [("offset", f"{kind} needs a non-zero finite offset in {unit}")]
    if kind == "noise" and offset < 0:
        return [("offset", "noise needs a positive offset: the standard deviation added")]
    return []


def _every_problems(kind: str, every_s: float | None) -> list[tuple[str, str]]:
    if every_s is None:
        return []
    if kind != "spike":
        return [("every_s", f"every_s does not apply to {kind} (only to spike)")]
    if not math.isfinite(every_s) or every_s <= 0:
        return [("every_s", f"every {every_s:g}s must be a finite time > 0")]
    return []


@dataclass(frozen=True)
class Fault:
    """One fault of a scenario; times are seconds after the simulation start.

    ``end_s`` is the failure time for ``bearing_wear``, the time ``drift`` reaches its full
    offset, and the end of the fault otherwise (None: until the end of the run). ``offset`` is
    in the tag's unit (with ``percent``: a percentage of the tag's span) for
    ``calibration_step``, ``drift``, ``spike`` (its height) and ``noise`` (the standard
    deviation added), and in seconds added to the source timestamps for ``clock_skew``.
    ``every_s``: a ``spike`` repeats this often (None: once). A malformed fault raises
    ``ValueError`` naming the field.
    """

    kind: FaultKind
    asset: str | None = None
    tag: str | None = None
    line: str | None = None
    start_s: float = 0.0
    end_s: float | None = None
    offset: float = 0.0
    percent: bool = False
    every_s: float | None = None

    def __post_init__(self) -> None:
        problems = fault_problems(
            self.kind, asset=self.asset, tag=self.tag, line=self.line,
            start_s=self.start_s, end_s=self.end_s, offset=self.offset,
            percent=self.percent, every_s=self.every_s,
        )
        if problems:
            raise ValueError("; ".join(f"{field}: {reason}" for field, reason in problems))


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open time span ``[start_s, end_s)`` in seconds after the start, with a value."""

    start_s: float
    end_s: float
    value: float = 0.0

    @classmethod
    def of(cls, fault: Fault, value: float = 0.0) -> Interval:
        """Return the span a fault covers (an open end becomes infinity)."""
        return cls(fault.start_s, math.inf if fault.end_s is None else fault.end_s, value)

    def covers(self, t: float) -> bool:
        """Whether ``t`` lies in the span."""
        return self.start_s <= t < self.end_s


def wear_severity(t: float, start_s: float, failure_s: float) -> float:
    """Bearing-wear severity at ``t``: ``((t - start) / (failure - start))**2`` in [0, 1]."""
    if t <= start_s:
        return 0.0
    if t >= failure_s:
        return 1.0
    x = (t - start_s) / (failure_s - start_s)
    return x * x

"""What a scenario's reporting faults do to one tag's value: steps, drifts, spikes, noise.

``effects_of`` resolves the faults naming a tag against the tag's declaration (a ``percent``
offset becomes a share of its span) into a ``TagEffects``; the engine applies it to every
value the tag reports, before ``stuck`` freezes the result and ``dropout`` drops it. Each kind
adds to the physical value:

* ``calibration_step``: ``offset`` from ``start_s`` to ``end_s``;
* ``drift``: ``offset * (t - start_s) / (end_s - start_s)``, the full ``offset`` from
  ``end_s`` on;
* ``spike``: ``offset`` on the one sample reported in ``[start_s + k * every_s, ... +
  period)`` for k = 0, 1, ... (once without ``every_s``), up to ``end_s``;
* ``noise``: a Gaussian draw of standard deviation ``offset`` on every sample from
  ``start_s`` to ``end_s``, from a generator seeded with the simulation's seed, the asset, the
  tag and the fault's place among the asset's faults: deterministic like the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from andon.simulator.faults import Fault, Interval
from andon.simulator.plant import stable_hash

if TYPE_CHECKING:
    from collections.abc import Sequence

    from andon.spec.model import Tag

__all__ = ["TagEffects", "effects_of", "magnitude"]


def magnitude(fault: Fault, tag: Tag) -> float:
    """The fault's ``offset`` in the tag's unit (a ``percent`` one is a share of the span)."""
    low, high = tag.range
    return fault.offset * (high - low) / 100.0 if fault.percent else fault.offset


@dataclass(frozen=True, slots=True)
class _Drift:
    start_s: float
    full_s: float
    offset: float

    def at(self, t: float) -> float:
        if t < self.start_s:
            return 0.0
        return self.offset * min(1.0, (t - self.start_s) / (self.full_s - self.start_s))


@dataclass(frozen=True, slots=True)
class _Spike:
    span: Interval  # when spikes happen at all; ``value``: their height
    every_s: float  # inf: once
    width_s: float  # the tag's period: one reported sample per spike

    def at(self, t: float) -> float:
        if not self.span.covers(t):
            return 0.0
        into = t - self.span.start_s
        if math.isfinite(self.every_s):
            into %= self.every_s
        return self.span.value if into < self.width_s else 0.0


@dataclass(slots=True)
class TagEffects:
    """The additive reporting faults of one tag (module docstring)."""

    steps: tuple[Interval, ...] = ()
    drifts: tuple[_Drift, ...] = ()
    spikes: tuple[_Spike, ...] = ()
    noises: tuple[tuple[Interval, np.random.Generator], ...] = ()

    def apply(self, value: float, t: float) -> float:
        """The value reported at ``t`` (seconds after the start) for physical ``value``."""
        for step in self.steps:
            if step.covers(t):
                value += step.value
        for drift in self.drifts:
            value += drift.at(t)
        for spike in self.spikes:
            value += spike.at(t)
        for span, rng in self.noises:
            if span.covers(t):
                value += span.value * float(rng.standard_normal())
        return value


def effects_of(faults: Sequence[Fault], tag: Tag, *, seed: int, asset: str,
               ) -> TagEffects | None:
    """The effects of ``faults`` (the asset's, in scenario order) on ``tag``; None if none."""
    steps: list[Interval] = []
    drifts: list[_Drift] = []
    spikes: list[_Spike] = []
    noises: list[tuple[Interval, np.random.Generator]] = []
    for i, f in enumerate(faults):
        if f.tag != tag.name:
            continue
        size = magnitude(f, tag)
        if f.kind == "calibration_step":
            steps.append(Interval.of(f, size))
        elif f.kind == "drift" and f.end_s is not None:
            drifts.append(_Drift(f.start_s, f.end_s, size))
        elif f.kind == "spike":
            spikes.append(_Spike(Interval.of(f, size), f.every_s or math.inf, tag.period))
        elif f.kind == "noise":
            entropy = [seed, stable_hash(f"{asset}/{tag.name}"), i]
            noises.append((Interval.of(f, size),
                           np.random.default_rng(np.random.SeedSequence(entropy))))
    if not (steps or drifts or spikes or noises):
        return None
    return TagEffects(tuple(steps), tuple(drifts), tuple(spikes), tuple(noises))


"""The conformance checks every drift detector passes (built-in or a plug-in's).

A detector (``andon.drift.base.Detector``) is driven through a ``DriftCase``: how to build it
(with its false-alarm budget), seeded draws of its stream before and after a shift, the delay
within which it must see the shift, and how its budget reads. The checks:

- ``check_protocol``: it is a ``Detector``; ``statistic`` is ``nan`` and ``drifted`` false
  before any value; ``update_many`` gives the same alarms, statistic and verdict as ``update``
  one value at a time; a non-finite value is skipped, never an alarm;
- ``check_detects_shift``: on a seeded stationary prefix then a shifted stream, an alarm
  comes within ``case.delay`` values of the shift (before it, no more than the budget);
- ``check_budget``: on a long seeded stationary stream it raises no more alarms than its
  budget allows for that length;
- ``check_memory_bounded``: the memory it holds (``held_bytes``: its attributes, walked
  down to lists and arrays) grows by less than ``case.memory_bytes`` from ``n`` to ``10 n``
  values.

``check_sketch_merge`` and ``check_sketch_bounded`` pin the sketches' two promises: the merge
of two sketches is the sketch of the concatenated streams, and a sketch's size does not grow
with the values it counts (``10**7`` values, in ``10**6`` batches).

A plug-in's tests run every check in three lines::

    import pytest
    from andon.testing.conformance.drift import CHECKS

    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    def test_my_detector_conforms(check):
        check(MY_CASE)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from andon.drift.base import Budget, Detector
from andon.drift.sketch import BinnedSketch

__all__ = [
    "CHECKS",
    "DriftCase",
    "check_budget",
    "check_detects_shift",
    "check_memory_bounded",
    "check_protocol",
    "check_sketch_bounded",
    "check_sketch_merge",
    "held_bytes",
]

#: draws ``n`` values of a stream from a seeded generator
Draw = Callable[[np.random.Generator, int], np.ndarray]


@dataclass(frozen=True)
class DriftCase:
    """One detector under test and the streams it is judged on.

    ``make`` builds a fresh detector with ``budget``; ``stationary`` and ``shifted`` draw the
    stream before and after the shift; ``budget_step`` is how many values one budget step is
    (the window for a windowed detector, 1 for a streaming one); the shift comes after
    ``prefix`` values and must be seen within ``delay`` values; ``long_run`` values of the
    stationary stream must stay inside the budget.
    """

    name: str
    make: Callable[[], Detector]
    budget: Budget
    stationary: Draw
    shifted: Draw
    delay: int
    prefix: int = 5_000
    long_run: int = 200_000
    budget_step: int = 1
    memory_n: int = 20_000
    memory_bytes: int = 64 * 1024
    seed: int = 20261207


def check_protocol(case: DriftCase) -> None:
    """The protocol, and ``update_many`` equal to ``update`` one value at a time."""
    one, many = case.make(), case.make()
    assert isinstance(one, Detector), f"{case.name}: not an andon.drift Detector"
    assert math.isnan(one.statistic), f"{case.name}: statistic before any value is not nan"
    assert not one.drifted, f"{case.name}: drifted before any value"
    rng = np.random.default_rng(case.seed)
    xs = np.concatenate([case.stationary(rng, case.prefix), case.shifted(rng, case.delay)])
    alarms = sum(one.update(float(x)) for x in xs)
    assert many.update_many(xs) == alarms, f"{case.name}: update_many counts other alarms"
    assert (many.drifted, many.statistic) == (one.drifted, one.statistic), (
        f"{case.name}: update_many ends in another state than update")
    assert one.update(math.nan) is False, f"{case.name}: a NaN raised an alarm"
    assert not one.drifted


def check_detects_shift(case: DriftCase) -> None:
    """An alarm within ``case.delay`` values of the shift; before it, no more than the budget.

    Before the shift the stream is stationary, so an alarm there is a false alarm: allowed as
    far as the budget allows over the prefix (at least one: a budget is a rate, not a ban).
    """
    det = case.make()
    rng = np.random.default_rng(case.seed + 1)
    before = det.update_many(case.stationary(rng, case.prefix))
    allowed = case.budget.allows(case.prefix // case.budget_step)
    assert before <= max(allowed, 1), (
        f"{case.name}: {before} alarms on the {case.prefix} stationary values before the shift")
    for x in case.shifted(rng, case.delay).tolist():
        if det.update(x):
            return
    raise AssertionError(f"{case.name}: no alarm within {case.delay} values of the shift "
                         f"(statistic {det.statistic:.4g})")


def check_budget(case: DriftCase) -> None:
    """A long stationary stream raises no more alarms than the budget allows for it."""
    det = case.make()
    rng = np.random.default_rng(case.seed + 2)
    alarms = det.update_many(case.stationary(rng, case.long_run))
    allowed = case.budget.allows(case.long_run // case.budget_step)
    assert alarms <= max(allowed, 1), (
        f"{case.name}: {alarms} alarms on {case.long_run} stationary values, budget "
        f"{case.budget.alarms:g} per {case.budget.per} steps allows {allowed:.2f}")


def check_memory_bounded(case: DriftCase) -> None:
    """What the detector holds grows by less than ``case.memory_bytes`` from n to 10 n values."""
    det = case.make()
    rng = np.random.default_rng(case.seed + 3)
    det.update_many(case.stationary(rng, case.memory_n))
    after_n = held_bytes(det)
    det.update_many(case.stationary(rng, 9 * case.memory_n))
    after_10n = held_bytes(det)
    grown = after_10n - after_n
    assert grown < case.memory_bytes, (
        f"{case.name}: held {grown} more bytes after {10 * case.memory_n} values than after "
        f"{case.memory_n} (limit {case.memory_bytes})")


def held_bytes(obj: object, seen: set[int] | None = None) -> int:
    """The bytes ``obj`` holds: its own size, its attributes', containers' items, arrays' data."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return sys.getsizeof(obj) + (obj.nbytes if obj.base is not None else 0)
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(held_bytes(k, seen) + held_bytes(v, seen) for k, v in obj.items())
    elif isinstance(obj, list | tuple | set | frozenset):
        size += sum(held_bytes(x, seen) for x in obj)
    elif not isinstance(obj, str | bytes | int | float | bool | type) and obj is not None:
        attrs = getattr(obj, "__dict__", None)
        if attrs is not None:
            size += held_bytes(attrs, seen)
        for name in getattr(type(obj), "__slots__", ()):
            if hasattr(obj, name):
                size += held_bytes(getattr(obj, name), seen)
    return size


CHECKS: list[Callable[[DriftCase], None]] = [
    check_protocol, check_detects_shift, check_budget, check_memory_bounded]


def check_sketch_merge(reference: BinnedSketch, a: np.ndarray, b: np.ndarray) -> None:
    """Sketching ``a`` and ``b`` apart and merging equals sketching them one after the other."""
    sa, sb, both = reference.empty(), reference.empty(), reference.empty()
    sa.update_many(a)
    sb.update_many(b)
    both.update_many(np.concatenate([a, b]))
    assert sa.merge(sb).same_as(both), "sketch: merge differs from the concatenation's sketch"
    assert sb.merge(sa).same_as(both), "sketch: merge is not symmetric"
    one = reference.empty()
    for x in np.concatenate([a, b]).tolist():
        one.update(x)
    assert one.same_as(both), "sketch: update_many differs from update one value at a time"


def check_sketch_bounded(reference: BinnedSketch, *, values: int = 10**7,
                         batch: int = 10**6, seed: int = 0) -> None:
    """The sketch's size stays the same over ``values`` values; every value is counted."""
    sketch = reference.empty()
    size = sketch.nbytes
    rng = np.random.default_rng(seed)
    for _ in range(values // batch):
        sketch.update_many(rng.normal(size=batch))
        assert sketch.nbytes == size, f"sketch: grew from {size} to {sketch.nbytes} bytes"
    assert sketch.total + sketch.missing == values // batch * batch

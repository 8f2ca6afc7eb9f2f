"""Backfill: load a healthy history into the store, as a historian import would.

The demo and the tests need a training period that covers every shift, the daily ambient
cycle and a weekend day; streaming two simulated days through the embedded broker would take
minutes, so the simulator's history goes straight into the store (the same ``add_samples``
the edge uses), and the live stream starts where the history ends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from andon.clock import Clock, to_ms
from andon.namespace.sample import Sample
from andon.simulator import PlantSimulator
from andon.store.base import Store

__all__ = ["backfill"]


def backfill(sim: PlantSimulator, store: Store, until: datetime, *, clock: Clock,
             batch: int = 5000, progress: Callable[[datetime], None] | None = None) -> int:
    """Step ``sim`` up to ``until`` writing every sample to ``store``; returns the count."""
    pending: list[Sample] = []
    written = 0
    for samples in sim.run_until(until):
        pending += samples
        if len(pending) >= batch:
            written += store.add_samples(pending, to_ms(clock.now()))
            pending = []
            if progress is not None:
                progress(sim.now)
    if pending:
        written += store.add_samples(pending, to_ms(clock.now()))
    if progress is not None:
        progress(sim.now)
    return written

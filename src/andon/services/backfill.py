"""``andon simulate --backfill``: a simulated history written straight to the store.

Training needs days of healthy history; streaming them through a broker would take as long
as they last at any sensible speed. A backfill steps the simulator over a period and hands
every sample to the edge's own recording path, as a historian import does: ``Ingest.on_sample``
(time rules, the tag's data contract, quarantine with a reason) and the ``Recorder`` (batched
writes, one transaction per batch). Nothing is windowed or scored: it is history, not a live
stream. The clock follows the simulated time, so samples, quarantined messages, data-quality
events and counters carry the time they would have arrived at.

With ``models_dir`` (``--score``) the samples go through a whole edge instead (``build_edge``,
as ``andon edge`` builds it, on that clock): windows are scored with the production versions
the trusted keys verify, and interventions are raised into the store as the live edge raises
them. A dry run of a fault scenario on one's own plant, without a broker and in seconds.

Idempotent: before a batch is recorded, the samples the store already holds for the same
asset, tag and source time are left out (they never reach the ingest, so neither counters nor
events count them twice). Running the same backfill twice adds nothing; a period overlapping
an earlier backfill adds only the samples not stored yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from andon.clock import ManualClock, to_ms
from andon.connectors.legacy import LegacyDecoder
from andon.contracts import ContractChecker, QualityEvents
from andon.contracts.timing import Timekeeper
from andon.edge import build_edge
from andon.edge.ingest import Ingest
from andon.edge.recorder import Recorder
from andon.edge.stats import EdgeStats
from andon.errors import StoreError
from andon.simulator import PlantSimulator, Scenario

if TYPE_CHECKING:
    from andon.namespace.sample import Sample
    from andon.spec.model import PlantSpec
    from andon.store.base import Store

__all__ = ["BATCH_STEPS", "BackfillSummary", "backfill_history"]

#: simulator steps recorded per batch (one store transaction for their samples)
BATCH_STEPS = 240


@dataclass(frozen=True, slots=True)
class BackfillSummary:
    """What a backfill did: samples made, recorded, already stored, quarantined, flagged."""

    start: datetime
    end: datetime
    produced: int  # samples the simulator made
    recorded: int  # new rows in the store
    stored_before: int  # left out: the store already held them (an earlier backfill)
    quarantined: int  # broke a tag's contract: kept in the quarantine with the reason
    flagged: int  # recorded as uncertain (rate of change, stuck, stale)
    windows: int = 0  # windows scored (``models_dir`` given)
    interventions: int = 0  # interventions raised (``models_dir`` given)

    def line(self) -> str:
        """One line for people."""
        text = (f"{self.recorded} samples recorded from {self.start.isoformat()} to "
                f"{self.end.isoformat()} ({self.produced} simulated")
        if self.stored_before:
            text += f", {self.stored_before} already in the store"
        text += f", {self.quarantined} quarantined, {self.flagged} flagged)"
        return text


def backfill_history(spec: PlantSpec, store: Store, *, start: datetime, end: datetime,
                     seed: int, scenario: Scenario | None = None, lines: set[str] | None = None,
                     batch_steps: int = BATCH_STEPS, models_dir: Path | None = None,
                     trusted_keys: Path | None = None,
                     progress: Callable[[float], None] | None = None) -> BackfillSummary:
    """Simulate ``[start, end)`` and record it through the edge's path (module docstring).

    With ``models_dir``, score it too, serving the production versions ``trusted_keys``
    verify. ``progress`` is called with the fraction done after each batch. ``StoreError``
    when the store would not take everything (the line names the last error).
    """
    if end <= start:
        raise ValueError(f"the end {end.isoformat()} is not after the start {start.isoformat()}")
    sim = PlantSimulator(spec, seed=seed, start=start, scenario=scenario or Scenario(),
                         lines=lines)
    clock = ManualClock(start)
    if models_dir is None:
        stats = EdgeStats()
        recorder = Recorder(store, clock, stats)
        ingest = Ingest(spec, recorder=recorder, on_window=lambda *_: None, stats=stats,
                        clock=clock, contracts=ContractChecker(spec),
                        timekeeper=Timekeeper.of_spec(spec), legacy=LegacyDecoder(spec),
                        quality_events=QualityEvents(), watches={}, lines=lines)
    else:
        edge = build_edge(spec, store, models_dir, clock=clock, trusted_keys=trusted_keys,
                          lines=lines)
        edge.reload_models()
        stats, recorder, ingest = edge.stats, edge.recorder, edge.ingest
    assets = sorted({x.id for _s, _a, ln, x in spec.assets() if lines is None or ln.id in lines})
    # only a store holding part of the period already needs each batch checked
    overlap = bool(store.samples(assets=assets, start_ms=to_ms(start),
                                 end_ms=to_ms(end + timedelta(minutes=5)), limit=1))
    total = (end - start).total_seconds()
    produced = before = 0
    while sim.now < end:
        steps: list[tuple[datetime, list[Sample]]] = []
        while sim.now < end and len(steps) < batch_steps:
            samples = sim.step()
            steps.append((sim.now, samples))
            produced += len(samples)
        if overlap:
            steps, skipped = _new_only(store, assets, steps)
            before += skipped
        for now, samples in steps:
            clock.set(now)
            for s in samples:
                ingest.on_sample(s)
        ingest.take_quality()
        recorder.write(*recorder.take())
        if progress is not None:
            progress(min(1.0, (sim.now - start).total_seconds() / total))
    ingest.take_quality()
    recorder.write(*recorder.take(), force=True)
    if recorder.left():
        raise StoreError(f"backfill: {recorder.left()} items were not written to the store "
                         f"({stats.store.last_error})")
    return BackfillSummary(start, sim.now, produced, stats.recorded, before, stats.quarantined,
                           stats.flagged, stats.scored, stats.interventions)


def _new_only(store: Store, assets: list[str], steps: list[tuple[datetime, list[Sample]]],
              ) -> tuple[list[tuple[datetime, list[Sample]]], int]:
    """The steps without the samples the store holds already (same asset, tag, time)."""
    times = [s.ts_ms for _now, samples in steps for s in samples]
    if not times:
        return steps, 0
    held = {(s.address.asset, s.address.tag, s.ts_ms)
            for s in store.samples(assets=assets, start_ms=min(times), end_ms=max(times) + 1)}
    if not held:
        return steps, 0
    kept: list[tuple[datetime, list[Sample]]] = []
    skipped = 0
    for now, samples in steps:
        new = [s for s in samples if (s.address.asset, s.address.tag, s.ts_ms) not in held]
        skipped += len(samples) - len(new)
        kept.append((now, new))
    return kept, skipped

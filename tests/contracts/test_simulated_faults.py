"""The demo scenario's reporting faults surface as data-quality events, by tag and rule.

The seeded simulator plays the demo plant through the live part of the demo story; the edge
(fed the canonical samples, as from a historian) flags the stuck cv-202 drive_temp and the
calibration step on k-104 discharge_temp, the dropout of every pr-201 tag becomes a ``gap``,
and nothing else of the plant breaks its contract.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from andon.clock import ManualClock, from_ms, utc
from andon.contracts import Rule
from andon.edge import build_edge
from andon.namespace import Quality
from andon.simulator import PlantSimulator, Scenario
from andon.simulator.scenario import (
    DEMO_CALIBRATION_ASSET,
    DEMO_CALIBRATION_START_S,
    DEMO_CALIBRATION_TAG,
    DEMO_DROPOUT_ASSET,
    DEMO_STUCK_ASSET,
    DEMO_STUCK_END_S,
    DEMO_STUCK_START_S,
    DEMO_STUCK_TAG,
)
from andon.store import open_store

if TYPE_CHECKING:
    from pathlib import Path

    from andon.spec import PlantSpec

START = utc(2026, 3, 2)


def test_stuck_sensor_and_calibration_step_raise_data_quality_events(
    demo_spec: PlantSpec, sqlite_url: str, tmp_path: Path,
) -> None:
    lines = {"cooling-water", "press-line"}
    sim = PlantSimulator(demo_spec, seed=7, start=START, scenario=Scenario.demo(), lines=lines)
    for _ in sim.run_until(START + timedelta(seconds=DEMO_CALIBRATION_START_S - 3600)):
        pass  # the healthy history, not fed
    store = open_store(sqlite_url)
    clock = ManualClock(sim.now)
    edge = build_edge(demo_spec, store, tmp_path / "models", clock=clock, lines=lines)
    try:
        for step in sim.run_until(START + timedelta(seconds=DEMO_STUCK_END_S + 3600)):
            for sample in step:
                clock.set(from_ms(sample.ts_ms))
                edge.on_sample(sample)
            edge.flush()
        events = store.events(kind="data_quality", limit=1000)
        flagged = store.samples(assets=[DEMO_STUCK_ASSET, DEMO_CALIBRATION_ASSET])
    finally:
        store.close()
    by = {(e.subject.rsplit("/", 2)[-2], e.subject.rsplit("/", 1)[-1], e.detail.split(":")[0])
          for e in events}
    dropped = {t.name for t in demo_spec.asset(DEMO_DROPOUT_ASSET)[3].tags}
    assert by == {(DEMO_STUCK_ASSET, DEMO_STUCK_TAG, Rule.STUCK.value),
                  (DEMO_CALIBRATION_ASSET, DEMO_CALIBRATION_TAG, Rule.RATE_OF_CHANGE.value),
                  *((DEMO_DROPOUT_ASSET, tag, Rule.GAP.value) for tag in dropped)}
    step_event = next(e for e in events if e.detail.startswith("rate_of_change"))
    assert step_event.at == START + timedelta(seconds=DEMO_CALIBRATION_START_S)
    stuck_events = sorted((e for e in events if e.detail.startswith("stuck")), key=lambda e: e.at)
    # stuck for 3 h, holding the last value sent before the fault (so the flat run starts one
    # period early); flagged once flat for 10 periods; then one event per hour
    assert stuck_events[0].at == START + timedelta(seconds=DEMO_STUCK_START_S + 9 * 60)
    assert len(stuck_events) == 3
    assert "more since" in stuck_events[1].detail
    uncertain = [s for s in flagged if s.quality is Quality.UNCERTAIN]
    assert {(s.address.asset, s.address.tag) for s in uncertain} == {
        (DEMO_STUCK_ASSET, DEMO_STUCK_TAG), (DEMO_CALIBRATION_ASSET, DEMO_CALIBRATION_TAG)}
    assert edge.stats.quarantined == 0
    assert edge.stats.flagged == len(uncertain)

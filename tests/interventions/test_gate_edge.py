"""The gate wired into the edge: a simulated bearing fault gives one intervention, a dismissal
is not re-raised by the next anomalous window, and both hold across an edge restart.

A real model is trained on 48 h of simulated healthy cooling-water data; then pump P-101
develops bearing wear and the live samples go through ``Edge.on_message`` on a manual clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.clock import ManualClock, utc
from andon.edge import Edge, build_edge
from andon.interventions.fatigue import Verdict
from andon.interventions.lifecycle import InterventionState
from andon.namespace import encode_sample
from andon.services.history import backfill
from andon.services.simulate import topic_of
from andon.services.training import train_use_case
from andon.simulator import Fault, PlantSimulator, Scenario
from andon.store import open_store

if TYPE_CHECKING:
    from pathlib import Path

    from andon.namespace.sample import Sample
    from andon.spec import PlantSpec
    from andon.store import SqlStore

START = utc(2026, 3, 2, 8)
LINE = "cooling-water"
WARMUP = timedelta(hours=48)
WEAR_START = timedelta(hours=50)
FAILURE = timedelta(hours=74)


@dataclass
class Fixture:
    spec: PlantSpec
    models: Path
    live: list[list[Sample]]


@pytest.fixture(scope="module")
def trained(demo_spec: PlantSpec, tmp_path_factory: pytest.TempPathFactory,
            ) -> Fixture:
    tmp = tmp_path_factory.mktemp("gate-edge")
    scenario = Scenario((Fault("bearing_wear", asset="p-101", start_s=WEAR_START.total_seconds(),
                               end_s=FAILURE.total_seconds()),))
    sim = PlantSimulator(demo_spec, seed=11, start=START, scenario=scenario, lines={LINE})
    with open_store(f"sqlite:///{tmp / 'plant.db'}") as plant:
        clock = ManualClock(START)
        backfill(sim, plant, START + WARMUP, clock=clock)
        train_use_case(demo_spec, plant, tmp / "models", "pump-bearing", start=START,
                       end=START + WARMUP, clock=clock)
    return Fixture(demo_spec, tmp / "models", list(sim.run_until(START + FAILURE)))


def _edge(fx: Fixture, store: SqlStore, clock: ManualClock) -> Edge:
    edge = build_edge(fx.spec, store, fx.models, clock=clock, lines={LINE}, record=False)
    assert edge.reload_models()
    return edge


def _feed(edge: Edge, clock: ManualClock, steps: list[list[Sample]]) -> None:
    for samples in steps:
        clock.set(samples[0].ts)
        for s in samples:
            edge.on_message(topic_of(s), encode_sample(s))


def test_the_model_knows_its_training_distribution(trained: Fixture) -> None:
    """The T² limit is recorded at training time and travels with the artifact."""
    store_clock = ManualClock(START + WARMUP)
    with open_store(f"sqlite:///{trained.models.parent / 'dist.db'}") as store:
        edge = _edge(trained, store, store_clock)
        loaded = edge.model("pump-bearing")
        assert loaded is not None
        model, meta = loaded
        assert meta.t2_limit is not None
        assert meta.t2_limit > 0
        assert model.t2_limit == meta.t2_limit
        assert meta.params["t2_quantile"] == 0.999


def test_a_bearing_fault_is_one_intervention_and_a_dismissal_holds_across_a_restart(
        trained: Fixture, tmp_path: Path) -> None:
    clock = ManualClock(START + WARMUP)
    half = len(trained.live) // 2
    with open_store(f"sqlite:///{tmp_path / 'edge.db'}") as store:
        edge = _edge(trained, store, clock)
        first_iv = None
        for i, samples in enumerate(trained.live[:half]):
            _feed(edge, clock, [samples])
            if first_iv is None:
                first_iv = store.open_intervention_for("pump-bearing", "p-101")
                if first_iv is not None:
                    stop_at = i
                    break
        assert first_iv is not None
        assert store.list_triage() == []  # the real fault is confident and in distribution
        store.transition_intervention(first_iv.id, InterventionState.DISMISSED, by="chris",
                                        at=clock.now(), reason="checked on site, looks fine")
        rest = trained.live[stop_at + 1:]
        split = len(rest) // 2
        _feed(edge, clock, rest[:split])
        edge = _edge(trained, store, clock)  # restart: a new edge over the same store
        _feed(edge, clock, rest[split:])
        ivs = store.list_interventions(open_only=False)
        assert [(r.asset, r.id) for r in ivs] == [("p-101", first_iv.id)]
        held = store.gate_entries(key="pump-bearing/p-101", verdict=Verdict.HELD.value,
                                  limit=10_000)
        assert len(held) > 10  # the wear kept scoring anomalous: each window was held
        assert {e.intervention_id for e in held} == {first_iv.id}
        counts = store.gate_counts()
        assert counts[("ghent/maintenance_planner", "delivered")] == 1

"""End to end on a controlled clock: simulator → real broker → edge → store → intervention.

Two healthy simulated days are backfilled into the store (as a historian import would), the
model is trained on them, then the simulation goes on live through a real broker to the edge.
The simulator is stepped in simulated time (no wall-clock pacing); after every few steps the
test waits, on an event, until the edge has received everything published so far, so nothing
depends on timing. Runs against the embedded amqtt broker and against Mosquitto.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from andon.clock import ManualClock, utc
from andon.connectors import EmbeddedBroker, MqttClient
from andon.edge import build_edge
from andon.interventions import Intervention
from andon.namespace import encode_sample
from andon.namespace.topics import edge_intervention_filter
from andon.registry import Registry, Stage, generate_keypair
from andon.services.history import backfill
from andon.services.simulate import topic_of
from andon.services.training import train_use_case
from andon.simulator import Fault, PlantSimulator, Scenario
from andon.spec import Enterprise, PlantSpec, next_planned_stop
from andon.store import SqlStore, open_store
from andon.testing import need, unique_id

START = utc(2026, 3, 2, 8)  # a Monday, 09:00 in Ghent
LINE = "cooling-water"
WARMUP = timedelta(hours=48)
WEAR_START = timedelta(hours=50)
FAILURE = timedelta(hours=74)
STEPS_PER_BARRIER = 20


@dataclass
class LoopResult:
    store: SqlStore
    failure: datetime
    interventions: list[Intervention]
    published_ivs: list[dict[str, object]] = field(default_factory=list)
    received: int = 0
    published: int = 0


class Barrier:
    """Wait, on an event, until the subscriber has received ``target`` messages."""

    def __init__(self) -> None:
        self.target = 0
        self.reached = asyncio.Event()

    def check(self, received: int) -> None:
        if received >= self.target:
            self.reached.set()

    async def wait(self, target: int, received: int) -> None:
        self.target = target
        self.reached.clear()
        if received < target:
            await asyncio.wait_for(self.reached.wait(), 30)


def unique_spec(spec: PlantSpec) -> PlantSpec:
    """Same plant under a fresh enterprise id: its own topic prefix on a shared broker."""
    ent = Enterprise(id=unique_id(), name=spec.enterprise.name)
    return spec.model_copy(update={"enterprise": ent})


async def _run_loop(url: str, spec: PlantSpec, tmp: Path) -> LoopResult:
    store = open_store(f"sqlite:///{tmp / 'andon.db'}")
    clock = ManualClock(START)
    scenario = Scenario((Fault("bearing_wear", asset="p-101", start_s=WEAR_START.total_seconds(),
                               end_s=FAILURE.total_seconds()),))
    sim = PlantSimulator(spec, seed=11, start=START, scenario=scenario, lines={LINE})
    failure = sim.failure_time("p-101")
    assert failure == START + FAILURE
    key, pub, _key_id = generate_keypair(tmp / "keys", "plant")
    trusted = tmp / "keys" / "trusted"
    trusted.mkdir()
    pub.rename(trusted / pub.name)
    edge = build_edge(spec, store, tmp / "models", clock=clock, trusted_keys=trusted, lines={LINE})

    barrier = Barrier()

    def on_message(topic: str, payload: bytes) -> None:
        edge.on_message(topic, payload)
        barrier.check(sub.received)

    sub = MqttClient(url, on_message=on_message, subscriptions=edge.subscriptions())
    published_ivs: list[dict[str, object]] = []
    watcher = MqttClient(
        url, subscriptions=[edge_intervention_filter(spec.enterprise.id)],
        on_message=lambda _t, p: published_ivs.append(json.loads(p)),
    )
    pub = MqttClient(url)
    edge.publish = pub.publish
    for c in (sub, watcher, pub):
        await c.connect()
    await sub.subscribed()
    await watcher.subscribed()

    published = 0

    async def run_until(when: datetime) -> None:
        nonlocal published
        for steps, samples in enumerate(sim.run_until(when), start=1):
            for s in samples:
                pub.publish(topic_of(s), encode_sample(s))
            published += len(samples)
            clock.set(sim.now)
            if steps % STEPS_PER_BARRIER == 0:
                await barrier.wait(published, sub.received)
        await barrier.wait(published, sub.received)

    backfill(sim, store, START + WARMUP, clock=clock)
    meta = train_use_case(spec, store, tmp / "models", "pump-bearing", start=START,
                          end=START + WARMUP, clock=clock)
    assert meta.train_windows > 0
    assert edge.reload_models() == [], "a trained, unsigned candidate is not served"
    registry = Registry(store, clock, tmp / "models", trusted_keys=trusted)
    registry.register(registry.version_dir(meta.name, meta.version), key, "test")
    assert edge.reload_models() == [], "a signed candidate is not served"
    promoted = registry.promote(meta.name, meta.version, "test", "loop test")
    assert promoted.stage is Stage.PRODUCTION
    assert edge.reload_models() == [meta.label]
    await run_until(failure)
    edge.flush()
    await watcher.subscribed()  # a round trip: every earlier intervention has arrived
    for c in (sub, watcher, pub):
        await c.disconnect()
    return LoopResult(store, failure, store.list_interventions(open_only=False),
                      published_ivs, sub.received, published)


@pytest.fixture(params=["embedded", "mosquitto"])
def broker_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "mosquitto":
        need("Mosquitto", "127.0.0.1", 1883)
        yield "mqtt://127.0.0.1:1883"
        return
    yield "embedded"


@pytest.mark.mosquitto
def test_bearing_fault_yields_one_intervention_before_failure(
    broker_url: str, demo_spec: PlantSpec, tmp_path: Path,
) -> None:
    """The bearing wear on P-101 raises one owned intervention, with a deadline before the
    earliest predicted failure, before the failure; the healthy pump on the same line raises
    none."""
    spec = unique_spec(demo_spec)

    async def main() -> LoopResult:
        if broker_url == "embedded":
            async with EmbeddedBroker() as broker:
                return await _run_loop(broker.url, spec, tmp_path)
        return await _run_loop(broker_url, spec, tmp_path)

    result = asyncio.run(main())
    assert result.received == result.published, "the edge lost samples on a loopback broker"
    ivs = result.interventions
    assert [r.asset for r in ivs] == ["p-101"], [r.asset for r in ivs]
    iv = ivs[0]
    assert iv.use_case == "pump-bearing"
    assert iv.owner_role == "maintenance_planner"
    assert iv.detected_at < result.failure
    assert iv.detected_at > START + WEAR_START
    assert iv.detections >= 1
    site, _area, line, _asset = spec.asset("p-101")
    # the deadline is a planned stop before the earliest predicted failure (the demo's band:
    # 3 h to 24 h), else now with a request for an unplanned stop
    early, late = iv.failure_window
    assert (early, late) == (iv.detected_at + timedelta(hours=3),
                             iv.detected_at + timedelta(hours=24))
    stop = next_planned_stop(line.calendar, site.timezone, iv.detected_at, early)
    if stop is None:
        assert (iv.deadline, iv.deadline_label) == (iv.detected_at, "now")
        assert "request an unplanned stop to inspect" in iv.action
    else:
        assert iv.deadline == stop.start
        assert iv.deadline_label.startswith("Early-shift changeover stop")
    assert iv.deadline <= early
    assert iv.deadline < result.failure
    assert "Pump P-101" in iv.action
    assert iv.why[0].feature.startswith(("vibration", "bearing_temp"))
    assert result.published_ivs
    assert {p["where"]["asset"] for p in result.published_ivs} == {"p-101"}
    assert result.published_ivs[0]["id"] == iv.id
    result.store.close()

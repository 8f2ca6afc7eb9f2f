"""Shadow mode on the edge: a rolled-out version scores the same windows as production, its
would-be interventions are kept apart with full evidence and reach no person, sink or topic.

Two versions of the pump-bearing model are trained on the same two healthy simulated days
(backfilled, as the demo does), signed; v1 is promoted, v2 is rolled out in shadow on the
cooling-water line. The bearing fault on P-101 then runs through the edge on a controlled
clock. The second test runs the whole loop on its own Mosquitto: edge (``run_edge``, outbox,
uplink) → central ingest → store → webhook delivery to a real HTTP receiver, and watches
every topic under the enterprise.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from andon.app import Actor, Context
from andon.app.context import PlantRef
from andon.app.rollout import start_rollout, withdraw_rollout
from andon.clock import ManualClock, utc
from andon.connectors.mqtt import MqttClient
from andon.edge import Outbox, build_edge, run_edge
from andon.namespace import encode_sample
from andon.registry import Registry, generate_keypair
from andon.services.central import CentralIngest, run_central
from andon.services.delivery import DeliveryService
from andon.services.history import backfill
from andon.services.simulate import topic_of
from andon.services.training import train_use_case
from andon.simulator import Fault, PlantSimulator, Scenario
from andon.sinks import Route, WebhookSink
from andon.spec import PlantSpec
from andon.store import SqlStore, open_store
from andon.testing import MosquittoProcess, until
from sinks.receiver import SECRET, Receiver

START = utc(2026, 3, 2, 8)
LINE = "cooling-water"
WARMUP = timedelta(hours=48)
WEAR_START = timedelta(hours=50)
FAILURE = timedelta(hours=74)
DEADLINE_S = 30.0


@dataclass
class Plant:
    store: SqlStore
    clock: ManualClock
    sim: PlantSimulator
    models: Path
    trusted: Path
    failure: datetime


def _plant(spec: PlantSpec, tmp: Path) -> Plant:
    """Backfilled store, v1 in production and v2 signed, rolled out in shadow on the line."""
    store = open_store(f"sqlite:///{tmp / 'andon.db'}")
    clock = ManualClock(START)
    scenario = Scenario((Fault("bearing_wear", asset="p-101", start_s=WEAR_START.total_seconds(),
                               end_s=FAILURE.total_seconds()),))
    sim = PlantSimulator(spec, seed=11, start=START, scenario=scenario, lines={LINE})
    key, pub, _key_id = generate_keypair(tmp / "keys", "plant")
    trusted = tmp / "keys" / "trusted"
    trusted.mkdir()
    pub.rename(trusted / pub.name)
    backfill(sim, store, START + WARMUP, clock=clock)
    registry = Registry(store, clock, tmp / "models", trusted_keys=trusted)
    for version in (1, 2):
        meta = train_use_case(spec, store, tmp / "models", "pump-bearing", start=START,
                              end=START + WARMUP, clock=clock)
        assert meta.version == version
        registry.register(registry.version_dir(meta.name, meta.version), key, "dana")
    registry.promote("pump-bearing", 1, "dana", "first model")
    ctx = Context(store, clock, PlantRef(spec))
    start_rollout(ctx, Actor.system("dana"), "pump-bearing", 2, pilot=LINE,
                  reason="v2 in shadow beside v1")
    failure = sim.failure_time("p-101")
    assert failure == START + FAILURE
    return Plant(store, clock, sim, tmp / "models", trusted, failure)


def test_a_shadow_version_scores_beside_production_and_is_kept_apart(
        demo_spec: PlantSpec, tmp_path: Path) -> None:
    plant = _plant(demo_spec, tmp_path)
    store, clock = plant.store, plant.clock
    edge = build_edge(demo_spec, store, plant.models, clock=clock,
                      trusted_keys=plant.trusted, lines={LINE})
    loaded = edge.reload_models()
    assert sorted(loaded) == ["pump-bearing v1", "pump-bearing v2"], loaded
    challenger = [e for e in store.events(kind="model_loaded") if "rollout" in e.detail]
    assert [e.detail.split(" (")[0] for e in challenger] == ["pump-bearing v2"]
    assert "(rollout: shadow_pilot)" in challenger[0].detail
    for samples in plant.sim.run_until(plant.failure):
        for s in samples:
            edge.on_sample(s)
        clock.set(plant.sim.now)
    edge.flush()

    stats = edge.stats
    production = [iv for iv in store.list_interventions(open_only=False)
                  if iv.use_case == "pump-bearing"]
    shadow = store.shadow_interventions()
    # the same windows, scored twice: once live by v1, once in shadow by v2
    assert stats.scored > 0
    assert stats.shadow_scored == stats.scored
    assert stats.shadow_raised == len(shadow) >= 1
    assert {iv.model_version for iv in production} == {"1"}
    assert [iv.asset for iv in production] == ["p-101"]
    assert {iv.model_version for iv in shadow} == {"2"}
    assert {iv.asset for iv in shadow} == {"p-101"}, "the healthy pump raised nothing"
    sh = shadow[0]
    assert sh.id.startswith("shadow-v2-")
    assert sh.id not in {iv.id for iv in production}
    assert sh.why, "kept with its evidence"
    assert sh.score > sh.threshold
    assert START + WEAR_START < sh.detected_at < plant.failure
    # one would-be intervention per fault while it is open, as live
    assert len(shadow) == 1
    # a shadow record is no intervention: not in the inbox's table, no delivery state
    assert store.deliveries() == []

    # withdrawn: after the next reload the challenger scores nothing more
    ctx = Context(store, clock, PlantRef(demo_spec))
    withdraw_rollout(ctx, Actor.system("dana"), "pump-bearing", reason="enough")
    edge.reload_models()
    before, scored = stats.shadow_scored, stats.scored
    for samples in plant.sim.run_until(plant.failure + timedelta(hours=2)):
        for s in samples:
            edge.on_sample(s)
        clock.set(plant.sim.now)
    edge.flush()
    assert stats.scored > scored, "production goes on scoring"
    assert stats.shadow_scored == before
    store.close()


async def _whole_loop(spec: PlantSpec, tmp: Path, plant: Plant) -> dict[str, object]:
    """Edge, central and webhook delivery on one Mosquitto; what each far end saw."""
    broker = MosquittoProcess(tmp)
    broker.start()
    central_store = open_store(f"sqlite:///{tmp / 'central.db'}")
    clock = plant.clock
    edge = build_edge(spec, plant.store, plant.models, clock=clock,
                      trusted_keys=plant.trusted, lines={LINE})
    edge.reload_models()
    central = CentralIngest(central_store, clock)
    seen: list[tuple[str, bytes]] = []
    changed = asyncio.Event()

    def on_any(topic: str, payload: bytes) -> None:
        seen.append((topic, payload))
        changed.set()

    watcher = MqttClient(broker.url, "watcher", on_message=on_any, subscriptions=["#"], qos=1)
    feed = MqttClient(broker.url, "feed")
    stop = asyncio.Event()
    with Receiver([]) as receiver:
        delivery = DeliveryService(central_store, [Route(WebhookSink("webhook:plant", receiver.url,
                                                              SECRET, clock=clock))],
                            clock=clock, poll_s=0.2)
        await watcher.connect()
        await watcher.subscribed()
        await feed.connect()
        tasks = [
            asyncio.create_task(run_edge(edge, broker.url, stop, edge_id="e-shadow",
                                         outbox=Outbox(tmp / "outbox.db"), heartbeat_s=0.5)),
            asyncio.create_task(run_central(central, broker.url, stop)),
            asyncio.create_task(delivery.run(stop)),
        ]
        try:
            await until(lambda: edge.intake is not None and edge.intake.ready.is_set(),
                        "edge subscribed", DEADLINE_S, wake=changed, every_s=0.1)
            published = 0
            for samples in plant.sim.run_until(plant.failure):
                for s in samples:
                    feed.publish(topic_of(s), encode_sample(s))
                published += len(samples)
                clock.set(plant.sim.now)
                if published % 2000 < len(samples):  # keep the broker's queue bounded
                    target = published
                    await until(lambda: edge.stats.received >= target,  # noqa: B023
                                "edge caught up", DEADLINE_S, wake=changed, every_s=0.05)
            await until(lambda: edge.stats.received >= published, "every sample received",
                        DEADLINE_S, wake=changed, every_s=0.05)
            edge.flush()
            raised = edge.stats.shadow_raised
            live = plant.store.list_interventions(open_only=False)
            await until(lambda: len(central_store.shadow_interventions()) >= raised
                        and {iv.id for iv in central_store.list_interventions(open_only=False)}
                        >= {iv.id for iv in live}, "central caught up", DEADLINE_S,
                        wake=changed, every_s=0.1)
            await until(lambda: len(receiver.seen) >= len(live), "webhook delivered",
                        DEADLINE_S, wake=changed, every_s=0.1)
            await watcher.subscribed()  # a round trip: nothing else is on its way
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), DEADLINE_S)
            await watcher.disconnect()
            await feed.disconnect()
            broker.stop()
        out: dict[str, object] = {
            "published": published, "edge": edge.stats,
            "live": live, "central_live": central_store.list_interventions(open_only=False),
            "central_shadow": central_store.shadow_interventions(),
            "edge_shadow": plant.store.shadow_interventions(),
            "webhook": [json.loads(r["body"]) for r in receiver.seen], "topics": seen,
            "central_deliveries": central_store.deliveries(),
        }
    central_store.close()
    return out


@pytest.mark.mosquitto
def test_shadow_reaches_no_sink_topic_or_person(demo_spec: PlantSpec, tmp_path: Path) -> None:
    from andon.testing.mosquitto import need_mosquitto_binary  # noqa: PLC0415

    need_mosquitto_binary()
    plant = _plant(demo_spec, tmp_path)
    seen = asyncio.run(_whole_loop(demo_spec, tmp_path, plant))
    edge_shadow = seen["edge_shadow"]
    central_shadow = seen["central_shadow"]
    assert isinstance(edge_shadow, list)
    assert isinstance(central_shadow, list)
    shadow_ids = {iv.id for iv in edge_shadow}
    assert shadow_ids, "v2 raised a would-be intervention in shadow"
    # produced = stored at the far end, 0 duplicated
    assert sorted(iv.id for iv in central_shadow) == sorted(shadow_ids)
    assert central_shadow[0].why, "kept centrally with its evidence"
    live = seen["live"]
    central_live = seen["central_live"]
    assert isinstance(live, list)
    assert isinstance(central_live, list)
    assert [iv.asset for iv in live] == ["p-101"]
    assert {iv.id for iv in central_live} == {iv.id for iv in live}
    assert not shadow_ids & {iv.id for iv in central_live}, "no shadow record in the inbox"
    webhook = seen["webhook"]
    assert isinstance(webhook, list)
    assert webhook, "production's intervention reached the webhook"
    assert {d["id"] for d in webhook} == {iv.id for iv in live}
    assert all(d["evidence"]["model_version"] == "1" for d in webhook), webhook
    deliveries = seen["central_deliveries"]
    assert isinstance(deliveries, list)
    assert not shadow_ids & {d.intervention_id for d in deliveries}
    topics = seen["topics"]
    assert isinstance(topics, list)
    carried = [t for t, p in topics if any(i.encode() in p for i in shadow_ids)]
    assert carried, "the shadow record travelled to central"
    assert all(t.endswith("/e-shadow/shadow") and "/_andon/edge/" in t for t in carried), (
        sorted(set(carried)))

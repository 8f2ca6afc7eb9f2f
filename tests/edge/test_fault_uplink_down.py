"""A separate uplink broker (site → enterprise) goes down mid-stream: the site keeps working.

Two private Mosquittos: the site broker (a PLC gateway publishes samples on it with QoS 1,
an operator panel subscribes to the interventions there) and the enterprise broker (the
central ingest on it). The edge (``run_edge`` with ``uplink_url``, forwarding) reads from and
delivers on the site broker and sends the central side everything over the enterprise one.
The enterprise broker is stopped: the edge keeps recording and scoring from the site, the
panel gets the interventions raised meanwhile, the site broker's heartbeat says the link to
the central side is buffering; once the enterprise broker is back, the central store has
every sample and intervention exactly once. Every wait is bounded and on a condition.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from andon.clock import ManualClock
from andon.connectors.mqtt import MqttClient
from andon.connectors.reconnect import ReconnectPolicy
from andon.edge import LinkState, Outbox, build_edge, run_edge
from andon.edge.status import edge_statuses_from_broker
from andon.edge.uplink import SiteAndCentral
from andon.namespace.topics import edge_intervention_filter
from andon.spec import PlantSpec
from andon.store import open_store
from andon.testing import MosquittoProcess, until
from andon.testing.factories import make_intervention
from andon.testing.mosquitto import need_mosquitto_binary
from edge.faults import SOURCES, T0, Central, clock_at, tag_message

pytestmark = pytest.mark.mosquitto

DURING = 300  # samples (both sources) the edge must record while the enterprise is down


async def _status(url: str, edge_id: str) -> dict[str, object]:
    """The edge's status from the retained topics on ``url`` ({} if it has none there)."""
    found = [s for s in await edge_statuses_from_broker(url, "acme") if s.edge_id == edge_id]
    return {"link": found[0].link, "site_link": found[0].site_link,
            "buffer_depth": found[0].buffer_depth, "unacked": found[0].unacked} if found else {}


async def _story(spec: PlantSpec, tmp: Path) -> dict[str, int]:  # noqa: PLR0915 - one story
    site, enterprise = MosquittoProcess(tmp), MosquittoProcess(tmp)
    site.start()
    enterprise.start()
    central = Central(open_store(f"sqlite:///{tmp / 'central.db'}"), tmp / "ledger.db",
                      "andon-central-acme", ManualClock(T0))
    edge_store = open_store(f"sqlite:///{tmp / 'edge.db'}")
    clock = ManualClock(T0)
    edge = build_edge(spec, edge_store, tmp / "models", clock=clock, lines={"cooling-water"})
    outbox = Outbox(tmp / "outbox.db", capacity=100_000)
    seen: list[str] = []  # intervention ids the site panel received

    def on_panel(_topic: str, payload: bytes) -> None:
        seen.append(str(json.loads(payload)["id"]))

    panel = MqttClient(site.url, "panel", on_message=on_panel,
                       subscriptions=[edge_intervention_filter("acme")], qos=1)
    plc = MqttClient(site.url, "plc-gateway")
    stop = asyncio.Event()
    task = None
    produced = {"seq": 0, "samples": 0}
    emitted: list[str] = []
    running = True

    async def produce() -> None:  # a PLC gateway on the site broker, and the edge deciding
        while running:
            seq = produced["seq"]
            clock_at(clock, seq)
            for source in SOURCES:
                plc.publish(*tag_message(source, seq), qos=1)
                produced["samples"] += 1
            if seq % 40 == 20:
                emitted.append(f"iv-{seq:04d}")
                edge.emit(make_intervention(emitted[-1], asset=SOURCES["plc-a"]))
            produced["seq"] = seq + 1
            await asyncio.sleep(0.01)  # the pace of the stream, not a wait for a result

    feeding = None
    try:
        await central.start(enterprise.url)
        await panel.connect()
        await panel.subscribed()
        await plc.connect()
        task = asyncio.create_task(run_edge(
            edge, site.url, stop, edge_id="e-split", outbox=outbox, heartbeat_s=0.5,
            flush_every_s=0.1, forward=True, uplink_url=enterprise.url,
            backoff=ReconnectPolicy(base_s=120.0, cap_s=120.0)))
        await until(lambda: edge.stats.link.state is LinkState.ONLINE
                    and edge.stats.site_link is not None
                    and edge.stats.site_link.state is LinkState.ONLINE
                    and edge.intake is not None and edge.intake.ready.is_set(),
                    "the edge online on both brokers", 30)
        site_link = edge.stats.site_link
        assert site_link is not None
        outbound = edge.outbound
        assert isinstance(outbound, SiteAndCentral)
        feeding = asyncio.create_task(produce())
        await until(lambda: central.store.sample_count() >= 100, "samples at the central side",
                    30)

        await asyncio.to_thread(enterprise.stop)
        await until(lambda: edge.stats.link.state is LinkState.BUFFERING, "the uplink buffering",
                    30)
        await until(lambda: not central.ready.is_set(), "the ingest to see the outage", 30)
        central_before = central.store.sample_count()
        recorded, raised = edge_store.sample_count(), len(emitted)
        await until(lambda: edge_store.sample_count() - recorded >= DURING
                    and len(emitted) - raised >= 2 and set(emitted) <= set(seen),
                    "samples recorded and interventions delivered on the site meanwhile", 30,
                    state=lambda: (edge_store.sample_count(), emitted, seen))
        local = await _status(site.url, "e-split")
        assert local["link"] == "buffering", local  # honest: the central side is unreachable
        assert local["site_link"] == "online", local
        assert not enterprise.running
        assert site_link.state is LinkState.ONLINE
        assert central.store.sample_count() == central_before, "nothing reached central"
        assert outbox.depth() > 0

        await asyncio.to_thread(enterprise.start)  # same port, a fresh broker (no persistence)
        await asyncio.wait_for(central.ready.wait(), 60)  # resubscribed before the replay
        outbound.central.retry_now()
        await until(lambda: edge.stats.link.state is LinkState.ONLINE, "the uplink online", 60)
        running = False
        await feeding
        last = produced["seq"] - 1
        await until(lambda: edge_store.sample_count() == produced["samples"],
                    "the edge to record every sample", 30,
                    state=lambda: (edge_store.sample_count(), produced))
        await until(lambda: central.store.sample_count() == produced["samples"]
                    and outbox.depth() == 0, "the central side to have everything", 60,
                    state=lambda: (central.store.sample_count(), outbox.depth(), produced))
        central_status = await _status(enterprise.url, "e-split")

        for source in SOURCES:
            assert central.seqs(source) == list(range(last + 1)), f"{source}: each sample once"
        ids = sorted(r.id for r in central.store.list_interventions(open_only=False,
                                                                      limit=10_000))
        assert ids == sorted(emitted), "every intervention once at the central side"
        assert set(seen) == set(emitted), "and every one delivered on the site"
        assert central_status["link"] in {"online", "replaying"}, central_status
        assert central_status["site_link"] == "online", central_status
        assert central.ingest is not None
        assert central.ingest.stats.missing == 0
        figures = {"produced": produced["samples"], "edge": edge_store.sample_count(),
                   "central": central.store.sample_count(),
                   "duplicated": central.store.sample_count() - len(
                       {(s.source, s.seq) for s in central.store.samples()}),
                   "resent": edge.stats.link.resent, "interventions": len(emitted),
                   "site_deliveries": len(seen)}
        print("FAULT uplink broker down:", figures)  # noqa: T201 - the fault table's figures
        return figures
    finally:
        running = False
        if feeding is not None:
            await asyncio.wait_for(feeding, 10)
        stop.set()
        if task is not None:
            await asyncio.wait_for(task, 30)
        if central.ingest is not None:
            await central.halt()
        await panel.disconnect()
        await plc.disconnect()
        central.store.close()
        edge_store.close()
        outbox.close()
        site.stop()
        enterprise.stop()


def test_enterprise_broker_down_the_site_keeps_scoring_and_central_gets_everything_once(
        demo_spec: PlantSpec, tmp_path: Path) -> None:
    need_mosquitto_binary()
    figures = asyncio.run(_story(demo_spec, tmp_path))
    assert figures["produced"] == figures["edge"] == figures["central"]
    assert figures["duplicated"] == 0

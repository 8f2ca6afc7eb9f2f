"""Edge latency: the decision and its consumer-acknowledged delivery, against raw gmqtt.

Run from the repository root (Mosquitto at 127.0.0.1:1883 by default)::

    .venv/bin/python benchmarks/edge_latency.py
    .venv/bin/python benchmarks/edge_latency.py --broker mqtt://127.0.0.1:1883 --seconds 5

**Latency.** A publisher sends UNS samples of the demo plant's cooling-water line (all its
tags, source time = now) at 1k and 10k samples/s, from the edge's process (on this 2-core
machine a publisher process of its own, beside the edge, the central ingest, the listener and
the broker, made the figure one of the scheduler: decision p99 ~50 ms against ~15 ms, same
code).
The edge (``build_edge(write_behind=True)`` and ``run_edge`` with recording, forwarding and
the scoring worker on, as ``andon edge --forward`` runs) takes every sample through decode,
contracts, windows and recording; for one sample in ``rate / --ivs-per-s`` it submits a job
to the scoring worker, whose stand-in for the model and the decider (so that a known sample
triggers it) emits an intervention from that thread, which goes the real way out: envelope
check, guard, outbox (published before its group commit), QoS 1 publish, and the edge's own
record written behind. A central ingest (``run_central``, SQLite store and sequencer, its own
process) stores what the edge forwards and acknowledges it. Two figures per triggering
sample:

- **decision**: the sample published -> the intervention received by a subscriber on the
  local UNS (the edge's intervention topic). Baseline: raw gmqtt publish -> receive of the
  samples themselves (same run, same broker, same rate).
- **acknowledged**: the sample published -> the central ingest stored the intervention and
  the edge took its acknowledgement (the outbox item is deleted). Baseline: raw gmqtt round
  trip: a sample published -> a subscriber receives it and publishes an echo (QoS 1) -> the
  publisher receives the echo, for the same samples.

**Replay.** An outbox holding ``--backlog`` items (as after an outage) is drained by the
uplink while live items keep coming at 100/s: replay rate = backlog / time until the link is
``online`` again, and the latency of the live items meanwhile (they must not starve).

The edge runs in this process (one event loop and its threads), as ``andon edge`` does; on a
shared machine read differences to the baseline, not absolutes. The load average is
printed. Exits 1 naming each run that measured nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import structlog

from andon.clock import SystemClock, to_ms
from andon.connectors.mqtt import MqttClient
from andon.connectors.reconnect import ReconnectPolicy
from andon.edge import (
    Edge,
    EdgeIdentity,
    LinkState,
    Outbox,
    Uplink,
    build_edge,
    run_edge,
)
from andon.edge.outbox import INTERVENTION
from andon.edge.scoring import Window
from andon.interventions.record import Intervention, InterventionState
from andon.namespace import encode_sample
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress, edge_intervention_filter
from andon.services.central import CentralIngest, Sequencer, run_central
from andon.settings import SCORING_STALL
from andon.spec import PlantSpec, load_spec
from andon.store import SqlStore, open_store

SPEC = Path(__file__).resolve().parents[1] / "examples" / "demo-plant.yaml"


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _addresses(spec: PlantSpec) -> list[tuple[TagAddress, str]]:
    ent = spec.enterprise.id
    return [(TagAddress(ent, s.id, a.id, ln.id, x.id, t.name), t.unit)
            for s, a, ln, x in spec.assets() if ln.id == "cooling-water" for t in x.tags]


def _template(spec: PlantSpec) -> Intervention:
    site, area, line, asset = spec.asset("p-101")
    now = SystemClock().now()
    return Intervention(
        id="bench", use_case="pump-bearing", enterprise=spec.enterprise.id, site=site.id,
        area=area.id, line=line.id, asset=asset.id, asset_name=asset.name,
        action="Inspect the drive-end bearing", owner_role="maintenance_planner",
        deadline=now + timedelta(hours=8), deadline_label="now",
        predicted_failure=now + timedelta(days=3), detected_at=now, score=7.0,
        threshold=4.0, model="pump-bearing", model_version="1", why=(),
        state=InterventionState.NEW, detections=1, created_at=now, updated_at=now)


def bench_edge(spec: PlantSpec, store: SqlStore, models: Path, every: int,
               template: Intervention) -> Edge:
    """The edge as ``andon edge`` builds it, raising an intervention for every ``every``-th
    sample it records.

    The trigger takes the production path: a job for the scoring worker (``run_edge`` with
    ``scoring_stall_s``, as ``andon edge`` runs by default), whose "model" (a stand-in for
    scoring and deciding) emits the intervention from that thread; intervention records are
    written behind the decision (``write_behind``, as ``andon edge`` does).
    """
    edge = build_edge(spec, store, models, clock=SystemClock(), lines={"cooling-water"},
                      write_behind=True)
    keep = edge.ingest._keep  # noqa: SLF001 - the recorder's append: every recorded sample
    uc = spec.use_cases[0]

    def decide(window: Window) -> None:  # on the scoring worker
        edge.emit(replace(template, id=f"bench-{window.end_ms}"))

    edge.scoring.score = decide  # type: ignore[method-assign] - a stand-in for model + decider

    def keep_and_raise(sample: Sample) -> None:
        keep(sample)
        if sample.seq % every == 0:
            edge.scoring.submit(uc, sample.address.asset, sample.seq, [])

    edge.ingest._keep = keep_and_raise  # noqa: SLF001 - where a complete window would go
    return edge


async def _pace(rate: int, seconds: float, send: Callable[[int], None]) -> int:
    """Call ``send(seq)`` ``rate`` times a second for ``seconds``; return how many."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    seq = 0
    total = int(rate * seconds)
    while seq < total:
        due = int((loop.time() - start) * rate) + 1
        while seq < min(due, total):
            send(seq)
            seq += 1
        await asyncio.sleep(0.001)
    return seq


def _sample_message(addresses: list[tuple[TagAddress, str]], seq: int) -> tuple[str, bytes]:
    address, unit = addresses[seq % len(addresses)]
    sample = Sample(address, 1.0 + (seq % 13) * 0.01, unit, Quality.GOOD,
                    to_ms(datetime.now(UTC)), seq, "bench")
    return address.topic, encode_sample(sample)


class Baseline(NamedTuple):
    """Raw gmqtt figures of one rate (ms): publish -> receive, and publish -> echo received."""

    received: list[float]
    echoed: list[float]
    sent: int
    echoes: int


class Listener:
    """A subscriber in its own process (an operator's panel; the baseline's echo responder).

    It notes ``time.monotonic()`` (system-wide, so comparable with this process's) and a key
    of each message, and with ``echo_every`` publishes an echo (QoS 1) of every such sample
    at once. Its own process: its receive time is not held up by the edge's work on this
    process's event loop (nor is the baseline's by the publisher).
    """

    def __init__(self, url: str, topic_filter: str, echo_every: int = 0,
                 echo_topic: str = "") -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - this script, our arguments
            [sys.executable, __file__, "--listen", url, topic_filter, str(echo_every),
             echo_topic], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    async def ready(self) -> None:
        """Wait until it has subscribed (it prints a line)."""
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), 20.0)
        if line.strip() != b"ready":
            raise RuntimeError(f"the listener did not start ({line!r})")

    def heard(self) -> list[list[Any]]:
        """Stop it; what it heard: ``[time, key...]`` per message, in arrival order."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.close()
        out = self.proc.stdout.read()
        self.proc.wait(20.0)
        heard: list[list[Any]] = json.loads(out)
        return heard


def _key(payload: bytes) -> list[Any]:
    """What the listener keeps of a message: a sample's seq, or an intervention's id, asset
    and outbox seq."""
    doc = json.loads(payload)
    if "id" in doc:
        return [str(doc["id"]), str(doc["where"]["asset"]), int(doc["seq"])]
    return [int(doc["seq"])]


async def listen_main(url: str, topic_filter: str, echo_every: str, echo_topic: str) -> None:
    """``--listen``: note what arrives (and echo) until stdin closes; print it as JSON."""
    _quiet()
    every = int(echo_every)
    heard: list[list[Any]] = []
    echo = MqttClient(url)

    def on_message(_topic: str, payload: bytes) -> None:
        at = time.monotonic()
        key = _key(payload)
        heard.append([at, *key])
        if every and len(key) == 1 and key[0] % every == 0:
            echo.publish(echo_topic, str(key[0]).encode(), qos=1)

    sub = MqttClient(url, on_message=on_message, subscriptions=[topic_filter], qos=1)
    await echo.connect()
    await sub.connect()
    await sub.subscribed()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    await sub.disconnect()
    await echo.disconnect()
    print(json.dumps(heard), flush=True)


async def baseline(url: str, rate: int, seconds: float, every: int, spec: PlantSpec
                   ) -> Baseline:
    """Raw gmqtt on the same broker: every sample's publish -> receive latency (listener
    process), and for every ``every``-th sample the round trip publish -> receive -> echo
    (QoS 1) -> echo received here."""
    addresses = _addresses(spec)
    sent: dict[int, float] = {}
    echoed: list[float] = []
    echo_topic = f"andon/_bench/echo/{os.getpid()}"

    def on_echo(_topic: str, payload: bytes) -> None:
        seq = int(payload)
        if seq in sent:
            echoed.append((time.monotonic() - sent[seq]) * 1000)

    listener = Listener(url, f"andon/v1/{spec.enterprise.id}/+/+/cooling-water/#", every,
                        echo_topic)
    pub = MqttClient(url, on_message=on_echo, subscriptions=[echo_topic], qos=1)
    await listener.ready()
    await pub.connect()
    await pub.subscribed()

    def send(seq: int) -> None:
        sent[seq] = time.monotonic()
        pub.publish(*_sample_message(addresses, seq))

    n = await _pace(rate, seconds, send)
    echoes = len([s for s in range(n) if s % every == 0])
    await _drain(lambda: len(echoed) >= echoes, 5.0)
    await asyncio.sleep(0.2)  # the last samples (not echoed) reach the listener
    got = [(at - sent[seq]) * 1000 for at, seq in await asyncio.to_thread(listener.heard)
           if seq in sent]
    await pub.disconnect()
    return Baseline(got, echoed, n, echoes)


async def _drain(done: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109
    """Poll ``done`` (conditions of several components, no single event) under a deadline."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:  # noqa: ASYNC110 - see docstring
        await asyncio.sleep(0.01)


class EdgeFigures(NamedTuple):
    """Per triggering sample (ms): decision (intervention on the UNS), acknowledged delivery."""

    decided: list[float]
    acknowledged: list[float]
    expected: int
    stored: int  # interventions the central store holds at the end


class CentralProcess:
    """The central ingest in its own process (SQLite store and sequencer), as ``andon serve
    --broker`` runs beside the edge: its store writes do not compete with the edge's loop."""

    def __init__(self, url: str, store: Path, sequencer: Path) -> None:
        self.store = store
        self.proc = subprocess.Popen(  # noqa: S603 - this script, our arguments
            [sys.executable, __file__, "--central", url, str(store), str(sequencer)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    async def ready(self) -> None:
        """Wait until it has subscribed (it prints a line)."""
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), 20.0)
        if line.strip() != b"ready":
            raise RuntimeError(f"the central ingest did not start ({line!r})")

    def halt(self) -> None:
        """Stop it (its stdin closes) and wait."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(20.0)

    def stored(self) -> int:
        """Bench interventions in its store."""
        store = open_store(f"sqlite:///{self.store}")
        try:
            return len([iv for iv in store.list_interventions(open_only=False, limit=1_000_000)
                        if iv.id.startswith("bench-")])
        finally:
            store.close()


def _quiet() -> None:
    """Log warnings and up only, on stderr (the edge logs each intervention at info)."""
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr),
                        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


async def central_main(url: str, store_path: str, sequencer_path: str) -> None:
    """``--central``: run the ingest until stdin closes."""
    _quiet()
    store = open_store(f"sqlite:///{store_path}")
    ingest = CentralIngest(store, SystemClock(), sequencer=Sequencer(sequencer_path))
    stop, connected = asyncio.Event(), asyncio.Event()
    task = asyncio.ensure_future(run_central(ingest, url, stop, enterprise="acme",
                                             connected=connected))
    await connected.wait()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    stop.set()
    await task
    ingest.sequencer.close()
    store.close()


class TimedOutbox(Outbox):
    """The outbox, noting when each acknowledgement has been applied (items deleted)."""

    def __init__(self, path: Path, **kwargs: int) -> None:
        super().__init__(path, **kwargs)
        self.acks: list[tuple[float, dict[str, int]]] = []

    def acknowledge(self, upto: dict[str, int]) -> int:
        n = super().acknowledge(upto)
        self.acks.append((time.monotonic(), dict(upto)))
        return n


async def edge_latency(url: str, rate: int, seconds: float, every: int, *, spec: PlantSpec,
                       tmp: Path) -> EdgeFigures:
    """Sample publish -> intervention on the UNS, and -> acknowledged by the central ingest."""
    store = open_store(f"sqlite:///{tmp / f'edge-{rate}.db'}")
    edge = bench_edge(spec, store, tmp / "models", every, _template(spec))
    listener = Listener(url, edge_intervention_filter("acme"))
    await listener.ready()
    central = CentralProcess(url, tmp / f"central-{rate}.db", tmp / f"sequencer-{rate}.db")
    await central.ready()
    stop = asyncio.Event()
    box = TimedOutbox(tmp / f"outbox-{rate}.db", capacity=1_000_000)
    task = asyncio.create_task(run_edge(edge, url, stop, edge_id=f"bench-{rate}", outbox=box,
                                        heartbeat_s=5.0, forward=True,
                                        scoring_stall_s=SCORING_STALL.default))
    await _drain(lambda: edge.stats.link.state is LinkState.ONLINE
                 and edge.intake is not None and edge.intake.ready.is_set(), 10.0)
    pub = MqttClient(url)
    await pub.connect()
    sent: dict[int, float] = {}
    addresses = _addresses(spec)

    def send(seq: int) -> None:
        sent[seq] = time.monotonic()
        pub.publish(*_sample_message(addresses, seq))

    n = await _pace(rate, seconds, send)
    expected = len([s for s in range(n) if s % every == 0])
    staged = getattr(box, "staged", lambda: 0)  # (an outbox before early publishing: none)
    await _drain(lambda: edge.stats.interventions >= expected and staged() == 0
                 and box.depth() == 0, 10.0)  # all acknowledged
    await asyncio.sleep(0.2)  # the listener has what the central ingest acknowledged
    decided: list[float] = []
    items: dict[tuple[str, int], int] = {}  # (outbox source, seq) -> triggering sample
    for at, iv_id, asset, item_seq in await asyncio.to_thread(listener.heard):
        seq = int(iv_id.split("-")[1])
        if seq in sent and (asset, item_seq) not in items:
            decided.append((at - sent[seq]) * 1000)
            items[asset, item_seq] = seq
    acknowledged = []
    for (source, item_seq), seq in items.items():
        done = next((at for at, upto in box.acks if upto.get(source, 0) > item_seq), None)
        if done is not None:
            acknowledged.append((done - sent[seq]) * 1000)
    stop.set()
    await task
    central.halt()
    await pub.disconnect()
    box.close()
    store.close()
    stored = central.stored()
    return EdgeFigures(decided, acknowledged, expected, stored)


async def replay(url: str, backlog: int, batch: int, tmp: Path
                 ) -> tuple[float, list[float], int]:
    """(replay items/s, live item latencies in ms during the replay, live items sent).

    Live items are sent once the link is ``replaying`` (items queued before the connection
    are backlog by definition).
    """
    box = Outbox(tmp / f"replay-{batch}.db", capacity=backlog * 2)
    identity = EdgeIdentity("bench-replay", "acme", heartbeat_s=5.0)
    topic = "andon/v1/acme/ghent/utilities/cooling-water/p-101/_andon/intervention/edge"
    doc = {"id": "x", "pad": "y" * 400}  # ~ an intervention document's size
    for n in range(backlog):
        box.append(INTERVENTION, f"old-{n}", "p-101", topic, {**doc, "id": f"old-{n}"})
    sent: dict[str, float] = {}
    live: list[float] = []

    def on_item(_topic: str, payload: bytes) -> None:
        intervention_id = str(json.loads(payload)["id"])
        if intervention_id in sent:
            live.append((time.perf_counter() - sent[intervention_id]) * 1000)

    sub = MqttClient(url, on_message=on_item, subscriptions=[edge_intervention_filter("acme")],
                     qos=1)
    await sub.connect()
    await sub.subscribed()
    uplink = Uplink(url, identity, box, clock=SystemClock(), backoff=ReconnectPolicy(0.1, 0.5),
                    replay_batch=batch)
    stop = asyncio.Event()
    start = time.perf_counter()
    task = asyncio.create_task(uplink.run(stop))
    count = 0

    async def live_items() -> None:
        nonlocal count
        await _drain(lambda: uplink.state is not LinkState.BUFFERING, 30.0)
        while uplink.state is not LinkState.ONLINE or count == 0:
            key = f"live-{count}"
            sent[key] = time.perf_counter()
            uplink.send(INTERVENTION, key, "p-102", topic, {**doc, "id": key})
            count += 1
            await asyncio.sleep(0.01)

    feeding = asyncio.create_task(live_items())
    await _drain(lambda: uplink.state is LinkState.ONLINE, 300.0)
    took = time.perf_counter() - start
    await feeding
    await _drain(lambda: len(live) >= count, 10.0)
    stop.set()
    await task
    await sub.disconnect()
    box.close()
    return backlog / took, live, count


async def _forget(url: str, edge_ids: list[str]) -> None:
    """Clear the retained state and heartbeat the benchmark's edges left on the broker."""
    client = MqttClient(url, auto_reconnect=False)
    await client.connect()
    for edge_id in edge_ids:
        for leaf in ("state", "heartbeat"):
            client.publish(f"andon/v1/acme/_andon/edge/{edge_id}/{leaf}", b"", qos=1,
                           retain=True)
    await client.subscribed()  # a round trip: the broker has them
    await client.disconnect()


def _row(name: str, rate: int, values: list[float], expected: int,
         against: list[float] | None = None) -> str:
    p99 = _pct(values, 0.99)
    diff = "" if against is None else f"{p99 - _pct(against, 0.99):+.2f}"
    return (f"| {name} | {rate:,} | {len(values):,}/{expected:,} | {_pct(values, 0.5):.2f} | "
            f"{p99:.2f} | {max(values, default=float('nan')):.2f} | {diff} |")


async def main() -> int:
    """Run every measurement and print Markdown tables; 1 when a run measured nothing."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each run")
    parser.add_argument("--ivs-per-s", type=int, default=50,
                        help="interventions raised per second (one per rate/this samples)")
    parser.add_argument("--backlog", type=int, default=20_000, help="replay backlog items")
    parser.add_argument("--rates", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--replay-batch", type=int, nargs="*", default=[20, 200],
                        help="backlog items per uplink turn (run_edge's replay_batch); "
                        "none: no replay")
    args = parser.parse_args()
    _quiet()
    spec = load_spec(SPEC)
    load = os.getloadavg()
    print(f"edge_latency on {platform.node()} ({os.cpu_count()} CPUs), Python "
          f"{sys.version.split()[0]}, broker {args.broker}, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"\n{args.seconds:g} s per run; {args.ivs_per_s} interventions/s\n")
    print("| path | samples/s | measured | p50 ms | p99 ms | max ms | p99 - baseline ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    empty: list[str] = []  # runs that measured nothing: the benchmark has failed
    with tempfile.TemporaryDirectory() as tmp:
        for rate in args.rates:
            every = max(1, rate // args.ivs_per_s)
            base = await baseline(args.broker, rate, args.seconds, every, spec)
            got = await edge_latency(args.broker, rate, args.seconds, every, spec=spec,
                                     tmp=Path(tmp))
            rows = [("gmqtt publish -> receive (baseline)", base.received, base.sent, None),
                    ("sample -> intervention on the UNS (decision)", got.decided,
                     got.expected, base.received),
                    ("gmqtt publish -> echo received (baseline)", base.echoed, base.echoes,
                     None),
                    ("sample -> central stored, edge acknowledged", got.acknowledged,
                     got.expected, base.echoed)]
            for name, values, expected, against in rows:
                print(_row(name, rate, values, expected, against), flush=True)
                if not values:
                    empty.append(f"{name} at {rate:,} samples/s (0 of {expected})")
            print(f"\n{rate:,} samples/s: central store holds {got.stored:,} of "
                  f"{got.expected:,} interventions raised\n", flush=True)
            if got.stored != got.expected:
                empty.append(f"central store at {rate:,} samples/s ({got.stored} of "
                             f"{got.expected} interventions)")
        print("\n| replay batch | backlog | items/s | live sent | live p50 ms | live p99 ms | "
              "live max ms |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for batch in args.replay_batch:
            items_s, live, count = await replay(args.broker, args.backlog, batch, Path(tmp))
            print(f"| {batch} | {args.backlog:,} | {items_s:,.0f} | {len(live)}/{count} | "
                  f"{_pct(live, 0.5):.1f} | {_pct(live, 0.99):.1f} | "
                  f"{max(live, default=float('nan')):.1f} |", flush=True)
            if not count:
                empty.append(f"replay batch {batch}")
    await _forget(args.broker, [f"bench-{rate}" for rate in args.rates] + ["bench-replay"])
    for what in empty:
        print(f"error: {what} measured nothing; the figures above are not a result",
              file=sys.stderr)
    return 1 if empty else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--listen"]:
        asyncio.run(listen_main(*sys.argv[2:6]))
        sys.exit(0)
    if sys.argv[1:2] == ["--central"]:
        asyncio.run(central_main(*sys.argv[2:5]))
        sys.exit(0)
    sys.exit(asyncio.run(main()))

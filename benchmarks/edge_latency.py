"""Edge latency (sample -> intervention) and replay rate after an outage, with a baseline.

Run from the repository root (Mosquitto at 127.0.0.1:1883 by default)::

    .venv/bin/python benchmarks/edge_latency.py
    .venv/bin/python benchmarks/edge_latency.py --broker mqtt://127.0.0.1:1883 --seconds 5

**Latency.** A publisher sends UNS samples of the demo plant's cooling-water line (all its
tags, source time = now) at 1k and 10k samples/s. The edge (``run_edge`` with recording and
forwarding on, as in a central deployment) takes every sample through decode, contracts,
windows and recording; for one sample in ``rate / --ivs-per-s`` it raises a
intervention (the model and decider are stood in for, so that a known sample triggers it)
which goes the real way out: envelope check, local store, guard, durable outbox (fsync),
QoS 1 publish, broker confirmation. A subscriber on the intervention topic stops the
clock. Latency = publish of the triggering sample -> the intervention received.
**Baseline**, same run, same broker, same rates: raw gmqtt publish -> receive of the
samples themselves.

**Replay.** An outbox holding ``--backlog`` items (as after an outage) is drained by the
uplink while live items keep coming at 100/s: replay rate = backlog / time until the link is
``online`` again, and the latency of the live items meanwhile (they must not starve).

Everything runs in one process (one event loop), as the edge does; on a shared machine read
ratios to the baseline, not absolutes. The load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
from andon.interventions.record import Intervention, InterventionState
from andon.namespace import encode_sample
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress, edge_intervention_filter
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
    """The edge, with an intervention raised for every ``every``-th sample it records."""
    edge = build_edge(spec, store, models, clock=SystemClock(), lines={"cooling-water"})
    keep = edge.ingest._keep  # noqa: SLF001 - the recorder's append: every recorded sample

    def keep_and_raise(sample: Sample) -> None:
        keep(sample)
        if sample.seq % every == 0:
            edge.emit(replace(template, id=f"bench-{sample.seq}"))

    edge.ingest._keep = keep_and_raise  # noqa: SLF001 - a stand-in for a model's decision
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


async def baseline(url: str, rate: int, seconds: float, spec: PlantSpec) -> list[float]:
    """Raw gmqtt publish -> receive latency (ms) of the same samples on the same broker."""
    addresses = _addresses(spec)
    sent: dict[int, float] = {}
    got: list[float] = []

    def on_message(_topic: str, payload: bytes) -> None:
        seq = json.loads(payload)["seq"]
        if seq in sent:
            got.append((time.perf_counter() - sent[seq]) * 1000)

    prefix = f"andon/v1/{spec.enterprise.id}/+/+/cooling-water/#"
    sub = MqttClient(url, on_message=on_message, subscriptions=[prefix])
    pub = MqttClient(url)
    await sub.connect()
    await sub.subscribed()
    await pub.connect()

    def send(seq: int) -> None:
        sent[seq] = time.perf_counter()
        pub.publish(*_sample_message(addresses, seq))

    n = await _pace(rate, seconds, send)
    await _drain(lambda: len(got) >= n, 5.0)
    await pub.disconnect()
    await sub.disconnect()
    return got


async def _drain(done: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109
    """Poll ``done`` (conditions of several components, no single event) under a deadline."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:  # noqa: ASYNC110 - see docstring
        await asyncio.sleep(0.01)


async def edge_latency(url: str, rate: int, seconds: float, every: int, *, spec: PlantSpec,
                       tmp: Path) -> tuple[list[float], int]:
    """Sample publish -> intervention received (ms), through a running edge."""
    addresses = _addresses(spec)
    store = open_store(f"sqlite:///{tmp / f'edge-{rate}.db'}")
    edge = bench_edge(spec, store, tmp / "models", every, _template(spec))
    sent: dict[int, float] = {}
    got: list[float] = []

    def on_iv(_topic: str, payload: bytes) -> None:
        intervention_id = str(json.loads(payload)["id"])
        seq = int(intervention_id.split("-")[1])
        if seq in sent:
            got.append((time.perf_counter() - sent[seq]) * 1000)

    sub = MqttClient(url, on_message=on_iv, subscriptions=[edge_intervention_filter("acme")],
                     qos=1)
    await sub.connect()
    await sub.subscribed()
    stop = asyncio.Event()
    box = Outbox(tmp / f"outbox-{rate}.db", capacity=1_000_000)
    task = asyncio.create_task(run_edge(edge, url, stop, edge_id=f"bench-{rate}", outbox=box,
                                        heartbeat_s=5.0, forward=True))
    await _drain(lambda: edge.stats.link.state is LinkState.ONLINE
                 and edge.intake is not None and edge.intake.ready.is_set(), 10.0)
    pub = MqttClient(url)
    await pub.connect()

    def send(seq: int) -> None:
        sent[seq] = time.perf_counter()
        pub.publish(*_sample_message(addresses, seq))

    n = await _pace(rate, seconds, send)
    expected = len([s for s in range(n) if s % every == 0])
    await _drain(lambda: len(got) >= expected, 10.0)
    stop.set()
    await task
    await pub.disconnect()
    await sub.disconnect()
    box.close()
    store.close()
    return got, expected


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


def _row(name: str, rate: int, values: list[float], expected: int) -> str:
    return (f"| {name} | {rate:,} | {len(values):,}/{expected:,} | {_pct(values, 0.5):.2f} | "
            f"{_pct(values, 0.99):.2f} | {max(values, default=float('nan')):.2f} |")


async def main() -> int:
    """Run every measurement and print Markdown tables; 1 when a run measured nothing."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each run")
    parser.add_argument("--ivs-per-s", type=int, default=10,
                        help="interventions raised per second (one per rate/this samples)")
    parser.add_argument("--backlog", type=int, default=20_000, help="replay backlog items")
    parser.add_argument("--rates", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--replay-batch", type=int, nargs="+", default=[20, 200],
                        help="backlog items per uplink turn (run_edge's replay_batch)")
    args = parser.parse_args()
    spec = load_spec(SPEC)
    load = os.getloadavg()
    print(f"edge_latency on {platform.node()} ({os.cpu_count()} CPUs), Python "
          f"{sys.version.split()[0]}, broker {args.broker}, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"\n{args.seconds:g} s per run; {args.ivs_per_s} interventions/s\n")
    print("| path | samples/s | measured | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    empty: list[str] = []  # runs that measured nothing: the benchmark has failed
    with tempfile.TemporaryDirectory() as tmp:
        for rate in args.rates:
            base = await baseline(args.broker, rate, args.seconds, spec)
            print(_row("gmqtt publish -> receive (baseline)", rate, base,
                       int(rate * args.seconds)), flush=True)
            if not base:
                empty.append(f"baseline at {rate:,} samples/s")
            every = max(1, rate // args.ivs_per_s)
            got, expected = await edge_latency(args.broker, rate, args.seconds, every,
                                               spec=spec, tmp=Path(tmp))
            print(_row("sample -> intervention (edge)", rate, got, expected), flush=True)
            if not got:
                empty.append(f"sample -> intervention at {rate:,} samples/s (0 of {expected})")
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
    sys.exit(asyncio.run(main()))

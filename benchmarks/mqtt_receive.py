"""Receive rate, loss and latency of MQTT subscribers: one broker, one message set, one run.

Run from the repository root::

    .venv/bin/python benchmarks/mqtt_receive.py                 # a private Mosquitto (below)
    .venv/bin/python benchmarks/mqtt_receive.py --broker mqtt://127.0.0.1:1883   # the system one
    .venv/bin/python benchmarks/mqtt_receive.py --embedded      # Andon's embedded amqtt broker

By default the script starts its own Mosquitto on a free loopback port with unbounded queues
(``max_queued_messages 0``): under a flood every subscriber then gets every message, and the
rates compare the same work. With a broker's default limits (the system Mosquitto), messages a
slow subscriber cannot take in time are dropped (the ``loss %`` column), so it processes fewer
and different messages than the raw client, plus the gaps the drops make.

The messages are what the demo plant's sources send, from the plant simulator: canonical UNS
samples for Ghent (~96-byte JSON payloads) and legacy raw names in raw units for Porto (its tag
map in reverse, ``andon.services.simulate.message_of``), QoS 0, generated once and published
unchanged to every subscriber. Each subscriber
runs in its own process; one publisher process (a raw socket sending pre-encoded MQTT PUBLISH
packets, so the load generator costs next to nothing) floods them, or paces them at ``--rate``.

Throughput table, in this order, all against the same broker and messages:

* ``gmqtt (raw)``: a bare gmqtt subscriber that only counts;
* ``paho (raw)``: a bare paho-mqtt subscriber that only counts (``pip install paho-mqtt``);
* ``andon edge``: the edge's MQTT intake (``andon.connectors.uns.UnsConnector``, which runs
  ``MqttClient(on_batch=...)``) handing ``Ingest.on_messages`` one socket read at a time
  (decode, window; ``record=False``), with ``run_edge``'s housekeeping loop;
* ``andon edge + sqlite``: the same with ``record=True`` and ``edge.write(*edge.take_pending())``
  on a worker thread every 0.5 s, as ``run_edge`` does.

``msg/s`` is received / (last receive - first publish); ``x gmqtt`` divides by the raw gmqtt
row of the same run. A measurement ends when all messages arrived, after ``--idle`` seconds
without one, or at ``--cap`` seconds. A short raw gmqtt run (not reported) warms the broker up
first. The machine's load average is printed: on a shared machine, read ratios, not absolutes.

The latency table publishes at fixed rates (one TCP send per message) and reports publish ->
callback (raw gmqtt) and publish -> ``Ingest.on_messages`` returned (andon edge).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import multiprocessing as mp
import os
import platform
import socket
import struct
import subprocess
import sys
import tempfile
import time
import warnings
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from andon.clock import SystemClock
from andon.connectors.broker import EmbeddedBroker
from andon.connectors.legacy import legacy_filter
from andon.connectors.mqtt import parse_broker_url
from andon.connectors.uns import UnsConnector
from andon.edge import build_edge
from andon.edge.runtime import Edge, housekeeping
from andon.namespace import line_filter
from andon.namespace.tagmap import site_maps
from andon.services.simulate import message_of
from andon.simulator import PlantSimulator
from andon.spec import load_spec
from andon.store import open_store
from andon.testing.mosquitto import MOSQUITTO, MosquittoProcess

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from multiprocessing.connection import Connection
    from multiprocessing.synchronize import Event as MpEvent

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "examples" / "demo-plant.yaml"
START = datetime(2026, 11, 1, tzinfo=UTC)
CTX = mp.get_context("fork")  # children inherit the pre-generated messages; parent has no threads
POLL_S = 0.005  # watcher poll period; bounds the last-receive time's error when messages are lost
CHUNK = 256 * 1024  # flood publisher: bytes per sendall
LATENCY_RATES = (1_000, 10_000)
#: the private broker's queue settings: Mosquitto's default (1,000 queued messages per client)
#: drops QoS 0 messages for a subscriber that falls behind a flood, so the two clients would
#: process different messages (and the slower one the gaps the drops make)
UNBOUNDED = "max_queued_messages 0\nmax_queued_bytes 0\n"
GMQTT, PAHO, EDGE, EDGE_SQL = "gmqtt (raw)", "paho (raw)", "andon edge", "andon edge + sqlite"
KINDS = (GMQTT, PAHO, EDGE, EDGE_SQL)


# -- the messages ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Messages:
    """Pre-generated UNS samples, as MQTT PUBLISH packets (QoS 0) and as payloads."""

    payloads: list[bytes]
    packets: list[bytes]
    filters: tuple[str, ...]  # what the edge subscribes to (one filter per line)

    def blob(self, n: int) -> bytes:
        return b"".join(self.packets[:n])


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _publish_packet(topic: str, payload: bytes) -> bytes:
    name = topic.encode()
    body = struct.pack("!H", len(name)) + name + payload
    return b"\x30" + _varint(len(body)) + body


def _connect_packet(client_id: str) -> bytes:
    cid = client_id.encode()
    # MQTT 3.1.1: protocol name, level 4, clean session, keepalive 60 s, client id
    body = b"\x00\x04MQTT\x04\x02" + struct.pack("!H", 60) + struct.pack("!H", len(cid)) + cid
    return b"\x10" + _varint(len(body)) + body


DISCONNECT = b"\xe0\x00"


def generate(n: int, seed: int) -> Messages:
    spec = load_spec(SPEC)
    sim = PlantSimulator(spec, seed=seed, start=START)
    payloads: list[bytes] = []
    packets: list[bytes] = []
    maps = site_maps(spec)  # porto publishes legacy raw names through its tag map
    while len(payloads) < n:
        for sample in sim.step()[: n - len(payloads)]:
            topic, payload = message_of(sample, maps)
            payloads.append(payload)
            packets.append(_publish_packet(topic, payload))
    if len(set(payloads)) != n:  # latency is matched by payload; (src, seq) makes them unique
        raise RuntimeError("generated payloads are not unique")
    ent = spec.enterprise.id
    filters = (*(line_filter(ent, s.id, a.id, ln.id) for s, a, ln in spec.lines()),
               *(legacy_filter(ent, site) for site in maps))
    return Messages(payloads, packets, filters)


# -- one measurement's configuration and results --------------------------------------------
@dataclass(frozen=True)
class Run:
    kind: str
    host: str
    port: int
    filters: tuple[str, ...]
    expected: int
    idle_s: float
    cap_s: float
    rate: float | None  # None: flood
    latency: bool = False
    workdir: str = ""
    backlog: bool = False  # flood first, then time the drain (see ``_hold``)


@dataclass
class SubResult:
    received: int
    t_last: float  # monotonic time of the last message (exact when all arrived)
    indices: array[int] = field(default_factory=lambda: array("q"))  # latency runs
    times: array[float] = field(default_factory=lambda: array("d"))
    notes: dict[str, float] = field(default_factory=dict)
    t_start: float | None = None  # backlog runs: when draining started


@dataclass
class PubResult:
    sent: int
    t_first: float
    t_end: float
    times: array[float] = field(default_factory=lambda: array("d"))  # latency runs


@dataclass
class Measurement:
    run: Run
    sent: int = 0
    received: int = 0
    seconds: float = 0.0
    pub_rate: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    notes: dict[str, float] = field(default_factory=dict)
    error: str = ""

    @property
    def rate(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0

    @property
    def loss(self) -> float:
        return 100.0 * (self.sent - self.received) / self.sent if self.sent else 0.0


# -- subscriber side ------------------------------------------------------------------------
class Counter:
    """Counts messages; in latency runs also keeps (receive time, payload)."""

    __slots__ = ("event", "expected", "finished", "n", "stamps", "t_done")

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.n = 0
        self.finished = False
        self.t_done = 0.0
        self.stamps: list[tuple[float, bytes]] = []
        self.event: asyncio.Event | None = None

    def hit(self, *_: object) -> None:
        self.n += 1
        if self.n == self.expected:
            self._done()

    def hits(self, n: int) -> None:
        """``n`` at once (a batch handler's count)."""
        self.n += n
        if self.n >= self.expected and not self.finished:
            self._done()

    def _done(self) -> None:
        self.t_done = time.monotonic()
        self.finished = True
        if self.event is not None:
            self.event.set()

    def stamp(self, payload: bytes) -> None:
        self.stamps.append((time.monotonic(), payload))
        self.hit()


@dataclass(frozen=True)
class Signals:
    go: MpEvent  # set by the publisher just before its first message
    stop: MpEvent  # set by the parent when the measurement is abandoned or over
    sent: MpEvent  # set by the flood publisher once every message is sent


def _hold(run: Run, signals: Signals) -> float | None:
    """Backlog runs: keep the subscriber from reading until everything is published (the
    broker queues it); return the time draining starts. None: not a backlog run."""
    if not run.backlog:
        return None
    if not signals.sent.wait(run.cap_s):  # blocks the event loop on purpose: nothing is read
        raise TimeoutError("the publisher did not finish within the cap")
    return time.monotonic()


class Watch:
    """Decides when a measurement is over: all arrived, idle too long, stopped, or hard cap."""

    def __init__(self, counter: Counter, signals: Signals, run: Run) -> None:
        self.counter = counter
        self.signals = signals
        self.idle_s = run.idle_s
        self.deadline = time.monotonic() + run.cap_s
        self.seen = 0
        self.t_last: float | None = None  # None until the publisher has started

    def over(self) -> bool:
        if self.counter.finished:
            self.t_last = self.counter.t_done
            return True
        now = time.monotonic()
        if now > self.deadline:
            return True
        if self.counter.n != self.seen:
            self.seen, self.t_last = self.counter.n, now
            return False
        if self.signals.stop.is_set():  # only looked at while no message comes in
            return True
        if self.t_last is None:
            if self.signals.go.is_set():
                self.t_last = now
            return False
        return now - self.t_last > self.idle_s

    async def wait(self) -> None:
        event = self.counter.event
        if event is None:
            raise RuntimeError("asyncio watch needs counter.event")
        while not self.over():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), POLL_S)


def _result(counter: Counter, watch: Watch, payloads: Sequence[bytes]) -> SubResult:
    result = SubResult(counter.n, watch.t_last or time.monotonic())
    if counter.stamps:
        index = {p: i for i, p in enumerate(payloads[: counter.expected])}
        for t, payload in counter.stamps:
            result.indices.append(index[payload])
            result.times.append(t)
    return result


async def _gmqtt_raw(run: Run, payloads: Sequence[bytes], conn: Connection,
                     signals: Signals) -> SubResult:
    from gmqtt import Client  # noqa: PLC0415 - imported where measured
    from gmqtt.mqtt.constants import MQTTv311  # noqa: PLC0415

    counter = Counter(run.expected)
    counter.event = asyncio.Event()
    subscribed = asyncio.Event()
    acks = 0

    def on_connect(client: Any, *_: object) -> None:
        for topic in run.filters:
            client.subscribe(topic, qos=0)

    def on_subscribe(*_: object) -> None:
        nonlocal acks
        acks += 1
        if acks == len(run.filters):
            subscribed.set()

    def on_stamp(_client: Any, _topic: str, payload: bytes, *_: object) -> None:
        counter.stamp(payload)

    client: Any = Client(f"bench-gmqtt-{os.getpid()}")
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_stamp if run.latency else counter.hit
    await client.connect(run.host, run.port, version=MQTTv311, keepalive=30)
    await asyncio.wait_for(subscribed.wait(), 10)
    conn.send(("ready", None))
    t_start = _hold(run, signals)
    watch = Watch(counter, signals, run)
    await watch.wait()
    await client.disconnect()
    result = _result(counter, watch, payloads)
    result.t_start = t_start
    return result


def _paho_raw(run: Run, payloads: Sequence[bytes], conn: Connection,
              signals: Signals) -> SubResult:
    import paho.mqtt.client as paho  # noqa: PLC0415 - benchmark-only dependency

    counter = Counter(run.expected)
    acks = 0

    def on_connect(client: paho.Client, *_: object) -> None:
        client.subscribe([(topic, 0) for topic in run.filters])

    def on_subscribe(*_: object) -> None:
        nonlocal acks
        acks += 1

    client_id = f"bench-paho-{os.getpid()}"
    try:  # paho-mqtt 2 wants the callback API version; 1.6 (pinned by pysparkplug) has none
        from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415
    except ImportError:
        client = paho.Client(client_id=client_id, protocol=paho.MQTTv311)
    else:  # the callbacks above take *_ so they fit both APIs
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=paho.MQTTv311)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = counter.hit
    client.connect(run.host, run.port, keepalive=30)
    deadline = time.monotonic() + 10
    while not acks and time.monotonic() < deadline:  # bounded: SUBACK or 10 s
        client.loop(0.05)
    if not acks:
        raise TimeoutError("paho: no SUBACK within 10 s")
    conn.send(("ready", None))
    t_start = _hold(run, signals)
    watch = Watch(counter, signals, run)
    while not watch.over():  # what loop_forever() does, with our stop test between packets
        client.loop(POLL_S)
    client.disconnect()
    result = _result(counter, watch, payloads)
    result.t_start = t_start
    return result


async def _edge_housekeeping(edge: Edge, stop: asyncio.Event) -> float:
    """``run_edge``'s loop (``housekeeping``: flush every 0.5 s, reload models every 2 s),
    then the last write; returns when that write is done."""
    try:
        await housekeeping(edge, stop)
    finally:
        await asyncio.to_thread(edge.write, *edge.take_pending())
    return time.monotonic()


class _TimedSink:
    """The edge as the intake's ``BatchSink``, its batches through the benchmark's ``feed``."""

    def __init__(self, edge: Edge, feed: Callable[[list[tuple[str, bytes]]], None]) -> None:
        self.on_messages = feed
        self.on_sample = edge.on_sample
        self.reject = edge.reject


async def _andon_edge(run: Run, payloads: Sequence[bytes], conn: Connection,
                      signals: Signals) -> SubResult:
    workdir = Path(run.workdir)
    (workdir / "models").mkdir(parents=True, exist_ok=True)
    store = open_store(f"sqlite:///{workdir / 'b.db'}")
    edge = build_edge(load_spec(SPEC), store, workdir / "models", clock=SystemClock(),
                record=run.kind == EDGE_SQL)
    counter = Counter(run.expected)
    counter.event = asyncio.Event()
    on_messages = edge.ingest.on_messages  # what run_edge hands the intake

    spent = [0]  # ns inside Ingest.on_messages: the path's own cost, amid the client's work
    clock_ns = time.perf_counter_ns

    def feed(messages: list[tuple[str, bytes]]) -> None:
        t = clock_ns()
        on_messages(messages)
        spent[0] += clock_ns() - t
        counter.hits(len(messages))

    def feed_stamped(messages: list[tuple[str, bytes]]) -> None:
        on_messages(messages)
        for _, payload in messages:
            counter.stamp(payload)

    # the edge's MQTT intake, as run_edge runs it: the connector hands each socket read to
    # the edge (a BatchSink); here through ``feed`` to time the path
    sink = _TimedSink(edge, feed_stamped if run.latency else feed)
    intake = UnsConnector(f"mqtt://{run.host}:{run.port}", edge.subscriptions(),
                          client_id=f"bench-edge-{os.getpid()}")
    stop = asyncio.Event()
    receiving = asyncio.create_task(intake.run(sink, stop))
    try:
        await asyncio.wait_for(intake.ready.wait(), 30)
        edge.reload_models()
        housekeeping = asyncio.create_task(_edge_housekeeping(edge, stop))
        conn.send(("ready", None))
        t_start = _hold(run, signals)
        watch = Watch(counter, signals, run)
        await watch.wait()
        stop.set()
        t_written = await housekeeping
        await receiving
        result = _result(counter, watch, payloads)
        result.t_start = t_start
        stats = edge.stats
        result.notes = {"windows closed": stats.windows, "rejected": stats.rejected,
                        "path us/msg": spent[0] / 1000 / max(1, counter.n)}
        if edge.record:
            result.notes |= {"recorded": stats.recorded, "t_written": t_written}
        return result
    finally:
        stop.set()
        store.close()


def _subscriber_main(run: Run, payloads: Sequence[bytes], conn: Connection,
                     signals: Signals) -> None:
    warnings.simplefilter("ignore", DeprecationWarning)  # gmqtt / amqtt internals

    def measure() -> SubResult:
        if run.kind == GMQTT:
            return asyncio.run(_gmqtt_raw(run, payloads, conn, signals))
        if run.kind == PAHO:
            return _paho_raw(run, payloads, conn, signals)
        return asyncio.run(_andon_edge(run, payloads, conn, signals))

    _reply(conn, measure)


def _reply(conn: Connection, produce: Callable[[], object]) -> None:
    """Send ``("result", produce())`` to the parent, or ``("error", ...)``; then close."""
    try:
        result = produce()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which prints it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    else:
        conn.send(("result", result))
    finally:
        conn.close()


# -- publisher side -------------------------------------------------------------------------
def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        data += chunk
    return data


def _publisher_main(run: Run, messages: Messages, signals: Signals,
                    conn: Connection) -> None:
    _reply(conn, lambda: _publish(run, messages, signals))


def _publish(run: Run, messages: Messages, signals: Signals) -> PubResult:
    n = run.expected
    with socket.create_connection((run.host, run.port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(_connect_packet(f"bench-pub-{os.getpid()}"))
        ack = _recv_exact(sock, 4)
        if ack[0] != 0x20 or ack[3] != 0:
            raise ConnectionError(f"CONNACK refused: {ack.hex()}")
        sock.settimeout(run.cap_s)
        deadline = time.monotonic() + run.cap_s
        if run.rate is None:
            view = memoryview(messages.blob(n))
            signals.go.set()
            t_first = time.monotonic()
            for offset in range(0, len(view), CHUNK):
                if signals.stop.is_set() or time.monotonic() > deadline:
                    raise TimeoutError("publisher stopped before sending everything")
                sock.sendall(view[offset:offset + CHUNK])
            result = PubResult(n, t_first, time.monotonic())
            signals.sent.set()
        else:
            result = _publish_paced(sock, messages.packets[:n], rate=run.rate,
                                    signals=signals, deadline=deadline)
        sock.sendall(DISCONNECT)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(5)
        with contextlib.suppress(OSError):  # wait (bounded) for the broker to close
            while sock.recv(4096):
                pass
    return result


def _publish_paced(sock: socket.socket, packets: Sequence[bytes], *, rate: float,
                   signals: Signals, deadline: float) -> PubResult:
    """Send packet i at t0 + i / rate, one send per packet; record each send time."""
    times = array("d")
    n, i = len(packets), 0
    signals.go.set()
    t0 = time.monotonic()
    while i < n:
        now = time.monotonic()
        if now > deadline:
            raise TimeoutError("paced publisher ran past the cap")
        due = min(n, int((now - t0) * rate) + 1)
        while i < due:
            times.append(time.monotonic())
            sock.sendall(packets[i])
            i += 1
        ahead = t0 + i / rate - time.monotonic()
        if i < n and ahead > 0 and signals.stop.wait(ahead):  # pacing timer; returns early on stop
            raise TimeoutError("paced publisher stopped")
    return PubResult(n, t0, time.monotonic(), times)


# -- orchestration --------------------------------------------------------------------------
def _receive(conn: Connection, timeout: float, what: str) -> Any:
    if not conn.poll(timeout):
        raise TimeoutError(f"{what}: nothing within {timeout:.0f} s")
    tag, value = conn.recv()
    if tag == "error":
        raise RuntimeError(f"{what}: {value}")
    return value


def _end(process: mp.process.BaseProcess) -> None:
    process.join(10)
    if process.is_alive():
        process.terminate()
        process.join(5)


def measure(run: Run, messages: Messages) -> Measurement:
    m = Measurement(run)
    signals = Signals(CTX.Event(), CTX.Event(), CTX.Event())
    sub_conn, sub_child = CTX.Pipe(duplex=False)
    pub_conn, pub_child = CTX.Pipe(duplex=False)
    sub = CTX.Process(target=_subscriber_main, args=(run, messages.payloads, sub_child, signals),
                      name=f"sub {run.kind}")
    pub = CTX.Process(target=_publisher_main, args=(run, messages, signals, pub_child),
                      name="publisher")
    sub.start()
    sub_child.close()
    try:
        _receive(sub_conn, 30, f"{run.kind} subscribe")
        pub.start()
        pub_child.close()
        published: PubResult = _receive(pub_conn, run.cap_s + 30, "publisher")
        got: SubResult = _receive(sub_conn, run.cap_s + run.idle_s + 30, run.kind)
    except (TimeoutError, RuntimeError, EOFError) as exc:
        m.error = str(exc)
        return m
    finally:
        signals.stop.set()
        for process in (pub, sub):
            if process.pid is not None:
                _end(process)
    m.sent, m.received, m.notes = published.sent, got.received, got.notes
    start = published.t_first if got.t_start is None else got.t_start
    m.seconds = max(got.t_last - start, 1e-9)
    m.pub_rate = published.sent / max(published.t_end - published.t_first, 1e-9)
    if published.times:
        m.latencies_ms = sorted(1000.0 * (t - published.times[i])
                                for i, t in zip(got.indices, got.times, strict=True))
    if "t_written" in m.notes:
        m.notes["written_s"] = m.notes.pop("t_written") - published.t_first
    return m


def _broker_main(conn: Connection, stop: MpEvent, cap_s: float) -> None:
    warnings.simplefilter("ignore", DeprecationWarning)  # amqtt internals
    logging.basicConfig(level=logging.ERROR)

    async def serve() -> None:
        async with EmbeddedBroker() as broker:
            conn.send(("result", broker.port))
            await asyncio.to_thread(stop.wait, cap_s)  # until the parent is done (bounded)

    try:
        asyncio.run(serve())
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which prints it
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


def _median(runs: list[Measurement]) -> Measurement:
    ok = sorted((m for m in runs if not m.error), key=lambda m: m.rate)
    return ok[(len(ok) - 1) // 2] if ok else runs[0]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def print_throughput(results: list[Measurement]) -> None:
    base = next((m.rate for m in results if m.run.kind == GMQTT and not m.error), 0.0)
    print("| client | received/sent | loss % | msg/s | x gmqtt | publisher msg/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for m in results:
        if m.error:
            print(f"| {m.run.kind} | failed: {m.error} | | | | |")
            continue
        ratio = f"{m.rate / base:.2f}" if base else "n/a"
        print(f"| {m.run.kind} | {m.received:,}/{m.sent:,} | {m.loss:.1f} | {m.rate:,.0f} "
              f"| {ratio} | {m.pub_rate:,.0f} |")
    for m in results:
        if m.notes:
            extra = ", ".join(_note(k, v) for k, v in m.notes.items())
            print(f"  {m.run.kind}: {extra}")


def _note(key: str, value: float) -> str:
    if key == "written_s":
        return f"all written {value:.2f} s after the first publish"
    if key == "path us/msg":  # Ingest.on_messages alone, timed inside the receiving process
        rate = 1e6 / value if value else 0.0  # not comparable with a client's receive rate
        return f"path alone (Ingest.on_messages) {value:.1f} us/msg = {rate:,.0f} samples/s"
    return f"{key} {value:,.0f}"


def print_latency(results: list[Measurement]) -> None:
    print("| client | publish rate msg/s | received/sent | p50 ms | p90 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for m in results:
        rate = f"{m.run.rate:,.0f}" if m.run.rate else "flood"
        if m.error:
            print(f"| {m.run.kind} | {rate} | failed: {m.error} | | | | |")
            continue
        lat = m.latencies_ms
        print(f"| {m.run.kind} | {rate} | {m.received:,}/{m.sent:,} "
              f"| {_percentile(lat, 50):.2f} | {_percentile(lat, 90):.2f} "
              f"| {_percentile(lat, 99):.2f} "
              f"| {lat[-1] if lat else float('nan'):.2f} |")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--broker", default=None,
                       help="an existing broker's URL, e.g. mqtt://127.0.0.1:1883 (default: a "
                            "private Mosquitto with unbounded queues, see the module doc)")
    where.add_argument("--embedded", action="store_true",
                       help="start Andon's embedded amqtt broker instead (default N 20,000)")
    p.add_argument("--messages", type=int, default=None,
                   help="messages per throughput run (default 200,000; 20,000 with --embedded)")
    p.add_argument("--rate", type=float, default=None,
                   help="throughput runs publish at this rate (msg/s) instead of flooding")
    p.add_argument("--latency-seconds", type=float, default=3.0,
                   help="length of each fixed-rate latency run (default 3 s)")
    p.add_argument("--clients", nargs="+", choices=["gmqtt", "paho", "edge", "edge-sqlite"],
                   default=["gmqtt", "paho", "edge", "edge-sqlite"])
    p.add_argument("--backlog", action="store_true",
                   help="throughput runs publish everything while the subscriber holds off "
                        "reading, then time how fast it drains the broker's queue (the "
                        "publisher does not compete for the CPU; private Mosquitto only)")
    p.add_argument("--no-latency", action="store_true", help="skip the latency table")
    p.add_argument("--idle", type=float, default=3.0,
                   help="end a measurement after this long without a message (s)")
    p.add_argument("--cap", type=float, default=60.0, help="hard cap per measurement (s)")
    p.add_argument("--repeat", type=int, default=1,
                   help="throughput rounds; the table shows each client's median round")
    p.add_argument("--warmup", type=int, default=2_000,
                   help="messages of an unreported raw gmqtt run first (0: none)")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    if args.messages is None:
        args.messages = 20_000 if args.embedded else 200_000
    if args.messages < 1 or args.repeat < 1 or (args.rate is not None and args.rate <= 0):
        p.error("--messages, --repeat and --rate must be positive")
    if args.backlog and (args.rate is not None or args.broker or args.embedded):
        p.error("--backlog needs the private Mosquitto (unbounded queues) and a flood: "
                "drop --rate, --broker and --embedded")
    return args


def _mode(args: argparse.Namespace) -> str:
    if args.backlog:
        return "backlog drain (all published first, then received)"
    return "flood" if args.rate is None else f"{args.rate:,.0f} msg/s"


def _mosquitto_version() -> str:
    try:
        out = subprocess.run([MOSQUITTO, "-h"], capture_output=True, text=True, timeout=10,  # noqa: S603
                             check=False).stdout
    except OSError as exc:
        raise SystemExit(f"cannot run {MOSQUITTO} ({exc}); install Mosquitto or pass --broker "
                         "URL") from None
    return out.splitlines()[0].strip() if out else "version unknown"


def _check_reachable(host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=3):
            pass
    except OSError as exc:
        raise SystemExit(f"cannot reach MQTT broker {host}:{port} ({exc})") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = {"gmqtt": GMQTT, "paho": PAHO, "edge": EDGE, "edge-sqlite": EDGE_SQL}
    kinds = [k for k in KINDS if k in {names[c] for c in args.clients}]
    if PAHO in kinds and _version("paho-mqtt") == "not installed":
        print("paho-mqtt is not installed (.venv/bin/pip install paho-mqtt): skipping it")
        kinds.remove(PAHO)

    broker_stop = CTX.Event()
    broker: mp.process.BaseProcess | None = None
    mosquitto: MosquittoProcess | None = None
    with tempfile.TemporaryDirectory(prefix="andon-bench-") as tmp:
        try:
            if args.embedded:
                conn, child = CTX.Pipe(duplex=False)
                broker = CTX.Process(target=_broker_main, args=(child, broker_stop, 900.0),
                                     name="embedded broker")
                broker.start()
                child.close()
                host, port = "127.0.0.1", _receive(conn, 30, "embedded broker")
                label = f"embedded amqtt {_version('amqtt')} at mqtt://{host}:{port}"
            elif args.broker:
                host, port = parse_broker_url(args.broker)
                _check_reachable(host, port)
                label = f"{args.broker}"
            else:
                mosquitto = MosquittoProcess(Path(tmp), options=UNBOUNDED)
                mosquitto.start()
                host, port = "127.0.0.1", mosquitto.port
                label = (f"private Mosquitto ({_mosquitto_version()}) at {mosquitto.url}, "
                         "unbounded queues: no message dropped for a slow subscriber")
            return _bench(args, kinds, host=host, port=port, label=label, tmp=Path(tmp))
        finally:
            broker_stop.set()
            if broker is not None:
                _end(broker)
            if mosquitto is not None:
                mosquitto.stop()


def _bench(args: argparse.Namespace, kinds: list[str], *, host: str, port: int, label: str,
           tmp: Path) -> int:
    t0 = time.monotonic()
    n_latency = [min(args.messages, int(r * args.latency_seconds)) for r in LATENCY_RATES]
    messages = generate(max([args.messages, *n_latency]), args.seed)
    mean = sum(map(len, messages.payloads)) / len(messages.payloads)
    print(f"broker: {label}")
    print(f"python {platform.python_version()}, gmqtt {_version('gmqtt')}, "
          f"paho-mqtt {_version('paho-mqtt')}, {os.cpu_count()} cpus, "
          f"load average {_load()} at start")
    mode = _mode(args)
    print(f"messages: {args.messages:,} demo-plant samples, mean payload {mean:.0f} B, QoS 0, "
          f"{mode} (generated in {time.monotonic() - t0:.1f} s)")

    def run(kind: str, n: int, rate: float | None, latency: bool) -> Measurement:
        workdir = tmp / f"{kind.replace(' ', '').replace('+', '-')}-{rate}-{latency}"
        r = Run(kind, host, port, messages.filters, n, args.idle, args.cap, rate, latency,
                str(workdir), backlog=args.backlog and not latency)
        m = measure(r, messages)
        status = m.error or f"{m.received:,}/{m.sent:,} in {m.seconds:.2f} s"
        how = f"{rate:,.0f}/s" if rate is not None else "backlog" if r.backlog else "flood"
        print(f"  {kind:<20} {how:>9}: {status}", file=sys.stderr)
        return m

    if args.warmup:
        print("\nwarm-up (not reported):", file=sys.stderr)
        run(GMQTT, min(args.warmup, len(messages.payloads)), args.rate, latency=False)
    print("throughput:", file=sys.stderr)
    rounds = [[run(kind, args.messages, args.rate, latency=False) for kind in kinds]
              for _ in range(args.repeat)]
    throughput = [_median(list(ms)) for ms in zip(*rounds, strict=True)]
    latency: list[Measurement] = []
    if not args.no_latency:
        print("latency:", file=sys.stderr)
        latency = [run(kind, n, float(rate), latency=True)
                   for rate, n in zip(LATENCY_RATES, n_latency, strict=True)
                   for kind in (GMQTT, EDGE) if kind in kinds]

    median = f", median of {args.repeat} rounds" if args.repeat > 1 else ""
    print(f"\n### Receive rate ({args.messages:,} messages, {mode}{median})\n")
    print_throughput(throughput)
    if latency:
        print("\n### Publish -> receive latency (fixed publish rate)\n")
        print_latency(latency)
    print(f"\ntotal {time.monotonic() - t0:.0f} s, load average {_load()} at end")
    return 1 if any(m.error for m in throughput + latency) else 0


if __name__ == "__main__":
    sys.exit(main())

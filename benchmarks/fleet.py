"""Fleet benchmark: many assets at 1 Hz through edges into the central store, sustained.

Run from the repository root (starts its own Mosquitto; PostgreSQL at 127.0.0.1:5432)::

    .venv/bin/python benchmarks/fleet.py                      # 1,000 assets x 20 tags, 10 min
    .venv/bin/python benchmarks/fleet.py --minutes 1 --assets 200   # a quick look

What runs, each as its own process, as in a plant: a private Mosquitto (unbounded queues), a
producer publishing ``--assets`` x ``--tags`` UNS samples once a second (each asset's tags
together, the assets spread over the second; source time = the scheduled time), ``--edges``
``andon edge --forward`` processes (the lines split between them; each records every sample
locally and forwards it through its outbox, deleted on the central ingest's acknowledgement)
and ``andon serve --broker`` (the central ingest) on a fresh PostgreSQL database.

**Baseline, same run, same broker and load**: first, for ``--baseline-s`` seconds, the producer
feeds one raw gmqtt subscriber that only counts and time-stamps what it receives: its CPU and
its publish -> receive lag. Then the fleet runs for ``--minutes``.

Reported: CPU of Andon's own processes (edges + central) as a share of the machine's cores
(target: under 50 % of 2 cores), producer and broker apart; peak memory (RSS) per process;
end-to-end lag (source time -> row stored centrally: the central store's ``ingest_ms`` minus
``ts_ms``, every row) as percentiles; counts: produced, recorded at the edges, stored
centrally, duplicates (rows beyond one per produced sample: the unique key makes them
impossible, so this counts keys the producer never made). Exits 1 when nothing was stored or a
count does not add up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from andon.testing.mosquitto import MosquittoProcess
from andon.testing.services import free_port

console = Console()
ROOT = Path(__file__).resolve().parents[1]
ENTERPRISE, SITE, AREA = "fleet", "plant", "area"
ASSETS_PER_LINE = 25
PG = "postgresql://postgres@127.0.0.1:5432"


# -- the plant ------------------------------------------------------------------------------

def line_of(i: int) -> str:
    return f"line-{i // ASSETS_PER_LINE:03d}"


def asset_of(i: int) -> str:
    return f"a-{i:04d}"


def write_spec(path: Path, assets: int, tags: int) -> list[str]:
    """A plant of ``assets`` pumps with ``tags`` temperature tags each; returns the line ids."""
    lines: dict[str, list[int]] = {}
    for i in range(assets):
        lines.setdefault(line_of(i), []).append(i)
    out = [
        "version: 1",
        f"enterprise: {{id: {ENTERPRISE}, name: Fleet benchmark}}",
        "roles:",
        "  - {id: operator, name: Operator, access: operator}",
        "  - {id: admin, name: Admin, access: admin}",
        "people:",
        "  - {id: op, name: Op, role: operator}",
        "  - {id: admin, name: Admin, role: admin}",
        "sites:",
        f"  - id: {SITE}",
        "    name: Plant",
        "    timezone: UTC",
        "    areas:",
        f"      - id: {AREA}",
        "        name: Area",
        "        lines:",
    ]
    for line, members in lines.items():
        out += [f"          - id: {line}", f"            name: {line}", "            assets:"]
        for i in members:
            out += [f"              - id: {asset_of(i)}", f"                name: {asset_of(i)}",
                    "                kind: pump", "                tags:"]
            out += [f"                  - {{name: t{t:02d}, quantity: temperature, unit: degC, "
                    "range: [-50, 500], period: 1s}" for t in range(tags)]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return list(lines)


# -- the producer (a process of its own) ------------------------------------------------------

async def produce(broker: str, assets: int, tags: int, hz: float, seconds: float,  # noqa: PLR0917
                  report: Path, qos: int) -> None:
    """Publish every asset's tags ``hz`` times a second for ``seconds``; write the counts."""
    from andon.connectors.mqtt import MqttClient  # noqa: PLC0415 - the child process only

    client = MqttClient(broker, f"fleet-producer-{os.getpid()}")
    await client.connect()
    await client.subscribed()
    topics = [[f"andon/v1/{ENTERPRISE}/{SITE}/{AREA}/{line_of(i)}/{asset_of(i)}/t{t:02d}"
               for t in range(tags)] for i in range(assets)]
    period_ms = 1000.0 / hz
    slots = 20  # the assets spread over 20 slots of each period
    seq = [0] * assets
    produced = 0
    start_ms = int(time.time() * 1000) + 500
    tick = 0
    end_ms = start_ms + seconds * 1000
    while True:
        due_ms = start_ms + tick * period_ms / slots
        if due_ms >= end_ms:
            break
        delay = due_ms / 1000 - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        ts = int(due_ms)
        for i in range(tick % slots, assets, slots):
            src, s = asset_of(i), seq[i]
            for t, topic in enumerate(topics[i]):
                value = 20.0 + ((s + t) % 50) * 0.5
                client.publish(topic, (f'{{"v":{value},"u":"degC","q":"good","ts":{ts},'
                                       f'"seq":{s},"src":"{src}"}}').encode(), qos=qos)
                produced += 1
            seq[i] = s + 1
        tick += 1
    await asyncio.sleep(1.0)  # let the client's socket drain before it closes
    await client.disconnect()
    report.write_text(json.dumps({"produced": produced, "sources": assets,  # noqa: ASYNC240
                                  "per_source": seq}), encoding="utf-8")


# -- the raw baseline subscriber (a process of its own) ----------------------------------------

async def raw_subscriber(broker: str, seconds: float, report: Path) -> None:
    """Count what a bare gmqtt subscriber receives, with publish -> receive lag."""
    from gmqtt import Client  # noqa: PLC0415 - the child process only

    lags: list[int] = []
    count = 0

    def on_message(_c: object, _topic: str, payload: bytes, *_: object) -> int:
        nonlocal count
        count += 1
        if count % 50 == 0:  # a sample of the lags: parsing every payload is not the baseline
            at = payload.find(b'"ts":')
            lags.append(int(time.time() * 1000) - int(payload[at + 5:payload.find(b",", at)]))
        return 0

    client = Client(f"fleet-raw-{os.getpid()}")
    client.on_message = on_message
    host, port = broker.removeprefix("mqtt://").split(":")
    await client.connect(host, int(port))
    client.subscribe(f"andon/v1/{ENTERPRISE}/#", qos=0)
    (report.parent / "raw.ready").write_text("1")
    await asyncio.sleep(seconds)
    await client.disconnect()
    report.write_text(json.dumps({"received": count, "lags": lags}),  # noqa: ASYNC240
                      encoding="utf-8")


# -- measuring processes -----------------------------------------------------------------------

@dataclass
class Watched:
    """A process whose CPU time and peak memory are followed."""

    name: str
    group: str  # andon | producer | broker | baseline
    proc: psutil.Process
    cpu0: float = 0.0
    cpu: float = 0.0  # CPU seconds since the mark
    peak_rss: int = 0
    alive: bool = True

    def mark(self) -> None:
        t = self.proc.cpu_times()
        self.cpu0, self.cpu = t.user + t.system, 0.0

    def poll(self) -> None:
        if not self.alive:
            return
        try:
            t = self.proc.cpu_times()
            self.cpu = t.user + t.system - self.cpu0
            self.peak_rss = max(self.peak_rss, self.proc.memory_info().rss)
        except psutil.NoSuchProcess:
            self.alive = False


@dataclass
class Fleet:
    workdir: Path
    watched: list[Watched] = field(default_factory=list)
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, name: str, group: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANDON_")}
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,  # noqa: S603
                                env={**env, "PYTHONUNBUFFERED": "1"}, cwd=self.workdir)
        self.children.append(proc)
        self.watched.append(Watched(name, group, psutil.Process(proc.pid)))
        return proc

    def andon(self) -> list[subprocess.Popen[bytes]]:
        """Andon's own processes (edges, central)."""
        ours = {w.proc.pid for w in self.watched if w.group == "andon"}
        return [p for p in self.children if p.pid in ours]

    def stop_all(self) -> None:
        for proc in reversed(self.children):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.children:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _cpu_share(watched: list[Watched], group: str, seconds: float) -> float:
    """CPU of a group's processes as a percentage of the machine (all cores)."""
    used = sum(w.cpu for w in watched if w.group == group)
    return 100.0 * used / seconds / (os.cpu_count() or 1)


def _pct(values: list[int], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))])


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    name = f"andon_fleet_{os.getpid()}"
    admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG}/{name}"
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _andon(*args: str) -> list[str]:
    return [sys.executable, "-m", "andon", *args]


def _me(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


# -- the run -------------------------------------------------------------------------------

def _wait_file(path: Path, procs: list[subprocess.Popen[bytes]], what: str, timeout: float,
               ) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        for p in procs:
            if p.poll() is not None:
                raise SystemExit(f"{what}: a process exited with {p.returncode} "
                                 f"(logs in {path.parent})")
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: nothing after {timeout:.0f} s (logs in {path.parent})")
        time.sleep(0.1)


def baseline(args: argparse.Namespace, fleet: Fleet, broker: str) -> dict[str, float]:
    report = fleet.workdir / "raw.json"
    sub = fleet.spawn("raw-subscriber", "baseline",
                      _me("--role", "raw", "--broker", broker,
                          "--seconds", str(args.baseline_s + 5), "--report", str(report)))
    _wait_file(fleet.workdir / "raw.ready", [sub], "raw subscriber", 30)
    produced_report = fleet.workdir / "produced-baseline.json"
    producer = fleet.spawn("producer-baseline", "producer-baseline",
                           _me("--role", "producer", "--broker", broker,
                               "--assets", str(args.assets), "--tags", str(args.tags),
                               "--hz", str(args.hz), "--seconds", str(args.baseline_s),
                               "--report", str(produced_report)))
    for w in fleet.watched:
        w.mark()
    started = time.monotonic()
    producer.wait()
    elapsed = time.monotonic() - started
    for w in fleet.watched:
        w.poll()
    _wait_file(report, [], "raw subscriber report", 60)
    raw = json.loads(report.read_text())
    produced = json.loads(produced_report.read_text())["produced"]
    cpu = _cpu_share(fleet.watched, "baseline", elapsed)
    fleet.watched = [w for w in fleet.watched if w.group not in {"baseline", "producer-baseline"}]
    return {"produced": produced, "received": raw["received"], "cpu": cpu,
            "lag_p50": _pct(raw["lags"], 0.5), "lag_p99": _pct(raw["lags"], 0.99),
            "lag_max": float(max(raw["lags"], default=0))}


def run(args: argparse.Namespace) -> int:  # noqa: PLR0915 - one run, read top to bottom
    workdir = Path(tempfile.mkdtemp(prefix="andon-fleet-"))
    fleet = Fleet(workdir)
    lines = write_spec(workdir / "fleet.yaml", args.assets, args.tags)
    (workdir / "models").mkdir()
    broker = MosquittoProcess(workdir, options="max_queued_messages 0\nmax_inflight_messages 0\n")
    broker.start()
    assert broker.pid is not None
    fleet.watched.append(Watched("mosquitto", "broker", psutil.Process(broker.pid)))
    load0 = os.getloadavg()
    console.print(f"python {platform.python_version()}, {os.cpu_count()} cpus, load average "
                  f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} at start; workdir {workdir}")
    console.print(f"fleet: {args.assets:,} assets x {args.tags} tags at {args.hz:g} Hz = "
                  f"{args.assets * args.tags * args.hz:,.0f} samples/s, {len(lines)} lines, "
                  f"{args.edges} edges, {args.minutes:g} min")
    try:
        with fresh_database() as db:
            base = baseline(args, fleet, broker.url)
            console.print(f"baseline (raw gmqtt subscriber, {args.baseline_s:g} s): received "
                          f"{base['received']:,}/{base['produced']:,}, CPU {base['cpu']:.1f} % "
                          f"of the machine, lag p50 {base['lag_p50']:.0f} ms p99 "
                          f"{base['lag_p99']:.0f} ms")
            central_port = free_port()
            fleet.spawn("central", "andon", _andon(
                "serve", "--spec", str(workdir / "fleet.yaml"), "--db", db, "--broker", broker.url,
                "--port", str(central_port), "--models-dir", str(workdir / "models"),
                "--no-mqtt-feedback"))
            share = [lines[i::args.edges] for i in range(args.edges)]
            for n, mine in enumerate(share):
                line_args = [a for ln in mine for a in ("--line", ln)]
                fleet.spawn(f"edge-{n}", "andon", _andon(
                    "edge", "--spec", str(workdir / "fleet.yaml"),
                    "--db", f"sqlite:///{workdir / f'edge-{n}.db'}",
                    "--models-dir", str(workdir / "models"), "--broker", broker.url,
                    "--edge-id", f"edge-{n}", "--forward", *line_args))
            _wait_central_and_edges(db, args.edges, fleet)
            produced_report = workdir / "produced.json"
            seconds = args.minutes * 60
            producer = fleet.spawn("producer", "producer", _me(
                "--role", "producer", "--broker", broker.url, "--assets", str(args.assets),
                "--tags", str(args.tags), "--hz", str(args.hz), "--seconds", str(seconds),
                "--report", str(produced_report), "--qos", str(args.qos)))
            for w in fleet.watched:
                w.mark()
            started = time.monotonic()
            engine = sa.create_engine(db)
            with Progress(TextColumn("{task.description}"), BarColumn(),
                          TimeRemainingColumn(), console=console) as bar:
                task = bar.add_task("fleet", total=seconds)
                while producer.poll() is None:
                    time.sleep(2.0)
                    for w in fleet.watched:
                        w.poll()
                    el = time.monotonic() - started
                    bar.update(task, completed=min(el, seconds), description=(
                        f"andon CPU {_cpu_share(fleet.watched, 'andon', el):4.1f} % | stored "
                        f"{_stored(engine):,}"))
            elapsed = time.monotonic() - started
            for w in fleet.watched:
                w.poll()
            if producer.returncode != 0:
                console.print(f"producer exited with {producer.returncode}; see {workdir}")
                return 1
            produced = json.loads(produced_report.read_text())
            cpu = {g: _cpu_share(fleet.watched, g, elapsed)
                   for g in ("andon", "producer", "broker")}
            drain_started = time.monotonic()
            deadline = drain_started + args.drain_s
            while _stored(engine) < produced["produced"] and time.monotonic() < deadline:
                time.sleep(1.0)
            drained_s = time.monotonic() - drain_started
            result = _figures(engine)
            engine.dispose()
            fleet.stop_all()
            recorded = sum(_edge_rows(workdir / f"edge-{n}.db") for n in range(args.edges))
            _print(base, cpu, fleet, produced, result, recorded, elapsed, drained_s)
            ok = (result["rows"] == produced["produced"] == recorded and result["rows"] > 0)
            return 0 if ok else 1
    finally:
        fleet.stop_all()
        broker.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _wait_central_and_edges(db: str, edges: int, fleet: Fleet) -> None:
    """Until the central schema exists and every edge has sent a heartbeat (60 s at most)."""
    engine = sa.create_engine(db)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            for p in fleet.andon():
                if p.poll() is not None:
                    raise SystemExit(f"a process exited with {p.returncode}; logs in "
                                     f"{fleet.workdir}")
            with contextlib.suppress(sa.exc.SQLAlchemyError), engine.connect() as c:
                seen = c.execute(sa.text(
                    "SELECT count(DISTINCT subject) FROM events "
                    "WHERE kind IN ('edge_state', 'edge_heartbeat')")).scalar_one()
                if seen >= edges:
                    return
            time.sleep(0.5)
    finally:
        engine.dispose()
    raise SystemExit(f"the edges' heartbeats did not reach the central store in 120 s; logs "
                     f"in {fleet.workdir}")


def _stored(engine: sa.Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(sa.text("SELECT count(*) FROM samples")).scalar_one())


def _figures(engine: sa.Engine) -> dict[str, float]:
    with engine.connect() as c:
        row = c.execute(sa.text(
            "SELECT count(*), count(DISTINCT (source, seq, tag)), "
            "percentile_disc(0.5) WITHIN GROUP (ORDER BY ingest_ms - ts_ms), "
            "percentile_disc(0.95) WITHIN GROUP (ORDER BY ingest_ms - ts_ms), "
            "percentile_disc(0.99) WITHIN GROUP (ORDER BY ingest_ms - ts_ms), "
            "max(ingest_ms - ts_ms) FROM samples")).one()
    return {"rows": row[0], "distinct": row[1], "lag_p50": row[2] or 0, "lag_p95": row[3] or 0,
            "lag_p99": row[4] or 0, "lag_max": row[5] or 0}


def _edge_rows(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as c:
        return int(c.execute("SELECT count(*) FROM samples").fetchone()[0])


def _print(base: dict[str, float], cpu: dict[str, float], fleet: Fleet,  # noqa: PLR0917
           produced: dict[str, int], result: dict[str, float], recorded: int, elapsed: float,
           drained_s: float) -> None:
    n = produced["produced"]
    console.print(f"\nran {elapsed:.0f} s; after the producer stopped, the central store had "
                  f"everything after {drained_s:.1f} s"
                  if result["rows"] == n else
                  f"\nran {elapsed:.0f} s; central store incomplete after {drained_s:.0f} s")
    console.print("\n| figure | value |\n|---|---:|")
    rows = [
        ("samples produced", f"{n:,}"),
        ("recorded at the edges", f"{recorded:,}"),
        ("stored centrally", f"{int(result['rows']):,}"),
        ("duplicates centrally", f"{int(result['rows'] - result['distinct']):,}"),
        ("rate (samples/s)", f"{n / elapsed:,.0f}"),
        ("Andon CPU (edges + central), % of the machine",
         f"{cpu['andon']:.1f} % ({cpu['andon'] * (os.cpu_count() or 1) / 100:.2f} cores)"),
        ("raw gmqtt subscriber CPU, % of the machine (baseline)", f"{base['cpu']:.1f} %"),
        ("Andon CPU / raw subscriber CPU", f"{cpu['andon'] / max(base['cpu'], 0.01):.1f}x"),
        ("producer CPU (apart)", f"{cpu['producer']:.1f} %"),
        ("broker CPU (apart)", f"{cpu['broker']:.1f} %"),
        ("lag source -> stored centrally p50 / p95 / p99 / max (ms)",
         (f"{result['lag_p50']:,.0f} / {result['lag_p95']:,.0f} / {result['lag_p99']:,.0f} / "
          f"{result['lag_max']:,.0f}")),
        ("baseline lag publish -> raw receive p50 / p99 (ms)",
         f"{base['lag_p50']:.0f} / {base['lag_p99']:.0f}"),
    ]
    for name, value in rows:
        console.print(f"| {name} | {value} |")
    console.print("\n| process | peak RSS (MB) | CPU s |\n|---|---:|---:|")
    for w in fleet.watched:
        console.print(f"| {w.name} | {w.peak_rss / 2**20:.0f} | {w.cpu:.1f} |")
    load = os.getloadavg()
    console.print(f"\nload average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--assets", type=int, default=1000)
    p.add_argument("--tags", type=int, default=20)
    p.add_argument("--hz", type=float, default=1.0)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--edges", type=int, default=4)
    p.add_argument("--qos", type=int, default=0, choices=(0, 1))
    p.add_argument("--baseline-s", type=float, default=30.0)
    p.add_argument("--drain-s", type=float, default=300.0)
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs, stores)")
    # the child roles
    p.add_argument("--role", choices=("fleet", "producer", "raw"), default="fleet")
    p.add_argument("--broker")
    p.add_argument("--seconds", type=float)
    p.add_argument("--report", type=Path)
    args = p.parse_args()
    if args.role == "producer":
        asyncio.run(produce(args.broker, args.assets, args.tags, args.hz, args.seconds,
                            args.report, args.qos))
        return 0
    if args.role == "raw":
        asyncio.run(raw_subscriber(args.broker, args.seconds, args.report))
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

"""``andon demo``: the whole loop on embedded defaults, supervised from one command.

1. Healthy warm-up: the simulator's first 48 simulated hours (every shift, the daily ambient
   cycle) go straight into the store, as a historian import would, and the reference models
   are trained on them. Streaming two days through the embedded broker would take minutes.
   Each model is then signed with a demo plant key (``<data>/keys/demo-plant.key``, its public
   key trusted in ``<data>/keys/trusted/``) and promoted to production, as an engineer would
   with ``andon registry register`` and ``promote``.
2. Live: the embedded broker, the edge, the inbox and the simulator start as child processes
   (so they use both cores); the simulator continues where the history ends, publishing onto
   the UNS, with the demo scenario's faults (bearing wear on P-101 first).
3. The supervisor watches the simulated clock on the UNS like any other client and reports
   interventions as they appear. Ctrl-C stops every child cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from andon.app import Actor, Context, PlantRef, add_user, replace_spec
from andon.audit import EventKind
from andon.clock import ManualClock, SystemClock, from_ms
from andon.connectors.broker import pick_port
from andon.connectors.mqtt import MqttClient
from andon.errors import ServiceError
from andon.interventions import Intervention
from andon.namespace import decode_sample, line_filter
from andon.settings import DEMO_SPEED, PORT, SEED, TABLE
from andon.simulator import PlantSimulator, Scenario
from andon.simulator.scenario import DEMO_HISTORY_S, DEMO_WEAR_FAILURE_S
from andon.spec.model import PlantSpec
from andon.store import SqlStore, open_store
from andon.store.base import Event
from andon.text import redact_url

__all__ = ["DemoConfig", "DemoOutcome", "run_demo"]

#: healthy history (simulated) backfilled and trained on before the live stream starts
WARMUP = timedelta(seconds=DEMO_HISTORY_S)
#: environment variables of the settings (andon.settings), not passed to the children
_SETTING_VARS = frozenset(s.env for s in TABLE)


@dataclass
class DemoConfig:
    """Everything the demo needs to know."""

    spec_path: Path
    data_dir: Path
    speed: float = DEMO_SPEED.default
    seed: int = SEED.default
    http_port: int = PORT.default
    broker: str | None = None  # external broker URL; None = embedded
    timeout_s: float | None = None  # stop after this many wall seconds
    exit_on_intervention: bool = False
    live_start: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(minute=0, second=0, microsecond=0),
    )


@dataclass
class DemoOutcome:
    """What the demo saw, for scripts and tests."""

    broker_url: str
    inbox_url: str
    login: tuple[str, str]
    trained: list[str] = field(default_factory=list)
    interventions: list[Intervention] = field(default_factory=list)
    escalations: list[str] = field(default_factory=list)  # reasons, oldest first
    sim_time: datetime | None = None


Say = Callable[[str], None]
Progress = Callable[[float], None]  # fraction done, 0..1


def _spawn(name: str, args: list[str], logs: Path) -> subprocess.Popen[bytes]:
    log = (logs / f"{name}.log").open("ab")
    # the demo sets its children's settings by flags: ANDON_* settings of this shell stay out,
    # but for how to reach a secured broker (TLS files, login), which every child needs
    env = {**{k: v for k, v in os.environ.items()
              if k not in _SETTING_VARS or k.startswith("ANDON_MQTT_")},
           "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", "andon", *args], stdout=log, stderr=subprocess.STDOUT, env=env,
        start_new_session=True,  # Ctrl-C goes to the supervisor, which stops children in order
    )


def _stop(procs: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    """Stop children in reverse start order, each before the next (the broker last)."""
    for _name, p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


async def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    for _ in range(300):  # bounded: 30 s
        if proc.poll() is not None:
            raise ServiceError(f"{what} exited with code {proc.returncode}; see {log}")
        try:
            _r, w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        w.close()
        with contextlib.suppress(OSError):
            await w.wait_closed()
        return
    raise ServiceError(f"{what} did not open port {port} within 30 s; see {log}")


def prepare(config: DemoConfig, spec: PlantSpec) -> tuple[SqlStore, tuple[str, str]]:
    """Fresh data dir, store with the spec and one login per person of the spec."""
    if config.data_dir.exists():
        shutil.rmtree(config.data_dir)
    (config.data_dir / "logs").mkdir(parents=True)
    (config.data_dir / "models").mkdir()
    store = open_store(f"sqlite:///{config.data_dir / 'andon.db'}")
    ctx = Context(store, SystemClock(), PlantRef(spec))
    demo = Actor.system("demo")
    replace_spec(ctx, demo, config.spec_path.read_text(encoding="utf-8"), config.spec_path.name)
    password = "demo-" + secrets.token_hex(6)  # 17 characters: passes the password policy
    for person in spec.people:
        add_user(ctx, demo, person.id, person.role, password, display_name=person.name)
    store.add_event(Event(EventKind.DEMO_STARTED, "demo", f"seed {config.seed}",
                          ctx.clock.now()))
    owner = next((p.id for p in spec.people
                  if spec.use_cases and p.role == spec.use_cases[0].owner_role), spec.people[0].id)
    return store, (owner, password)


def warm_up(config: DemoConfig, spec: PlantSpec, store: SqlStore, say: Say,
            progress: Progress | None = None) -> list[str]:
    """Write the plant's recorded past; the models trained, signed and promoted in it.

    1. A healthy stretch before the two weeks of history (``demo_history.HISTORY``) is
       backfilled; every use case's model is trained on it, signed and promoted, dated the
       start of the history.
    2. A challenger of ``pump-bearing`` (trained on the stretch's last day) is registered and
       rolled out in shadow on the cooling-water line.
    3. The history's fault episodes run through the live edge (``demo_history``), with the
       planner's outcomes and the CMMS's work orders: the track record's material.
    4. The healthy hours just before the live stream are backfilled (the live simulation
       continues from them).

    Returns the production model labels.
    """
    from andon.app import promote_model, register_model  # noqa: PLC0415
    from andon.app.rollout import start_rollout  # noqa: PLC0415
    from andon.registry import generate_keypair  # noqa: PLC0415
    from andon.services.demo_history import (  # noqa: PLC0415
        CHALLENGED,
        FIRST_SEQ,
        PILOT_LINE,
        history_start,
        replay_history,
    )
    from andon.services.history import backfill  # noqa: PLC0415
    from andon.services.training import train_use_case  # noqa: PLC0415

    history = history_start(config.live_start)
    before = history - WARMUP
    steps = 2 * WARMUP.total_seconds()

    def tick(begin: datetime, done_s: float) -> Callable[[datetime], None] | None:
        if progress is None:
            return None
        return lambda now: progress((done_s + (now - begin).total_seconds()) / steps)

    clock = ManualClock(history)
    sim = PlantSimulator(spec, seed=config.seed, start=before, scenario=Scenario(),
                         first_seq=FIRST_SEQ)
    n = backfill(sim, store, history, clock=clock, progress=tick(before, 0.0))
    say(f"Warm-up         {n} healthy samples, {before:%a %d %b %H:%M} to "
        f"{history:%a %d %b %H:%M} UTC (before the plant's two weeks of history)")
    models = config.data_dir / "models"
    key, pub, key_id = generate_keypair(config.data_dir / "keys", "demo-plant")
    trusted = trusted_keys_dir(config)
    trusted.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pub, trusted / pub.name)
    ctx = Context(store, clock, PlantRef(spec), models_dir=models, trusted_keys=trusted)
    engineer = Actor.system("demo")  # as an engineer would, with 'andon registry ...'
    labels = []
    for uc in spec.use_cases:
        meta = train_use_case(spec, store, models, uc.id, start=before, end=history,
                              clock=clock)
        register_model(ctx, engineer, meta.name, meta.version, key=key, models_dir=models)
        promote_model(ctx, engineer, meta.name, meta.version,
                      "demo warm-up: trained on the healthy history")
        labels.append(meta.label)
        say(f"Trained         {meta.label} on {meta.train_windows} healthy windows of "
            f"{len(meta.train_assets)} {uc.asset_kind}s (threshold {meta.threshold:.3g}); "
            f"signed with key {key_id}, promoted to production")
    if any(uc.id == CHALLENGED for uc in spec.use_cases) and any(
            ln.id == PILOT_LINE for _s, _a, ln in spec.lines()):
        clock.set(history + timedelta(hours=1))
        meta = train_use_case(spec, store, models, CHALLENGED,
                              start=history - timedelta(days=1), end=history, clock=clock)
        register_model(ctx, engineer, meta.name, meta.version, key=key, models_dir=models)
        start_rollout(ctx, engineer, CHALLENGED, meta.version, pilot=PILOT_LINE,
                      reason="challenger trained on the last healthy day; shadow beside "
                      "production before anyone sees it")
        say(f"Challenger      {meta.label} (threshold {meta.threshold:.3g}) in shadow beside "
            f"production on {PILOT_LINE}: it scores the same stream, nobody sees its output")
        replay_history(spec, store, models, trusted, start=history, seed=config.seed,
                       actor=engineer, say=say)
    from andon.services.demo_production import write_production_history  # noqa: PLC0415

    n = write_production_history(spec, store, live=history, warm_up=WARMUP,
                                 end=config.live_start - WARMUP, seed=config.seed)
    say(f"Production      {n} samples of line states and counters before and after the "
        "models went live (andon report kpi, or /kpi in the inbox)")
    sim = PlantSimulator(spec, seed=config.seed, start=config.live_start - WARMUP,
                         scenario=Scenario.demo())
    n = backfill(sim, store, config.live_start, clock=SystemClock(),
                 progress=tick(config.live_start - WARMUP, WARMUP.total_seconds()))
    say(f"Warm-up         {n} healthy samples, {config.live_start - WARMUP:%a %d %b %H:%M} "
        f"to {config.live_start:%a %d %b %H:%M} UTC, backfilled into the store")
    say("Track record    andon report track-record --db "
        f"sqlite:///{config.data_dir / 'andon.db'}  (or /track-record in the inbox)")
    return labels


def trusted_keys_dir(config: DemoConfig) -> Path:
    """The demo plant's trusted public keys: ``<data>/keys/trusted``."""
    return config.data_dir / "keys" / "trusted"


def _announce(store: SqlStore, spec: PlantSpec, seen: set[str], outcome: DemoOutcome, *,
              say: Say, failure: datetime) -> None:
    """Say each new intervention and escalation once (``seen`` remembers what was said)."""
    for iv in store.list_interventions(open_only=False):
        if iv.id not in seen:
            seen.add(iv.id)
            outcome.interventions.append(iv)
            lead = (failure - iv.detected_at).total_seconds() / 3600
            say(f"[bold red]Intervention[/] {iv.asset_name}: {iv.action} "
                f"- owner {iv.owner_role}; priority {iv.priority.value}; raised at "
                f"sim time {iv.detected_at:%a %H:%M} UTC, {lead:.0f} h before the "
                "failure")
            limit = spec.interventions.ack_limits[iv.priority.value]
            say(f"                open it at [bold]{outcome.inbox_url}[/] and acknowledge it "
                f"within {limit:g} s (wall clock), or it escalates")
    for ev in reversed(store.events(kind="escalated", limit=50)):
        key = f"{ev.subject}@{ev.at.isoformat()}"
        if key not in seen:
            seen.add(key)
            outcome.escalations.append(ev.detail)
            say(f"[bold yellow]Escalated[/]      {ev.subject}: {ev.detail}")


async def run_demo(config: DemoConfig, spec: PlantSpec, say: Say,  # noqa: PLR0915 - a linear script of steps
                   progress: Progress | None = None) -> DemoOutcome:
    """Run the demo until Ctrl-C, the timeout, or (optionally) the first intervention."""
    store, login = prepare(config, spec)
    trained = await asyncio.to_thread(warm_up, config, spec, store, say, progress)
    logs = config.data_dir / "logs"
    db_url = f"sqlite:///{config.data_dir / 'andon.db'}"
    spec_arg = ["--spec", str(config.spec_path)]
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        if config.broker is None:
            port = pick_port()
            broker_url = f"mqtt://127.0.0.1:{port}"
            p = _spawn("broker", ["broker", "--port", str(port)], logs)
            procs.append(("broker", p))
            await _wait_port(port, p, "embedded broker", logs / "broker.log")
        else:
            broker_url = config.broker
        http_port = pick_port(config.http_port)
        inbox_url = f"http://127.0.0.1:{http_port}/inbox"
        outcome = DemoOutcome(broker_url, inbox_url, login, trained=trained)
        say(f"UNS broker      [bold]{redact_url(broker_url)}[/]  (watch: mosquitto_sub -p "
            f"{broker_url.rsplit(':', 1)[1]} -t 'andon/#' -v)")
        procs.append(("edge", _spawn("edge", ["edge", *spec_arg, "--db", db_url, "--models-dir",
                                              str(config.data_dir / "models"),
                                              "--trusted-keys", str(trusted_keys_dir(config)),
                                              "--broker", broker_url], logs)))
        serve = _spawn("serve", ["serve", *spec_arg, "--db", db_url, "--port", str(http_port)],
                       logs)
        procs.append(("serve", serve))
        await _wait_port(http_port, serve, "inbox", logs / "serve.log")
        say(f"Inbox           [bold]{inbox_url}[/]")
        say(f"Demo login      user [bold]{login[0]}[/]  password [bold]{login[1]}[/]  "
            f"(every person in the spec has this password)")
        say(f"Logs and data   {config.data_dir}")

        # Watch the simulated clock like any UNS client would.
        sim_ms = 0

        def on_message(topic: str, payload: bytes) -> None:
            nonlocal sim_ms
            with contextlib.suppress(Exception):
                sim_ms = max(sim_ms, decode_sample(topic, payload).ts_ms)

        first = spec.lines()[0]
        watcher = MqttClient(broker_url, "andon-demo-watch", on_message=on_message,
                             subscriptions=[line_filter(spec.enterprise.id, first[0].id,
                                                        first[1].id, first[2].id)])
        await watcher.connect()
        await watcher.subscribed()
        history_start = config.live_start - WARMUP
        failure = history_start + timedelta(seconds=DEMO_WEAR_FAILURE_S)
        procs.append(("simulator", _spawn("simulator", [
            "simulate", *spec_arg, "--broker", broker_url, "--speed", str(config.speed),
            "--seed", str(config.seed), "--start", history_start.isoformat(),
            "--publish-from", config.live_start.isoformat(), "--scenario", "demo",
        ], logs)))
        say(f"Live            simulating from {config.live_start:%a %d %b %H:%M} UTC at "
            f"{config.speed:g}x; P-101's bearing is set to fail at {failure:%a %d %b %H:%M} UTC "
            f"(~{(failure - config.live_start).total_seconds() / config.speed:.0f} s from now)")
        loop = asyncio.get_running_loop()
        began = loop.time()
        seen = {iv.id for iv in store.list_interventions(open_only=False, limit=100_000)}
        while True:
            await asyncio.sleep(1.0)  # supervisor tick: polls children and the store
            for name, p in procs:
                if p.poll() is not None:
                    raise ServiceError(f"{name} exited with code {p.returncode}; "
                                       f"see {logs / (name + '.log')}")
            outcome.sim_time = from_ms(sim_ms) if sim_ms else None
            _announce(store, spec, seen, outcome, say=say, failure=failure)
            if config.exit_on_intervention and outcome.interventions:
                break
            if config.timeout_s is not None and loop.time() - began > config.timeout_s:
                say("Timeout reached; stopping.")
                break
        await watcher.disconnect()
        return outcome
    finally:
        _stop(procs)
        store.close()

"""The edge pulls production models from the central API into its cache, verified before use.

A real central app (uvicorn on a free loopback port) over a real registry: a version signed
with the plant's key is pulled, verified and recorded in the cache manifest; a version signed
with a foreign key is refused with a one-line reason and a ``model_refused`` event while the
manifest keeps the good one; with the central service down, a new edge (empty local store)
starts from the cache, and so does a real ``andon edge --central`` process (its heartbeat,
through our own Mosquitto and the central ingest, shows the cached model serving).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from andon.api import create_app
from andon.audit import Event
from andon.clock import ManualClock
from andon.edge import build_edge
from andon.edge.pull import MANIFEST, PullResult, cached_version, pull_models, read_manifest
from andon.registry import Registry, generate_keypair
from andon.spec import PlantSpec
from andon.store import SqlStore, open_store
from andon.testing import MosquittoProcess, eventually, free_port, until
from andon.testing.factories import T0, add_token, add_user, save_version, small_model
from andon.testing.mosquitto import need_mosquitto_binary
from edge.faults import CentralSide

STARTUP_TIMEOUT_S = 10.0
SPEC = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"


class Central:
    """The central API served on loopback, with a registry and a viewer token for the edge."""

    def __init__(self, tmp: Path, spec: PlantSpec) -> None:
        self.store = open_store(f"sqlite:///{tmp / 'central.db'}")
        self.models = tmp / "central-models"
        self.clock = ManualClock(T0)
        # the central side trusts whatever key it publishes with (an edge decides for itself)
        self.trusted = tmp / "central-trusted"
        self.trusted.mkdir()
        self.registry = Registry(self.store, self.clock, self.models, trusted_keys=self.trusted)
        add_user(self.store, "edge-svc", access="viewer")
        self.token = add_token(self.store, "edge-svc", None)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(self.store, spec, clock=self.clock, models_dir=self.models)
        self.server = uvicorn.Server(uvicorn.Config(
            app, host="127.0.0.1", port=self.port, lifespan="off", ws="none", http="h11",
            log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, name="central", daemon=True)

    def start(self) -> None:
        self.thread.start()

        def serving() -> bool:
            assert self.thread.is_alive(), "uvicorn stopped before it started serving"
            return bool(self.server.started)

        eventually(serving, "uvicorn to start serving", STARTUP_TIMEOUT_S, every_s=0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=STARTUP_TIMEOUT_S)
        assert not self.thread.is_alive()

    def publish(self, key: Path) -> int:
        """Save, sign with ``key`` and promote the next version; its number."""
        vdir = save_version(small_model(), self.models)
        public = key.with_suffix(".pub")
        (self.trusted / public.name).write_bytes(public.read_bytes())
        self.registry.register(vdir, key, "ana")
        version = int(vdir.name[1:])
        self.registry.promote("pump-bearing", version, "ana", "better recall")
        return version


@pytest.fixture
def central(tmp_path: Path, demo_spec: PlantSpec) -> Iterator[Central]:
    c = Central(tmp_path, demo_spec)
    c.start()
    yield c
    if c.thread.is_alive():
        c.stop()
    c.store.close()


@pytest.fixture
def plant_keys(tmp_path: Path) -> tuple[Path, Path]:
    """(private key, trusted-keys directory of the edge)."""
    private, public, _ = generate_keypair(tmp_path / "keys", "plant")
    trusted = tmp_path / "edge-trusted"
    trusted.mkdir()
    (trusted / public.name).write_bytes(public.read_bytes())
    return private, trusted


def test_artifact_and_production_routes(central: Central, plant_keys: tuple[Path, Path]
                                        ) -> None:
    version = central.publish(plant_keys[0])
    auth = {"Authorization": f"Bearer {central.token}"}
    with httpx.Client(base_url=central.url) as http:
        assert http.get("/api/models/production").status_code == 401
        listing = http.get("/api/models/production", headers=auth).json()
        assert [(r["name"], r["version"]) for r in listing] == [("pump-bearing", version)]
        zipped = http.get(f"/api/models/pump-bearing/{version}/artifact", headers=auth)
        assert zipped.status_code == 200
        assert zipped.headers["content-type"] == "application/zip"
        assert zipped.content[:2] == b"PK"
        assert http.get("/api/models/pump-bearing/99/artifact", headers=auth).status_code == 404


def test_pull_verifies_refuses_and_serves_from_the_cache(
        central: Central, plant_keys: tuple[Path, Path], tmp_path: Path,
        demo_spec: PlantSpec) -> None:
    private, trusted = plant_keys
    cache = tmp_path / "edge-models"
    events: list[Event] = []

    def pull() -> PullResult:
        return pull_models(central.url, central.token, ["pump-bearing"], cache, trusted,
                           now=T0, record=events.append, timeout_s=5.0)

    good = central.publish(private)
    first = pull()
    assert first.pulled == [f"pump-bearing v{good}"]
    assert cached_version(cache, "pump-bearing") == good
    assert (cache / "pump-bearing" / f"v{good}" / "signature.json").is_file()
    assert pull().pulled == []  # already cached

    foreign, _, _ = generate_keypair(tmp_path / "other-keys", "intruder")
    bad = central.publish(foreign)  # production now, but signed by a key the plant distrusts
    refused = pull()
    assert refused.pulled == []
    [(label, reason)] = refused.refused
    assert label == f"pump-bearing v{bad}"
    assert "untrusted key" in reason
    assert "\n" not in reason
    assert [e.kind for e in events] == ["model_refused"]
    assert cached_version(cache, "pump-bearing") == good, "the last known good stays"
    assert not (cache / "pump-bearing" / f"v{bad}").exists(), "never enters the cache"

    central.stop()
    manifest = read_manifest(cache)
    offline = pull()
    assert offline.offline is not None
    assert "cannot reach" in offline.offline
    assert read_manifest(cache) == manifest
    assert (cache / MANIFEST).is_file()

    # a fresh edge with its own empty store (no registry records) starts from the cache
    local: SqlStore = open_store(f"sqlite:///{tmp_path / 'edge.db'}")
    try:
        edge = build_edge(demo_spec, local, cache, clock=ManualClock(T0), trusted_keys=trusted,
                    lines={"cooling-water"})
        assert edge.reload_models() == [f"pump-bearing v{good}"]
        assert edge.stats.models == {"pump-bearing": f"pump-bearing v{good}"}
    finally:
        local.close()


@pytest.mark.mosquitto
def test_andon_edge_starts_from_the_cache_when_the_central_service_is_down(
        central: Central, plant_keys: tuple[Path, Path], tmp_path: Path) -> None:
    """A real ``andon edge --central URL`` process, central down: its heartbeat shows the
    cached model serving."""
    need_mosquitto_binary()
    private, trusted = plant_keys
    cache = tmp_path / "edge-models"
    good = central.publish(private)
    assert pull_models(central.url, central.token, ["pump-bearing"], cache, trusted,
                       now=T0).pulled == [f"pump-bearing v{good}"]
    central.stop()
    token = tmp_path / "token"
    token.write_text(central.token, encoding="utf-8")
    asyncio.run(_edge_from_cache(tmp_path, central.url, token, cache=cache, trusted=trusted,
                                 label=f"pump-bearing v{good}"))


def _spawn_edge(tmp: Path, args: list[str]) -> subprocess.Popen[bytes]:
    """Start ``andon edge`` (cooling-water line, 1 s heartbeats) with ``args``; log to a file."""
    with (tmp / "edge.log").open("ab") as log:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
            [sys.executable, "-m", "andon", "edge", "--spec", str(SPEC),
             "--db", f"sqlite:///{tmp / 'edge.db'}", "--line", "cooling-water",
             "--edge-id", "e-cache", "--heartbeat", "1", *args],
            stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"})


async def _edge_from_cache(tmp: Path, url: str, token: Path, *, cache: Path, trusted: Path,
                           label: str) -> None:
    broker = MosquittoProcess(tmp)
    broker.start()
    side = CentralSide.open(tmp / "ingest.db")
    proc = None
    try:
        await side.start(broker.url)
        proc = _spawn_edge(tmp, [
            "--models-dir", str(cache), "--trusted-keys", str(trusted), "--broker", broker.url,
            "--central", url, "--token-file", str(token)])

        def serving() -> bool:
            return any(json.loads(e.detail).get("models", {}).get("pump-bearing") == label
                       for e in side.store.events(kind="edge_heartbeat", limit=50))

        await until(serving, f"a heartbeat showing {label} serving", 90)
        output = (tmp / "edge.log").read_text(encoding="utf-8", errors="replace")
        assert "no model pull (cannot reach" in output
        assert "serving from the cache" in output
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, 30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        await side.close()
        broker.stop()


def test_a_version_the_central_side_cannot_serve_is_refused_alone(tmp_path: Path) -> None:
    """A 404 artifact refuses that version only; the other models are still asked for."""
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path == "/api/models/production":
            return httpx.Response(200, json=[{"name": "a", "version": 2},
                                             {"name": "b", "version": 3}])
        if request.url.path == "/api/models/a/2/artifact":
            return httpx.Response(404, json={"detail": "no artifact"})
        return httpx.Response(200, content=b"not a zip")

    result = pull_models("http://central", "t", ["a", "b"], tmp_path / "models",
                         tmp_path / "keys", now=T0, transport=httpx.MockTransport(answer))
    assert result.offline is None
    assert asked == ["/api/models/production", "/api/models/a/2/artifact",
                     "/api/models/b/3/artifact", "/api/rollouts"]
    assert result.rollouts is None, "an unreadable rollouts answer changes nothing"
    assert result.refused[0] == ("a v2",
                                 "the central side answered 404 to /api/models/a/2/artifact")
    assert result.refused[1][0] == "b v3"
    assert "not a readable model bundle" in result.refused[1][1]
    assert result.pulled == []
    assert read_manifest(tmp_path / "models") == {}


def test_an_edge_on_a_remote_central_follows_its_rollouts_from_the_cache_too(
        central: Central, plant_keys: tuple[Path, Path], tmp_path: Path,
        demo_spec: PlantSpec) -> None:
    """A rollout started centrally reaches an edge that pulls: the rolled-out version is
    downloaded and verified, the edge scores it in shadow on the pilot line; a withdrawal
    reaches it the same way; with the central service down it keeps following the cache."""
    from andon.app import Actor, Context, PlantRef  # noqa: PLC0415
    from andon.app.rollout import start_rollout, withdraw_rollout  # noqa: PLC0415
    from andon.edge.pull import ROLLOUTS, pulled_rollouts  # noqa: PLC0415

    private, trusted = plant_keys
    cache = tmp_path / "edge-models"
    production = central.publish(private)
    vdir = save_version(small_model(), central.models)  # the challenger: signed, a candidate
    central.registry.register(vdir, private, "ana")
    challenger = int(vdir.name[1:])
    ctx = Context(central.store, central.clock, PlantRef(demo_spec))
    start_rollout(ctx, Actor.system("ana"), "pump-bearing", challenger, pilot="cooling-water",
                  reason="shadow first")

    def pull() -> PullResult:
        return pull_models(central.url, central.token, ["pump-bearing"], cache, trusted,
                           now=T0, timeout_s=5.0)

    first = pull()
    assert first.pulled == [f"pump-bearing v{production}",
                            f"pump-bearing v{challenger} (rollout: shadow_pilot)"]
    assert (cache / "pump-bearing" / f"v{challenger}" / "signature.json").is_file()
    [r] = pulled_rollouts(cache)
    assert (r.use_case, r.version, r.stage.value) == ("pump-bearing", str(challenger),
                                                       "shadow_pilot")
    local: SqlStore = open_store(f"sqlite:///{tmp_path / 'edge.db'}")
    try:
        edge = build_edge(demo_spec, local, cache, clock=ManualClock(T0), trusted_keys=trusted,
                          lines={"cooling-water"})
        assert sorted(edge.reload_models()) == sorted([f"pump-bearing v{production}",
                                                      f"pump-bearing v{challenger}"])
        cover = edge.models.coverage
        assert cover.shadow("pump-bearing", "cooling-water", central.clock.now()) == (
            str(challenger),)
        assert edge.models.challenger("pump-bearing", str(challenger)) is not None

        withdraw_rollout(ctx, Actor.system("ana"), "pump-bearing", reason="enough")
        assert pull().pulled == []
        assert [x.stage.value for x in pulled_rollouts(cache)] == ["withdrawn"]
        edge.reload_models()
        assert edge.models.challenger("pump-bearing", str(challenger)) is None
        assert edge.models.coverage.shadow("pump-bearing", "cooling-water",
                                           central.clock.now()) == ()

        central.stop()
        kept = (cache / ROLLOUTS).read_text(encoding="utf-8")
        assert pull().offline is not None
        assert (cache / ROLLOUTS).read_text(encoding="utf-8") == kept, "the cache stays"
    finally:
        local.close()

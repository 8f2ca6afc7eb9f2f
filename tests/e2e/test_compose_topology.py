"""``compose.yaml``'s plant, run as processes: broker, central server, edge and simulator.

Docker cannot run here (no registry to pull ``python:3.11-slim`` or ``eclipse-mosquitto``), so
the compose file's own command lines run as ``andon`` processes on loopback: a private
Mosquitto for the ``broker`` service, each service's ``/var/lib/andon`` a folder of its own,
the central server on a free loopback port instead of ``0.0.0.0:8080``, the image's
``ANDON_SPEC`` the demo spec, and heartbeats every second (``ANDON_HEARTBEAT``) so that the
test is quick. It waits, on the central server's own ``/metrics`` (a viewer's token), until
the edge is up there and the simulator's samples arrive through the edge's outbox; then every
process stops on SIGTERM with exit code 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from andon.store import open_store
from andon.testing import MosquittoProcess, eventually, free_port
from andon.testing.factories import add_token, add_user
from andon.testing.mosquitto import need_mosquitto_binary

ROOT = Path(__file__).resolve().parents[2]
ANDON = str(Path(sys.executable).parent / "andon")


def _command(service: dict[str, Any], broker: str, home: Path, port: int) -> list[str]:
    """The service's compose command, aimed at this test's broker, folder and port."""
    out = [str(a).replace("mqtt://broker:1883", broker).replace("/var/lib/andon", str(home))
           for a in service["command"]]
    if "--host" in out:
        out[out.index("--host") + 1] = "127.0.0.1"  # loopback only in tests
        out[out.index("--port") + 1] = str(port)
    return [ANDON, *out]


def _figures(base: str, token: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    try:
        text = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"},
                         timeout=5).text
    except httpx.HTTPError:
        return {}
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_compose_services_run_the_plant_end_to_end(tmp_path: Path) -> None:
    need_mosquitto_binary()
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    homes = {name: tmp_path / name for name in ("central", "edge", "simulator")}
    for home in homes.values():
        home.mkdir()
    with open_store(f"sqlite:///{homes['central'] / 'andon.db'}") as store:
        add_user(store, "prometheus", access="viewer", role="plant_manager")
        token = add_token(store, "prometheus", datetime.now(UTC) + timedelta(days=1))
    procs: dict[str, subprocess.Popen[bytes]] = {}
    with MosquittoProcess(tmp_path) as broker:
        try:
            for name in ("central", "edge", "simulator"):
                env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                       **{k: str(v) for k, v in services[name].get("environment", {}).items()},
                       "ANDON_SPEC": str(ROOT / "examples" / "demo-plant.yaml"),
                       "ANDON_HEARTBEAT": "1"}
                with (tmp_path / f"{name}.log").open("wb") as log:
                    procs[name] = subprocess.Popen(  # noqa: S603 - our own CLI
                        _command(services[name], broker.url, homes[name], port),
                        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=homes[name])
                if name == "central":
                    eventually(lambda: procs["central"].poll() is not None
                               or _figures(base, token), "the central server", 60,
                               every_s=0.1)
                    assert procs["central"].poll() is None, _logs(tmp_path)

            edge_up = ("andon_edge_up", (("edge", "edge-demo"),))
            recorded = ("andon_ingest_samples_total", (("outcome", "recorded"),))

            def arrived() -> bool:
                dead = [n for n, p in procs.items() if p.poll() is not None]
                assert not dead, f"{dead} stopped:\n{_logs(tmp_path)}"
                got = _figures(base, token)
                return got.get(edge_up) == 1 and got.get(recorded, 0) > 0

            eventually(arrived, "the edge up centrally and its forwarded samples stored", 60,
                       every_s=0.2, state=lambda: {k: v for k, v in _figures(
                           base, token).items() if k[0].startswith(("andon_edge_up",
                                                                    "andon_ingest_samples"))})
        finally:
            codes = {}
            for name in ("simulator", "edge", "central"):
                proc = procs.get(name)
                if proc is None:
                    continue
                proc.send_signal(signal.SIGTERM)
                try:
                    codes[name] = proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    codes[name] = proc.wait(10)
    assert codes == {"simulator": 0, "edge": 0, "central": 0}, _logs(tmp_path)


def _logs(tmp_path: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(encoding='utf-8', errors='replace')[-3000:]}"
                     for p in sorted(tmp_path.glob("*.log")))

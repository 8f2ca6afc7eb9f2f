"""``andon serve`` as a service manager and a monitoring stack see it: a real process.

Started with ``--log-format json`` (through ``ANDON_LOG_FORMAT``) and ``--broker`` a private
Mosquitto whose URL carries a password: ``/healthz`` answers, ``/readyz`` is ready once the
central ingest is subscribed and turns 503 naming the broker when the broker stops;
``/metrics`` (with a viewer's token) shows the ingest subscribed; every line on standard
error is one JSON object, and the password is in no line. Bounded waits only.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from andon.store import open_store
from andon.testing import MosquittoProcess, eventually, free_port
from andon.testing.factories import add_token, add_user
from andon.testing.mosquitto import need_mosquitto_binary

ANDON = str(Path(sys.executable).parent / "andon")
PASSWORD = "s3cret-pw"  # the secret the logs must not show


def _ready(base: str) -> tuple[int, Any] | None:
    try:
        answer = httpx.get(f"{base}/readyz", timeout=2)
    except httpx.HTTPError:
        return None
    return answer.status_code, answer.json()


def test_probes_metrics_and_json_logs_of_a_real_server(tmp_path: Path) -> None:
    need_mosquitto_binary()
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    with open_store(db) as store:
        add_user(store, "prometheus", access="viewer", role="plant_manager")
        token = add_token(store, "prometheus", datetime.now(UTC) + timedelta(days=1))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    with MosquittoProcess(tmp_path) as broker, out.open("wb") as stdout, \
            err.open("wb") as stderr:
        url = broker.url.replace("mqtt://", f"mqtt://ops:{PASSWORD}@")
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [ANDON, "--log-level", "info", "serve", "--db", db, "--port", str(port),
             "--models-dir", str(tmp_path / "models"), "--broker", url],
            stdout=stdout, stderr=stderr, env={"PATH": "/usr/bin:/bin",
                                               "ANDON_LOG_FORMAT": "json"})
        try:
            ready = eventually(lambda: proc.poll() is not None or _ready(base) == (
                200, {"status": "ready", "checks": {"store": "ok", "broker": "ok"}}),
                "the server to be ready", 60, every_s=0.1, state=lambda: _ready(base))
            assert proc.poll() is None, err.read_text(encoding="utf-8")
            assert ready
            assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
            assert httpx.get(f"{base}/metrics").status_code == 401
            metrics = httpx.get(f"{base}/metrics",
                                headers={"Authorization": f"Bearer {token}"}).text
            assert "andon_ingest_connected 1.0" in metrics
            # exported from the start; what reached the ingest before the scrape (seen once
            # under load in a parallel run) is counted, so the figure itself is not pinned
            assert re.search(r"^andon_ingest_messages_total \d+\.\d+$", metrics,
                             re.MULTILINE), metrics
            broker.stop()
            eventually(lambda: _ready(base) == (503, {"status": "not ready", "checks": {
                "store": "ok", "broker": "down"}}), "readiness to name the broker", 30,
                every_s=0.1, state=lambda: _ready(base))
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    logged, printed = err.read_text(encoding="utf-8"), out.read_text(encoding="utf-8")
    assert code == 0, logged
    lines = [json.loads(line) for line in logged.splitlines()]  # each line one JSON object
    subscribed = [x for x in lines if x["event"] == "central ingest subscribed"]
    assert subscribed, logged
    assert subscribed[0]["url"] == url.replace(PASSWORD, "***")
    assert subscribed[0]["logger"] == "andon.services.central"
    assert any(x["event"].startswith("not ready") and x["level"] == "warning" for x in lines)
    assert PASSWORD not in logged + printed
    assert f"inbox on {base}/inbox" in printed  # standard output: the command's own lines

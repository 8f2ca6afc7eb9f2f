"""``andon serve`` runs the stored spec when it is newer than the file, and says so first.

A real process on a loopback port over a store whose newest spec (as ``PUT /api/spec`` leaves
it) renames a use case; the file given is older. The first line printed names the version
and why; the running API lists the renamed use case and ``GET /api/spec`` shows that text.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from andon.store import open_store
from andon.testing import eventually
from andon.testing.factories import add_token, add_user
from andon.testing.services import free_port, port_open

ANDON = str(Path(sys.executable).parent / "andon")
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"


def test_serve_starts_with_the_newer_stored_spec_and_names_it(tmp_path: Path) -> None:
    text = DEMO.read_text(encoding="utf-8")
    renamed = text.replace("- id: motor-health", "- id: motor-watch", 1)
    spec_file = tmp_path / "plant.yaml"
    spec_file.write_text(text, encoding="utf-8")
    an_hour_ago = time.time() - 3600
    os.utime(spec_file, (an_hour_ago, an_hour_ago))
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    now = datetime.now(UTC)
    with open_store(db) as store:
        store.save_spec(renamed, "ana", now)
        add_user(store, "ana", access="admin", password="correct horse battery staple")
        token = add_token(store, "ana", now + timedelta(hours=1))

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [ANDON, "serve", "--spec", str(spec_file), "--db", db, "--port", str(port),
             "--models-dir", str(tmp_path / "models")],
            stdout=out, stderr=subprocess.STDOUT)
        try:
            eventually(lambda: proc.poll() is not None or port_open("127.0.0.1", port, 0.2),
                       "andon serve to listen", 60)
            assert proc.poll() is None, log.read_text()
            headers = {"Authorization": f"Bearer {token}"}
            base = f"http://127.0.0.1:{port}"
            rollouts = httpx.get(f"{base}/api/rollouts", headers=headers, timeout=10).json()
            current = httpx.get(f"{base}/api/spec", headers=headers, timeout=10).json()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    first = log.read_text().splitlines()[0]
    assert first.startswith("plant spec v1: stored "), first
    assert f"by ana, after {spec_file} last changed" in first
    assert first.endswith("the file is ignored until it changes")
    assert [r["use_case"] for r in rollouts] == ["pump-bearing", "motor-watch"]
    assert (current["version"], current["text"]) == (1, renamed)

"""The README's first command, for real: ``andon demo`` shows the bearing fault in the inbox.

Runs the demo as a user would (child processes, embedded broker, SQLite), reads its console
output, logs in to the inbox with the printed login, finds the recommendation on the page,
waits for it to escalate (nobody acknowledges it), then presses Ctrl-C (SIGINT) and checks
that everything stopped.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from andon.testing import free_port, port_open

DEADLINE_S = 240  # the brief promises ~2 minutes of wall clock to the recommendation


def _lines(proc: subprocess.Popen[str]) -> tuple[queue.Queue[str | None], threading.Thread]:
    q: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            q.put(line.rstrip("\n"))
        q.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return q, reader


def _wait_for(q: queue.Queue[str | None], pattern: str, seen: list[str]) -> re.Match[str]:
    rx = re.compile(pattern)
    while True:
        try:
            line = q.get(timeout=DEADLINE_S)
        except queue.Empty:
            raise AssertionError(f"no line matching {pattern!r} within {DEADLINE_S} s:\n"
                                 + "\n".join(seen)) from None
        if line is None:
            raise AssertionError("demo exited early:\n" + "\n".join(seen))
        seen.append(line)
        if m := rx.search(line):
            return m


def test_demo_shows_the_bearing_fault_in_the_inbox_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "andon", "demo", "--data-dir", str(tmp_path / "demo"),
         "--port", str(port), "--timeout", str(DEADLINE_S)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    seen: list[str] = []
    try:
        q, reader = _lines(proc)
        broker = _wait_for(q, r"UNS broker\s+mqtt://127\.0\.0\.1:(\d+)", seen)
        inbox = _wait_for(q, r"Inbox\s+(http://127\.0\.0\.1:\d+)/inbox", seen).group(1)
        login = _wait_for(q, r"Demo login\s+user (\S+)\s+password (\S+)", seen)
        rec = _wait_for(q, r"Recommendation (.*)", seen).group(1)
        assert rec.startswith("Pump P-101:"), rec
        assert "owner maintenance_planner" in rec

        with httpx.Client(base_url=inbox, follow_redirects=True, timeout=10) as client:
            assert client.get("/inbox").status_code == 401
            r = client.post("/login", data={"username": login.group(1),
                                            "password": login.group(2)})
            assert r.status_code == 200, r.text[:500]
            page = client.get("/inbox").text
        assert "Pump P-101" in page
        assert "re-grease the drive-end bearing" in page
        assert "maintenance" in page.lower()
        # nobody acknowledges it: the demo's 2-minute limit for a high-priority intervention
        # (examples/demo-plant.yaml, interventions.ack_limits) runs out on the wall clock
        escalated = _wait_for(q, r"Escalated\s+(rec-\S+): (.*)", seen)
        expected = ("not acknowledged within 2 min; escalated from maintenance_planner to "
                    "plant_manager")
        assert expected in escalated.group(2), escalated.group(0)
        # one intervention for the fault, not dozens
        assert sum("Recommendation " in line for line in seen) == 1, seen
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
        reader.join(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
    assert code == 0, "\n".join(seen)
    assert not port_open("127.0.0.1", int(broker.group(1))), "broker still running after Ctrl-C"
    assert not port_open("127.0.0.1", port), "inbox still running after Ctrl-C"

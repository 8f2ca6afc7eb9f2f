"""``andon serve`` stopped by SIGTERM (a service manager, the demo's supervisor) or SIGINT
(Ctrl-C) shuts down cleanly and exits 0: its own clean-up runs (the store is closed, so
SQLite folds its write-ahead log back and removes it). uvicorn used to re-raise SIGTERM after
stopping, which ended the process with -15 before that. A real process; bounded waits.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from andon.testing import eventually
from andon.testing.services import free_port, port_open

ANDON = str(Path(sys.executable).parent / "andon")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_cleanly_and_exits_0_on_a_signal(tmp_path: Path, sig: signal.Signals,
                                                     ) -> None:
    port = free_port()
    db = tmp_path / "andon.db"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [ANDON, "serve", "--db", f"sqlite:///{db}", "--port", str(port),
             "--models-dir", str(tmp_path / "models")], stdout=out, stderr=subprocess.STDOUT)
        try:
            eventually(lambda: proc.poll() is not None or port_open("127.0.0.1", port, 0.2),
                       "andon serve to listen", 60)
            assert proc.poll() is None, log.read_text()
            assert Path(f"{db}-wal").exists()  # open, in WAL mode
            proc.send_signal(sig)
            code = proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    output = log.read_text()
    assert code == 0, output
    assert "Traceback" not in output
    assert not Path(f"{db}-wal").exists(), "the store was not closed: clean-up did not run"

"""A private Mosquitto process on a free loopback port, to stop and start at will in a test.

The shared broker on 127.0.0.1:1883 is a system service that tests must never stop; a test
that needs a broker outage starts its own with ``MosquittoProcess`` (anonymous, no
persistence, loopback only) and stops it itself. Every wait is bounded.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Self

from andon.testing.services import free_port, port_open
from andon.testing.wait import WaitTimeout, eventually

__all__ = ["MOSQUITTO", "MosquittoProcess", "need_mosquitto_binary"]

#: where Debian installs the broker
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def need_mosquitto_binary() -> None:
    """Skip the calling test (CI turns skips into failures) when there is no broker to start."""
    if not Path(MOSQUITTO).is_file():
        import pytest  # noqa: PLC0415 - only test code calls this

        pytest.skip(f"no mosquitto binary at {MOSQUITTO} (apt-get install mosquitto)")


class MosquittoProcess:
    """Start, stop or kill a Mosquitto on 127.0.0.1:``port`` (the same port every time)."""

    def __init__(self, workdir: Path, port: int | None = None, binary: str = MOSQUITTO, *,
                 options: str = "", tls: bool = False, anonymous: bool = True) -> None:
        """``options``: more ``mosquitto.conf`` lines (e.g. ``max_queued_messages 0``).

        ``tls``: the listener speaks TLS (give its ``cafile``/``certfile``/``keyfile`` in
        ``options``; ``andon.testing.tls.SecureBroker`` does) and ``url`` is ``mqtts://``;
        ``anonymous=False``: clients must log in (a ``password_file`` in ``options``).
        """
        self.port = port or free_port()
        self.url = f"{'mqtts' if tls else 'mqtt'}://127.0.0.1:{self.port}"
        self.binary = binary
        self.config = workdir / f"mosquitto-{self.port}.conf"
        self.log = workdir / f"mosquitto-{self.port}.log"
        self.config.write_text(f"listener {self.port} 127.0.0.1\n"
                               f"allow_anonymous {'true' if anonymous else 'false'}\n"
                               f"persistence false\n{options}", encoding="utf-8")
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start the broker and return once it accepts connections (``TimeoutError`` if not)."""
        if self._proc is not None:
            raise RuntimeError("mosquitto is already running")
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(  # noqa: S603 - fixed binary, our own config
                [self.binary, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT)
        proc = self._proc

        def listening() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {proc.returncode}; see "
                                   f"{self.log}: {self.log.read_text(errors='replace')[-500:]}")
            return port_open("127.0.0.1", self.port, timeout=0.2)

        try:  # polling a port: nothing to wait on instead
            eventually(listening, f"mosquitto to listen on port {self.port}", timeout,
                       every_s=0.02)
        except WaitTimeout as exc:
            self.kill()
            raise TimeoutError(str(exc)) from None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM and wait for the process to exit (SIGKILL after ``timeout``)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL and reap."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait(10)

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs (benchmarks measure its CPU apart)."""
        return None if self._proc is None else self._proc.pid

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

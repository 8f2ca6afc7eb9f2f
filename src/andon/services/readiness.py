"""Whether a running ``andon serve`` can do its work now: its store answers, its ingest listens.

``Readiness.check()`` answers ``{"store": True, "broker": True}``: the store answered its
cheapest query (``Store.ping``) and, when the server runs the central ingest, the ingest is
subscribed on the broker (``run_central``'s ``connected`` event). ``GET /readyz`` serves it,
without a token (``andon.api.probes``), so it says nothing more: no URL, no host, no error
text. A check that fails is logged instead (a warning, once until it holds again; the
store's exception by its type only: a driver's message can name hosts and users).

A check is reused for ``reuse_s`` (1 s) and never run twice at once, so an unauthenticated
caller polling the endpoint costs the store at most one query a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import structlog

__all__ = ["Pingable", "Readiness"]

log = structlog.get_logger("andon.services.readiness")


class Pingable(Protocol):
    """What readiness needs of the store."""

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        ...


class Readiness:
    """The server's checks; ``broker`` (None: no ingest here) says whether the ingest listens."""

    def __init__(self, store: Pingable, *, broker: Callable[[], bool] | None = None,
                 reuse_s: float = 1.0) -> None:
        self.store = store
        self.broker = broker
        self.reuse_s = reuse_s
        self._lock = threading.Lock()
        self._last: tuple[float, dict[str, bool]] | None = None
        self._failing: set[str] = set()  # checks logged as failing, until they hold again

    def check(self) -> dict[str, bool]:
        """Each check by name (``store``, and ``broker`` with an ingest): True when it holds."""
        with self._lock:
            now = time.monotonic()
            if self._last is not None and now - self._last[0] < self.reuse_s:
                return dict(self._last[1])
            checks = {"store": self._store_ok()}
            if self.broker is not None:
                checks["broker"] = bool(self.broker())
                self._note("broker", ok=checks["broker"], failing="not ready: the central "
                           "ingest is not subscribed on the broker")
            self._last = (now, checks)
            return dict(checks)

    def _store_ok(self) -> bool:
        try:
            self.store.ping()
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            self._note("store", ok=False, failing="not ready: the store does not answer",
                       error=type(exc).__name__)
            return False
        self._note("store", ok=True)
        return True

    def _note(self, check: str, *, ok: bool, failing: str = "", **fields: str) -> None:
        """Log a check that starts failing (once) and one that holds again."""
        if ok and check in self._failing:
            self._failing.discard(check)
            log.info("ready again", check=check)
        elif not ok and check not in self._failing:
            self._failing.add(check)
            log.warning(failing, check=check, **fields)

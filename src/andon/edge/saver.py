"""Intervention records written behind the decision: deciding never waits for the store.

The edge publishes an intervention first (that publish is the decision the operator waits
for) and keeps its record in its own store after. That write can wait a long time: SQLite
takes one writer at a time and the recorder's batch holds the lock for its transaction
(tens of milliseconds, a WAL checkpoint more). A wait on the event loop or on the scoring
worker delays the *next* decision, so records are handed to ``InterventionSaver``: one
thread writes them, in the order they were saved.

Readers that decide see what is queued: ``WriteBehind`` wraps the store for the gate and
the decider, and serves the newest queued version of a record (``get_intervention``,
``open_intervention_for``) until the store has it, so a second detection on the asset finds
the intervention the first one opened.

A store that cannot take a record now (locked past its busy timeout, down, disk full): the
record stays queued, in order, and the write is tried again after a back-off (0.5 s doubling
to 30 s); each failure is counted in ``EdgeStats.store.failures`` and logged in one line. A
record the store refuses for its data (``andon.store.refused_data``) is logged and counted as
unstorable, never retried forever. A clean stop writes what is queued (``drain``); a
``kill -9`` loses the edge's copy of the records not yet written (the published intervention
is in the durable outbox and the central side stores it).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import structlog

from andon.edge.link import Backoff
from andon.edge.stats import EdgeStats
from andon.interventions import Intervention
from andon.store import Store, refused_data

__all__ = ["InterventionSaver", "WriteBehind"]

log = structlog.get_logger("andon.edge.saver")


class InterventionSaver:
    """Intervention records → the store on one writer thread, in order (module doc)."""

    def __init__(self, store: Store, stats: EdgeStats, *, backoff: Backoff | None = None,
                 name: str = "andon-intervention-saver") -> None:
        self.store = store
        self.stats = stats
        self.backoff = backoff or Backoff(base_s=0.5, cap_s=30.0)
        self._queue: deque[Intervention] = deque()
        self._pending: dict[str, Intervention] = {}  # id -> newest version not yet written
        self._lock = threading.Condition()
        self._closed = False
        self._busy = False  # the writer holds a record it took (written or being retried)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # -- the deciding side -----------------------------------------------------------------
    def save(self, iv: Intervention) -> None:
        """Queue a record for the store; readers see it from now on."""
        with self._lock:
            if self._closed:  # after ``close``: written here and now (a late caller)
                self.store.save_intervention(iv)
                return
            self._pending[iv.id] = iv
            self._queue.append(iv)
            self._lock.notify_all()

    def pending(self, intervention_id: str) -> Intervention | None:
        """The newest queued version of a record, if it is not written yet."""
        with self._lock:
            return self._pending.get(intervention_id)

    def pending_for(self, use_case: str, asset: str) -> list[Intervention]:
        """Queued records of a use case on an asset (newest version of each)."""
        with self._lock:
            return [iv for iv in self._pending.values()
                    if iv.use_case == use_case and iv.asset == asset]

    def queued(self) -> int:
        """Records not written yet (the one being written included)."""
        with self._lock:
            return len(self._queue)

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until every queued record is written (or ``timeout_s``); True if so."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._queue and not self._busy,
                                       timeout=timeout_s)

    def close(self, timeout_s: float = 30.0) -> None:
        """Write what is queued, then stop the thread (later saves are written at once)."""
        self.drain(timeout_s)
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._thread.join(timeout_s)
        if self._queue:
            log.error("intervention records not written to the edge's store at stop",
                      records=len(self._queue), error=self.stats.store.last_error)

    # -- the writer thread -----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return  # closed and nothing left
                iv = self._queue[0]
                self._busy = True
            written = self._write(iv)
            with self._lock:
                self._busy = False
                if written or self._closed:
                    self._queue.popleft()
                    if self._pending.get(iv.id) is iv:
                        del self._pending[iv.id]
                self._lock.notify_all()
            if not written and not self._closed:
                self._wait(self.backoff.next_delay())

    def _write(self, iv: Intervention) -> bool:
        """Write one record; False to retry it after a back-off."""
        try:
            self.store.save_intervention(iv)
        except Exception as exc:  # noqa: BLE001 - every storage error is handled here
            reason = f"{type(exc).__name__}: {exc}"[:300]
            self.stats.store.last_error = reason
            if refused_data(exc):
                self.stats.store.unstorable += 1
                log.error("intervention record refused by the edge's store; not kept here",  # noqa: TRY400 - the reason is the one line
                          id=iv.id[:200], error=reason)
                return True  # nothing to retry: the data itself is refused
            self.stats.store.failures += 1
            log.warning("intervention record not written; kept, retrying", id=iv.id[:200],
                        error=reason)
            return False
        self.backoff.reset()
        return True

    def _wait(self, delay_s: float) -> None:
        with self._lock:
            self._lock.wait_for(lambda: self._closed, timeout=delay_s)


class WriteBehind:
    """The store as the gate and decider see it: queued intervention records included.

    Writes of intervention records go to the ``InterventionSaver``; every other call goes to
    the store itself.
    """

    def __init__(self, store: Store, saver: InterventionSaver) -> None:
        self._store = store
        self._saver = saver

    def save_intervention(self, iv: Intervention) -> None:
        """Queue the record (``InterventionSaver.save``)."""
        self._saver.save(iv)

    def get_intervention(self, intervention_id: str) -> Intervention:
        """The queued version if any, else the stored one (``NotFound`` if neither)."""
        queued = self._saver.pending(intervention_id)
        return queued if queued is not None else self._store.get_intervention(intervention_id)

    def open_intervention_for(self, use_case: str, asset: str) -> Intervention | None:
        """The newest open record of a use case on an asset, queued versions first."""
        queued = self._saver.pending_for(use_case, asset)
        stored = self._store.open_intervention_for(use_case, asset)
        if stored is not None and all(iv.id != stored.id for iv in queued):
            queued.append(stored)  # a queued version of it supersedes the stored one
        candidates = [iv for iv in queued if iv.is_open]
        if not candidates:
            return None
        return max(candidates, key=lambda iv: iv.created_at)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


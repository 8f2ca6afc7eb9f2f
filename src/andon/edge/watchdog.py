"""Scoring watchdog: a model that hangs must not stop the edge from ingesting.

With a watchdog, the edge hands each complete window to a scoring worker thread instead of
scoring it on the thread that receives messages. ``check()`` (called by ``run_edge`` every
flush) notices a job running longer than ``stall_s``, abandons that worker (a Python thread
cannot be killed: it is left to finish or hang on its own; ``current()`` tells it, once
back, to drop its result), counts a restart, reports it, and starts a fresh worker on the
same queue. The stalled window is lost (counted in ``stalled``); ingestion, recording and
the outbound side never wait on scoring. A full queue drops the newest window (counted in
``dropped``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

__all__ = ["ScoringWatchdog", "WatchdogStats"]

log = structlog.get_logger("andon.edge.watchdog")

_STOP = object()


@dataclass
class WatchdogStats:
    """What the watchdog saw (part of ``EdgeStats``, in the heartbeat and status)."""

    restarts: int = 0  # workers abandoned because a job stalled
    stalled: int = 0  # windows lost with them
    dropped: int = 0  # windows refused because the queue was full
    queued: int = 0  # windows waiting now


class ScoringWatchdog:
    """Run ``work(job)`` for each submitted job on a worker thread; restart it if it stalls."""

    def __init__(self, work: Callable[[Any], None], *, stall_s: float = 30.0,
                 on_restart: Callable[[str], None] | None = None, max_queue: int = 10_000,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.work = work
        self.stall_s = stall_s
        self.stats = WatchdogStats()
        self._on_restart = on_restart
        self._monotonic = monotonic
        self._queue: queue.Queue[Any] = queue.Queue(max_queue)
        self._lock = threading.Lock()
        self._generation = 0
        self._busy_since: float | None = None
        self._job: Any = None
        self._open = 0  # jobs submitted and not finished (nor abandoned)
        self._idle = threading.Condition(self._lock)
        self._local = threading.local()
        self._start_worker()

    def _start_worker(self) -> None:
        self._generation += 1
        self._busy_since = None
        threading.Thread(target=self._run, args=(self._generation,), daemon=True,
                         name=f"andon-scoring-{self._generation}").start()

    def current(self) -> bool:
        """Whether the calling worker is still the live one (False once it was abandoned).

        ``work`` calls this after the step that may hang and before acting on its result.
        """
        return bool(getattr(self._local, "generation", None) == self._generation)

    def _run(self, generation: int) -> None:
        self._local.generation = generation
        while True:
            job = self._queue.get()
            with self._lock:
                if generation != self._generation:  # abandoned: give the job back, leave
                    self._queue.put(job)
                    return
                if job is _STOP:
                    return
                self._busy_since = self._monotonic()
                self._job = job
            try:
                self.work(job)
            except Exception:  # a failing window must not kill scoring
                log.exception("scoring failed", job=repr(job))
            with self._lock:
                if generation != self._generation:
                    return
                self._busy_since = None
                self._job = None
                self._open -= 1
                self.stats.queued = self._queue.qsize()
                self._idle.notify_all()

    def submit(self, job: Any) -> bool:
        """Queue one job; False (and counted) when the queue is full."""
        with self._lock:
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                self.stats.dropped += 1
                return False
            self._open += 1
            self.stats.queued = self._queue.qsize()
        return True

    def check(self) -> bool:
        """Restart the worker if its current job has run longer than ``stall_s``."""
        with self._lock:
            busy = self._busy_since
            if busy is None or self._monotonic() - busy <= self.stall_s:
                return False
            job, self._job = self._job, None
            self._open -= 1
            self.stats.restarts += 1
            self.stats.stalled += 1
            self._start_worker()
            self._idle.notify_all()
        detail = f"scoring stalled for more than {self.stall_s:g} s on {job!r}; restarted"
        log.warning("scoring restarted", restarts=self.stats.restarts, stall_s=self.stall_s)
        if self._on_restart is not None:
            self._on_restart(detail)
        return True

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until the queue is empty and the worker idle (tests, clean stops)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._open > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def stop(self) -> None:
        """Let the current worker finish its queue and exit."""
        self._queue.put(_STOP)

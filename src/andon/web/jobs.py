"""Quarantine replays run from the web as background jobs, with their progress to poll.

A replay of tens of thousands of quarantined messages takes minutes; the page must not hang
on it. ``ReplayJobs.start`` checks the actor's permission, then runs ``replay_quarantined``
(the same use case as ``andon quarantine replay``) on a thread of its own and keeps its
progress; the page polls it (``ReplayJob.view``). Bounded: one replay runs at a time (a second
start is told which one runs), and the newest ``KEPT`` jobs are remembered, no more.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from andon.app import ReplayProgress, ReplayResult, replay_quarantined
from andon.auth.access import Permission
from andon.errors import AndonError

if TYPE_CHECKING:
    from datetime import datetime

    from andon.app import Actor, Context

__all__ = ["KEPT", "ReplayJob", "ReplayJobs"]

#: finished jobs remembered (their results stay readable), the running one included
KEPT = 20

log = structlog.get_logger("andon.web")


@dataclass
class ReplayJob:
    """One replay started from the web: who, what, how far, and what came of it."""

    id: str
    by: str
    rule: str | None
    item_id: int | None
    started_at: datetime
    progress: ReplayProgress = field(default_factory=lambda: ReplayProgress(0, 0, 0, {}))
    result: ReplayResult | None = None
    error: str = ""
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def state(self) -> str:
        """running, done or failed."""
        if not self.finished.is_set():
            return "running"
        return "failed" if self.error else "done"

    def view(self) -> dict[str, Any]:
        """What the page shows (and polls as JSON)."""
        p, r = self.progress, self.result
        still = dict(r.still) if r is not None else p.still
        return {"id": self.id, "state": self.state, "by": self.by, "rule": self.rule or "",
                "item_id": self.item_id, "started_at": self.started_at.isoformat(),
                "done": p.done, "total": p.total, "passing": p.passing,
                "percent": 100 if p.total == 0 and self.finished.is_set()
                else (100 * p.done // p.total if p.total else 0),
                "stored": None if r is None else r.stored,
                "still": dict(sorted(still.items())),
                "still_total": sum(still.values()), "error": self.error}


class ReplayJobs:
    """The web's replays: one at a time, the newest ``KEPT`` remembered."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._jobs: OrderedDict[str, ReplayJob] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, actor: Actor, *, rule: str | None = None,
              item_id: int | None = None) -> tuple[ReplayJob, bool]:
        """Start a replay as ``actor``; (the job, True) or (the one running, False).

        ``Forbidden`` at once if the actor may not replay (``manage_models``).
        """
        actor.require(Permission.MANAGE_MODELS)
        with self._lock:
            running = next((j for j in self._jobs.values() if not j.finished.is_set()), None)
            if running is not None:
                return running, False
            job = ReplayJob(secrets.token_hex(6), actor.name, rule, item_id,
                            self._ctx.clock.now())
            self._jobs[job.id] = job
            while len(self._jobs) > KEPT:
                self._jobs.popitem(last=False)
        threading.Thread(target=self._run, args=(job, actor), name=f"replay-{job.id}",
                         daemon=True).start()
        return job, True

    def get(self, job_id: str) -> ReplayJob | None:
        """The job of that id, if still remembered."""
        with self._lock:
            return self._jobs.get(job_id)

    def latest(self) -> ReplayJob | None:
        """The newest job, if any."""
        with self._lock:
            return next(reversed(self._jobs.values()), None)

    def _run(self, job: ReplayJob, actor: Actor) -> None:
        def note(progress: ReplayProgress) -> None:
            job.progress = progress

        try:
            job.result = replay_quarantined(self._ctx, actor, rule=job.rule,
                                            item_id=job.item_id, progress=note).record
        except AndonError as exc:
            job.error = str(exc)
        except Exception as exc:  # a thread's last stop: say it, log it
            job.error = f"the replay stopped: {type(exc).__name__}"
            log.exception("quarantine replay failed", job=job.id)
        finally:
            job.finished.set()

"""The escalation service: runs ``andon.app.escalate_due`` every few seconds beside the server.

Every ``every_s`` seconds (the spec's ``interventions.escalation_check``) it applies every
escalation and shelving expiry that is due (the rules: ``andon.interventions.escalation``; the
use case: ``andon.app.escalation``). Time comes from the injected ``Clock``: tests drive it with
a ``ManualClock`` and call ``tick``; ``run`` loops until its ``stop`` event is set.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from andon.app.context import Context
from andon.app.escalation import TickReport, escalate_due
from andon.interventions.escalation import EscalationPolicy, policy_from_spec

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from andon.clock import Clock
    from andon.spec.model import PlantSpec
    from andon.store.base import Store

__all__ = ["EscalationService", "TickReport", "run_beside", "serve_with_escalation"]

log = structlog.get_logger(__name__)


@dataclass
class EscalationService:
    """Escalates unacknowledged interventions and expires shelving, on the injected clock."""

    store: Store
    policy: EscalationPolicy
    clock: Clock
    every_s: float = 10.0
    ticks: int = field(default=0, init=False)

    @classmethod
    def for_spec(cls, store: Store, spec: PlantSpec, clock: Clock) -> EscalationService:
        """A service with the spec's policy and check interval."""
        return cls(store, policy_from_spec(spec), clock, spec.interventions.escalation_check)

    def tick(self) -> TickReport:
        """Apply what is due now (``andon.app.escalate_due``); count the tick."""
        report = escalate_due(Context(self.store, self.clock), self.policy)
        self.ticks += 1
        return report

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every ``every_s`` seconds until ``stop`` is set (a failed tick is logged)."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.tick)
            except Exception as exc:  # the loop must outlive one bad tick; logged with trace
                log.exception("escalation tick failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.every_s)


async def serve_with_escalation(serving: Awaitable[None], service: EscalationService) -> None:
    """Run ``service`` beside ``serving`` (e.g. the HTTP server) and stop it when that ends."""
    await run_beside(serving, service.run)


async def run_beside(serving: Awaitable[None],
                     run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Await ``serving`` with ``run(stop)`` beside it; set ``stop`` and await it at the end."""
    stop = asyncio.Event()
    loop = asyncio.ensure_future(run(stop))
    try:
        await serving
    finally:
        stop.set()
        await loop

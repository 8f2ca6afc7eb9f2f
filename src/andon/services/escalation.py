"""The escalation service: nobody's silence lets an intervention rot.

Every ``every_s`` seconds (the spec's ``interventions.escalation_check``) it loads the open
interventions, brings shelved ones whose expiry has come back (``expire_shelving``) and applies
every escalation that is due (``escalate``: not acknowledged within the priority's limit →
handed to the next role of the chain). Each change is written with
``Store.change_intervention`` (read, change and write under the store's write lock) and each
escalation is kept as an ``escalated`` event.

It keeps nothing in memory: what is due is a pure function of the stored history and the
clock's ``now``, and each move is recorded at the instant it became due. So a service that
restarts (or a second one on the same store) escalates at the same instant, not twice, and a
late check catches up exactly. Time comes from the injected ``Clock``: tests drive it with a
``ManualClock`` and call ``tick``; ``run`` loops until its ``stop`` event is set.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from andon.events import Event
from andon.interventions.escalation import EscalationPolicy, escalate
from andon.interventions.lifecycle import InterventionState, Priority, expire_shelving
from andon.interventions.record import SYSTEM, Intervention

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from andon.clock import Clock
    from andon.spec.model import PlantSpec
    from andon.store.base import Store

__all__ = ["EscalationService", "TickReport", "policy_from_spec", "serve_with_escalation"]

log = structlog.get_logger(__name__)

#: most open interventions looked at per tick (the inbox holds one per use case and asset)
_BATCH = 10_000
_TIMED = frozenset({InterventionState.NEW, InterventionState.ESCALATED,
                    InterventionState.SHELVED})


def policy_from_spec(spec: PlantSpec) -> EscalationPolicy:
    """The escalation policy of the spec's ``interventions`` section.

    A chain left out is the default one, keeping only the roles the spec defines.
    """
    section = spec.interventions
    return EscalationPolicy(
        limits={Priority(p): timedelta(seconds=s) for p, s in section.ack_limits.items()},
        chain=tuple(section.chain_for({r.id for r in spec.roles})),
    )


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one tick did: interventions escalated (one line each) and shelvings expired."""

    at: datetime
    escalations: tuple[str, ...] = ()
    unshelved: tuple[str, ...] = ()


def advance(iv: Intervention, policy: EscalationPolicy, now: datetime) -> Intervention:
    """``iv`` with every shelving expiry and escalation due by ``now`` applied (pure)."""
    lc, _ = expire_shelving(iv.lifecycle, now, by=SYSTEM)
    [lc], _ = escalate([lc], policy, now, by=SYSTEM)
    return iv if lc.history == iv.lifecycle.history else iv.with_lifecycle(lc)


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
        """Apply what is due now; record an ``escalated`` event per escalation.

        An intervention whose change fails is logged and left for the next tick; the others
        are still handled.
        """
        now = self.clock.now()
        escalations: list[str] = []
        unshelved: list[str] = []
        for iv in self.store.list_interventions(open_only=True, limit=_BATCH):
            if iv.state not in _TIMED:
                continue
            try:
                before, after = self.store.change_intervention(
                    iv.id, lambda r: advance(r, self.policy, now))
            except Exception as exc:  # one bad record must not stall every other escalation
                log.exception("escalation of one intervention failed", id=iv.id,
                              error=str(exc))
                continue
            for m in after.history[len(before.history):]:
                if m.to_state is InterventionState.ESCALATED:
                    line = f"{after.asset_name} ({after.id}): {m.reason}"
                    escalations.append(line)
                    self.store.add_event(Event(kind="escalated", subject=after.id,
                                               detail=m.reason, at=m.at, by=SYSTEM))
                    log.warning("escalated", id=after.id, asset=after.asset, reason=m.reason,
                                owner=after.owner_role, at=m.at.isoformat())
                elif m.from_state is InterventionState.SHELVED:
                    unshelved.append(after.id)
                    self.store.add_event(Event(kind="unshelved", subject=after.id,
                                               detail=m.reason, at=m.at, by=SYSTEM))
        self.ticks += 1
        return TickReport(now, tuple(escalations), tuple(unshelved))

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
    stop = asyncio.Event()
    loop = asyncio.ensure_future(service.run(stop))
    try:
        await serving
    finally:
        stop.set()
        await loop

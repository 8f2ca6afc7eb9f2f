"""Periodic anchors of the audit trail: ``andon serve --audit-key KEY`` signs its newest entry.

Every ``every_s`` seconds (and once at start) the service signs the audit chain's newest entry
with the key (``andon.app.anchor_trail``), unless nothing but its own last anchor was written
since. Deleting the newest entries of the trail then shows in ``andon audit verify`` for all
but the last interval. A failure (the key unreadable, the store away) is logged and tried
again at the next interval: anchoring never stops the server.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog

from andon.app import Actor, Context, anchor_trail
from andon.feedback.answers import Via
from andon.services.escalation import run_beside
from andon.text import one_line

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from pathlib import Path

    from andon.audit import Event
    from andon.clock import Clock
    from andon.store.base import Store

__all__ = ["AnchorService", "serve_with_anchors"]

log = structlog.get_logger("andon.services.anchoring")


class AnchorService:
    """Signs the audit chain's newest entry when anything was written since the last anchor."""

    def __init__(self, store: Store, clock: Clock, key: Path, *, every_s: float) -> None:
        if every_s <= 0:
            raise ValueError(f"every_s must be positive, got {every_s!r}")
        self.context = Context(store, clock)
        self.key = key
        self.every_s = every_s
        self.anchored = 0

    def tick(self) -> Event | None:
        """Anchor now if the trail grew beyond the last anchor's own entry; the anchor's event."""
        store = self.context.store
        head, _ = store.chain_head()
        anchors = store.anchors()
        last = anchors[-1].seq if anchors else 0
        if head == 0 or (anchors and head <= last + 1):  # +1: the last anchor's own event
            return None
        event = anchor_trail(self.context, Actor.system("andon serve", Via.SYSTEM), self.key)
        self.anchored += 1
        return event

    async def run(self, stop: asyncio.Event) -> None:
        """Tick at start and every ``every_s`` until ``stop`` is set."""
        while not stop.is_set():
            try:
                event = await asyncio.to_thread(self.tick)
            except Exception as exc:  # noqa: BLE001 - logged; tried again at the next interval
                log.error("audit_anchor_failed", key=str(self.key),  # noqa: TRY400 - one line
                          error=one_line(f"{type(exc).__name__}: {exc}"))
            else:
                if event is not None:
                    log.info("audit_anchored", detail=event.detail)
            try:
                await asyncio.wait_for(stop.wait(), self.every_s)
            except TimeoutError:
                continue


async def serve_with_anchors(serving: Awaitable[None], service: AnchorService | None) -> None:
    """Run ``service`` beside ``serving`` (the HTTP server) and stop it when that ends."""
    if service is None:
        await serving
    else:
        await run_beside(serving, service.run)

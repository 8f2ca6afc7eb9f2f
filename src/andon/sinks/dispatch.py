"""The dispatcher: every new or changed intervention to every sink that wants it, once.

For each route (a sink and which use cases / priorities it takes), a pass compares each
intervention document it is handed (the service hands it the changed ones, from the store's
change feed, and those whose last attempt failed) with that sink's newest recorded attempt
for the same intervention (``DeliveryLog.delivery_states``):

- never sent → version 1, attempt 1;
- same digest, delivered → nothing (a restart does not re-send);
- same digest, failed → the same version again (attempt n+1), once ``retry_after`` has passed
  since the last attempt (5 s, doubling per attempt, at most 10 min): a restart re-sends it;
- another digest (the intervention changed) → version + 1, attempt 1.

Every attempt a sink reports becomes one ``Attempted`` row handed to ``record`` (the service
writes them to the store's ``deliveries`` table). Routes run concurrently, each delivery under a
time limit: a sink that fails, raises or hangs costs only its own time and its own rows; the
others go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from andon.clock import Clock, SystemClock
from andon.interventions.lifecycle import Priority
from andon.sinks.base import (
    DeliveryResult,
    Outgoing,
    Sink,
    document_dedup_key,
    document_digest,
    document_priority,
)
from andon.text import one_line

__all__ = ["Attempted", "DeliveryLog", "DeliveryState", "Dispatcher", "Route", "retry_after"]

_RETRY_BASE = timedelta(seconds=5)
_RETRY_CAP = timedelta(minutes=10)
#: digests cached at most (one per intervention id; a pass looks at the newest 500)
_DIGEST_CACHE = 4096


def retry_after(attempts: int) -> timedelta:
    """How long after a failed attempt number ``attempts`` the next pass may try again.

    >>> retry_after(1), retry_after(3), retry_after(20)
    (datetime.timedelta(seconds=5), datetime.timedelta(seconds=20), datetime.timedelta(seconds=600))
    """
    return min(_RETRY_CAP, _RETRY_BASE * (1 << min(max(attempts - 1, 0), 16)))


class DeliveryState(Protocol):
    """The newest recorded attempt of one intervention to one sink (``store.Delivery``)."""

    @property
    def version(self) -> int: ...  # noqa: D102 - fields of the recorded row
    @property
    def digest(self) -> str: ...  # noqa: D102
    @property
    def attempt(self) -> int: ...  # noqa: D102
    @property
    def at(self) -> datetime: ...  # noqa: D102
    @property
    def ok(self) -> bool: ...  # noqa: D102
    @property
    def external_id(self) -> str | None: ...  # noqa: D102


class DeliveryLog(Protocol):
    """What the dispatcher reads back (``andon.store.Store`` implements it)."""

    def delivery_states(self, sink: str, intervention_ids: Sequence[str] | None = None,
                        ) -> Mapping[str, DeliveryState]:
        """Intervention id -> newest attempt to ``sink`` (of these ids only)."""
        ...

    def external_id(self, sink: str, intervention_id: str) -> str | None:
        """The newest external id ``sink`` reported for an intervention."""
        ...


@dataclass(frozen=True, slots=True)
class Attempted:
    """One attempt, ready to record (the fields of ``andon.store.Delivery``)."""

    sink: str
    intervention_id: str
    dedup_key: str
    version: int
    digest: str
    attempt: int
    at: datetime
    ok: bool
    http_status: int | None
    error: str
    external_id: str | None


@dataclass(frozen=True, slots=True)
class Route:
    """A sink and what it takes: use cases and priorities (None = all)."""

    sink: Sink
    use_cases: frozenset[str] | None = None
    priorities: frozenset[Priority] | None = None

    def wants(self, document: Mapping[str, Any]) -> bool:
        """Whether this sink takes the intervention."""
        if self.use_cases is not None and document.get("use_case") not in self.use_cases:
            return False
        return self.priorities is None or document_priority(document) in self.priorities


class Dispatcher:
    """Deliver documents to routes, recording each attempt through ``record``."""

    def __init__(self, routes: Sequence[Route], log: DeliveryLog,
                 record: Callable[[Sequence[Attempted]], None], *, clock: Clock | None = None,
                 timeout_s: float = 30.0) -> None:
        names = [r.sink.name for r in routes]
        if len(set(names)) != len(names):
            raise ValueError(f"sink names must be unique, got {names}")
        self.routes = list(routes)
        self._log = log
        self._record = record
        self._clock = clock or SystemClock()
        self.timeout_s = timeout_s
        self._digests: dict[str, tuple[Mapping[str, Any], str]] = {}

    async def dispatch(self, documents: Iterable[Mapping[str, Any]]) -> list[Attempted]:
        """One pass over every route concurrently; the attempts made, per route in order."""
        docs = list(documents)
        done = await asyncio.gather(*(self.run_route(r, docs) for r in self.routes))
        return [row for rows in done for row in rows]

    async def run_route(self, route: Route,
                        documents: Sequence[Mapping[str, Any]]) -> list[Attempted]:
        """One pass of one route: deliver what is new, changed or due for a retry."""
        sink = route.sink
        wanted = [doc for doc in documents if route.wants(doc)]
        if not wanted:
            return []
        # store calls run on a worker thread: the loop also serves HTTP (andon serve)
        states = await asyncio.to_thread(self._log.delivery_states, sink.name,
                                         [str(doc["id"]) for doc in wanted])
        made: list[Attempted] = []
        for doc in wanted:
            last = states.get(str(doc["id"]))
            item = self._pending(doc, last)
            if item is None:
                continue
            if last is not None and item.external_id is None:
                known = await asyncio.to_thread(self._log.external_id, sink.name,
                                                item.intervention_id)
                item = replace(item, external_id=known)
            result = await self._deliver(sink, item)
            rows = [
                Attempted(sink=sink.name, intervention_id=item.intervention_id,
                          dedup_key=item.dedup_key, version=item.version, digest=item.digest,
                          attempt=self._first_attempt(states.get(item.intervention_id), item)
                          + i, at=a.at, ok=a.ok, http_status=a.http_status,
                          error=one_line(a.error, 500),
                          external_id=result.external_id if a.ok else None)
                for i, a in enumerate(result.attempts)
            ]
            await asyncio.to_thread(self._record, rows)
            made.extend(rows)
        return made

    def _digest(self, doc: Mapping[str, Any]) -> str:
        """The document's digest, computed once per document object (routes share them)."""
        key = str(doc["id"])
        cached = self._digests.get(key)
        if cached is not None and cached[0] is doc:
            return cached[1]
        digest = document_digest(doc)
        if cached is None and len(self._digests) >= _DIGEST_CACHE:
            self._digests.clear()  # bounded: ids of interventions long gone are not kept
        self._digests[key] = (doc, digest)
        return digest

    def _pending(self, doc: Mapping[str, Any], last: DeliveryState | None) -> Outgoing | None:
        digest = self._digest(doc)
        if last is None:
            return Outgoing(doc, str(doc["id"]), document_dedup_key(doc), 1, digest)
        if last.digest == digest:
            if last.ok or self._clock.now() < last.at + retry_after(last.attempt):
                return None
            version = last.version
        else:
            version = last.version + 1
        return Outgoing(doc, str(doc["id"]), document_dedup_key(doc), version, digest,
                        last.external_id)

    @staticmethod
    def _first_attempt(last: DeliveryState | None, item: Outgoing) -> int:
        if last is not None and last.version == item.version and last.digest == item.digest:
            return last.attempt + 1
        return 1

    async def _deliver(self, sink: Sink, item: Outgoing) -> DeliveryResult:
        try:
            result = await asyncio.wait_for(sink.deliver(item), self.timeout_s)
        except TimeoutError:
            return DeliveryResult.failed(self._clock.now(),
                                         f"no answer within {self.timeout_s:g}s")
        except Exception as exc:  # noqa: BLE001 - a broken sink is recorded, never fatal
            return DeliveryResult.failed(self._clock.now(), f"{type(exc).__name__}: {exc}")
        if not result.attempts:
            return DeliveryResult.failed(self._clock.now(), "the sink reported no attempt")
        return result

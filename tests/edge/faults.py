"""Shared parts of the real-process fault tests: a sample producer, a central side, waits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from andon.clock import ManualClock, from_ms, to_ms, utc
from andon.edge.outbox import Entry, Outbox
from andon.namespace.sample import Quality, Sample, encode_sample
from andon.namespace.topics import TagAddress
from andon.services.central import CentralIngest, Sequencer, run_central
from andon.store import SqlStore, open_store
from andon.testing.factories import make_intervention

T0 = utc(2026, 3, 2, 7, 0)
#: two sample sources (two PLC gateways), each feeding one pump's vibration
SOURCES = {"plc-a": "p-101", "plc-b": "p-102"}


def tag_message(source: str, seq: int, start_ms: int | None = None,
                step_ms: int = 60_000) -> tuple[str, bytes]:
    """The UNS tag topic and payload of sample ``seq`` of ``source`` (one a minute from T0)."""
    address = TagAddress("acme", "ghent", "utilities", "cooling-water", SOURCES[source],
                         "vibration")
    start = to_ms(T0) if start_ms is None else start_ms
    sample = Sample(address, 2.0 + (seq % 7) * 0.1, "mm/s", Quality.GOOD,
                    start + seq * step_ms, seq, source)
    return address.topic, encode_sample(sample)


@dataclass
class CentralSide:
    """A central store fed by a ``CentralIngest`` subscribed on the broker."""

    store: SqlStore
    ingest: CentralIngest
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    applied: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None

    @classmethod
    def open(cls, path: Path, clock: ManualClock | None = None) -> CentralSide:
        store = open_store(f"sqlite:///{path}")
        side = cls(store, CentralIngest(store, clock or ManualClock(T0)))

        def applied(epoch: str, source: str, seq: int, _topic: str) -> None:
            side.applied.setdefault((epoch, source), []).append(seq)

        side.ingest.on_applied = applied
        return side

    async def start(self, broker_url: str) -> None:
        self.task = asyncio.create_task(run_central(self.ingest, broker_url, self.stop,
                                                    enterprise="acme", tick_s=0.1,
                                                    connected=self.ready))
        await asyncio.wait_for(self.ready.wait(), 30)

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, 30)
        self.store.close()

    def in_order(self) -> bool:
        """Every source's items were written once each, in seq order, without gaps."""
        return all(seqs == list(range(seqs[0], seqs[0] + len(seqs)))
                   for seqs in self.applied.values())

    def sample_seqs(self, source: str) -> list[int]:
        """The seq numbers of ``source``'s samples in the central store, by time."""
        return [s.seq for s in self.store.samples() if s.source == source]


def sample_time(seq: int) -> int:
    """Source time (ms) of sample ``seq``."""
    return to_ms(T0) + seq * 60_000


def clock_at(clock: ManualClock, seq: int) -> None:
    """Move the edge's clock to the time of sample ``seq`` (never backwards)."""
    when = from_ms(sample_time(seq))
    if when > clock.now():
        clock.set(when)


@dataclass
class Central:
    """A central ingest that can be stopped and started again on the same store and ledger."""

    store: SqlStore
    ledger: Path
    session: str
    clock: ManualClock
    ingest: CentralIngest | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    applied: list[tuple[str, str, int]] = field(default_factory=list)
    duplicates: int = 0

    async def start(self, url: str) -> None:
        self.ingest = CentralIngest(self.store, self.clock, sequencer=Sequencer(self.ledger))
        self.ingest.on_applied = lambda e, s, q, _t: self.applied.append((e, s, q))
        self.ready, self.stop = asyncio.Event(), asyncio.Event()
        self.task = asyncio.create_task(run_central(
            self.ingest, url, self.stop, enterprise="acme", tick_s=0.1, connected=self.ready,
            session=self.session))
        await asyncio.wait_for(self.ready.wait(), 30)

    async def halt(self) -> None:
        """Stop the ingest (its session stays with the broker)."""
        assert self.task is not None
        assert self.ingest is not None
        self.stop.set()
        await asyncio.wait_for(self.task, 30)
        self.duplicates += self.ingest.stats.duplicates
        self.ingest.sequencer.close()
        self.ingest = None

    def seqs(self, source: str) -> list[int]:
        return [s.seq for s in self.store.samples() if s.source == source]


class Producer:
    """One sample per source every ``every_s``; an intervention every 40 samples."""

    def __init__(self, edge: object, clock: ManualClock) -> None:
        self.edge, self.clock = edge, clock
        self.seq = 0
        self.samples = 0
        self.ivs: list[str] = []
        self.running = True

    async def run(self) -> None:
        while self.running:
            clock_at(self.clock, self.seq)
            for source in SOURCES:
                self.edge.on_message(*tag_message(source, self.seq))  # type: ignore[attr-defined]
                self.samples += 1
            if self.seq % 40 == 20:
                self.ivs.append(f"iv-{self.seq:04d}")
                self.edge.emit(make_intervention(self.ivs[-1],  # type: ignore[attr-defined]
                                                 asset=SOURCES["plc-a"]))
            self.seq += 1
            await asyncio.sleep(0.01)  # the pace of the stream, not a wait for a result


class OutboxSender:
    """The uplink's ``send`` / ``send_many``, straight into an outbox (no guard, no broker):
    the test publishes what it holds."""

    def __init__(self, box: Outbox) -> None:
        self.box = box

    def send(self, kind: str, key: str, source: str, topic: str, document: dict[str, object],
             *, retain: bool = False) -> bool:
        return self.box.append(kind, key, source, topic, dict(document),
                               retain=retain) is not None

    def send_many(self, entries: Sequence[Entry]) -> list[bool]:
        return [item is not None for item in self.box.append_many(entries)]


class _Running(Protocol):
    running: bool


async def stop_stream(producer: _Running, feeding: asyncio.Task[None] | None,
                      stop: asyncio.Event, edge_task: asyncio.Task[None]) -> None:
    """Tear down a fault story: the producer's last step (bounded), then the edge's run."""
    producer.running = False
    if feeding is not None:
        await asyncio.wait_for(feeding, 10)
    stop.set()
    await asyncio.wait_for(edge_task, 30)

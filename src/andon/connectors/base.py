"""The one connector interface: every plant protocol turns its input into canonical samples.

A connector (MQTT JSON on the UNS, Sparkplug B host, OPC UA client, historian export replay)
reads from its source and hands each sample to a ``PointSink``, together with where it came
from and the raw bytes, so that a sample the contracts refuse can be quarantined with its
original payload. Input the connector cannot decode goes to ``PointSink.reject`` with a
one-line reason naming what and where; a connector never raises for bad input and never drops
anything silently. The edge runtime (``andon.edge.Edge``) is the production sink; tests use
``CollectingSink``. A sink that decodes raw messages itself, faster (the edge's ingest keeps
each topic's route), is a ``BatchSink``: a connector reading MQTT JSON hands it every socket
read as one batch of (topic, payload) instead of decoding.

Every connector passes the conformance checks in ``andon.testing.conformance.connectors``
(a plug-in's tests run them through a harness of its own): it delivers valid points as
canonical samples (value, unit, quality, source time, sequence, source id), rejects malformed
input with a reason, and stops by itself when ``stop`` is set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from andon.namespace.sample import Sample

__all__ = ["BatchSink", "CollectingSink", "Connector", "PointSink", "Rejected"]


class PointSink(Protocol):
    """Where a connector delivers what it reads."""

    def on_sample(self, sample: Sample, topic: str | None = None,
                  payload: bytes | None = None) -> None:
        """Take one canonical sample.

        ``topic``/``payload`` name and hold the raw input it came from (kept if the sample is
        quarantined).
        """
        ...

    def reject(self, where: str, payload: bytes, reason: str) -> None:
        """Take input that could not be decoded; the sink quarantines it.

        ``where`` names the source location (topic, node id, file:line); ``reason`` is one line.
        """
        ...


@runtime_checkable
class BatchSink(PointSink, Protocol):
    """A sink that also takes raw MQTT JSON messages, a socket read at a time, and decodes them.

    It reads its clock once per batch (the messages arrived together) and never raises for
    bad input: what does not decode is quarantined as ``reject`` would.
    """

    def on_messages(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Take the (topic, payload) messages of one read, in arrival order."""
        ...


@runtime_checkable
class Connector(Protocol):
    """A source of canonical samples."""

    #: short protocol name shown in status and reports ("mqtt", "sparkplug", "opcua", ...)
    kind: str

    async def run(self, sink: PointSink, stop: asyncio.Event) -> None:
        """Deliver samples to ``sink`` until ``stop`` is set or a finite source is exhausted.

        Reconnects by itself on connection loss; never raises for bad input.
        """
        ...


@dataclass(frozen=True, slots=True)
class Rejected:
    """One input a connector could not decode."""

    where: str
    payload: bytes
    reason: str


@dataclass
class CollectingSink:
    """A sink that keeps everything (tests and the conformance suite).

    ``arrived`` is set whenever something arrives, so tests wait on events, not on sleeps.
    """

    samples: list[Sample] = field(default_factory=list)
    raw: list[tuple[str | None, bytes | None]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def on_sample(self, sample: Sample, topic: str | None = None,
                  payload: bytes | None = None) -> None:
        """Keep the sample and the raw input it came from."""
        self.samples.append(sample)
        self.raw.append((topic, payload))
        self.arrived.set()

    def reject(self, where: str, payload: bytes, reason: str) -> None:
        """Keep the rejected input and its reason."""
        self.rejected.append(Rejected(where, payload, reason))
        self.arrived.set()

    async def wait_for(self, count: int, *, timeout_s: float = 10.0) -> None:
        """Wait until ``count`` samples and rejects arrived in all.

        ``TimeoutError`` after ``timeout_s``.
        """
        async def reached() -> None:
            while len(self.samples) + len(self.rejected) < count:
                self.arrived.clear()
                if len(self.samples) + len(self.rejected) >= count:
                    return
                await self.arrived.wait()

        await asyncio.wait_for(reached(), timeout_s)

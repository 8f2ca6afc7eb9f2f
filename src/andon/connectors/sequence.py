"""Producer sequence numbers for protocols that have none (or a wrapping one).

A canonical sample carries its producer's sequence number, and the edge drops a second sample
with the same (source, sequence) as a duplicate. Sparkplug's ``seq`` wraps at 256 and OPC UA
has no sequence at all, so their connectors number samples themselves: one counter per source,
starting at ``start_ms * 1000`` (the connector's start time in epoch milliseconds, times 1000)
and counting up by one per sample. Numbers therefore never go back within a run, and a restarted
connector starts above where the previous run ended unless that run delivered more than 1,000
samples per millisecond of its lifetime from one source.
"""

from __future__ import annotations

__all__ = ["ProducerSequence"]


class ProducerSequence:
    """Monotonic sequence numbers per source id.

    >>> seq = ProducerSequence(start_ms=1_700_000_000_000)
    >>> seq.next("a"), seq.next("a"), seq.next("b")
    (1700000000000000, 1700000000000001, 1700000000000000)
    """

    def __init__(self, start_ms: int) -> None:
        self._base = max(start_ms, 0) * 1000
        self._next: dict[str, int] = {}

    def next(self, source: str) -> int:
        """The next number for ``source``."""
        n = self._next.get(source, self._base)
        self._next[source] = n + 1
        return n

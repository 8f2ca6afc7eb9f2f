"""The edge's link to the broker: its states, the one transition function; a retry back-off.

Reconnects follow ``andon.connectors.reconnect`` (the one policy of every MQTT client);
``Backoff`` here paces the edge's store retries (``andon.edge.recorder``).

Pure: no sockets, no clock. ``andon.edge.uplink`` drives it.

::

    buffering ──(connected)──▶ replaying ──(backlog empty)──▶ online
        ▲                          │                            │
        └──────(connection lost)───┴────────────────────────────┘

An edge starts in ``buffering`` (nothing is connected yet, so everything waits in the outbox).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

from andon.errors import LinkError

__all__ = ["ALLOWED", "Backoff", "LinkState", "LinkStats", "transition"]


class LinkState(StrEnum):
    """Where the edge's link to the broker stands."""

    ONLINE = "online"  # connected and the outbox backlog is empty: items go out as they come
    BUFFERING = "buffering"  # broker unreachable: scoring goes on, items wait in the outbox
    REPLAYING = "replaying"  # connected again: the backlog drains in order, live items go too


#: current state -> states it may move to
ALLOWED: dict[LinkState, frozenset[LinkState]] = {
    LinkState.BUFFERING: frozenset({LinkState.REPLAYING}),
    LinkState.REPLAYING: frozenset({LinkState.ONLINE, LinkState.BUFFERING}),
    LinkState.ONLINE: frozenset({LinkState.BUFFERING}),
}


def transition(current: LinkState | str, target: LinkState | str) -> LinkState:
    """Return ``target`` if the link may move there from ``current``; ``LinkError`` if not.

    >>> transition("buffering", "replaying")
    <LinkState.REPLAYING: 'replaying'>

    ``transition("online", "replaying")`` raises ``LinkError``: "edge link cannot move from
    online to replaying (online may only move to buffering)".
    """
    try:
        cur, tgt = LinkState(current), LinkState(target)
    except ValueError:
        known = ", ".join(s.value for s in LinkState)
        raise LinkError(str(current), str(target), f"states are {known}") from None
    if cur is tgt:
        raise LinkError(cur.value, tgt.value, f"it is already {cur.value}")
    if tgt not in ALLOWED[cur]:
        legal = " or ".join(sorted(s.value for s in ALLOWED[cur]))
        raise LinkError(cur.value, tgt.value, f"{cur.value} may only move to {legal}")
    return tgt


@dataclass
class LinkStats:
    """The outbound side's counters (part of ``EdgeStats``, in the heartbeat and status)."""

    state: LinkState = LinkState.BUFFERING
    buffer_depth: int = 0  # items waiting in the outbox
    dropped: dict[str, int] = field(default_factory=dict)  # kind -> dropped by the full policy
    blocked: int = 0  # publishes refused by the guard (each kept as a blocked_publish event)
    published: int = 0  # items confirmed by the broker (live and replayed)
    replayed: int = 0  # of which from the backlog
    connects: int = 0  # connections established
    connect_failures: int = 0  # attempts that failed (each followed by a backoff wait)
    # consumer acknowledgement (``andon.edge.uplink``, ``consumer_ack``)
    unacked: int = 0  # items the broker took that the consumer has not acknowledged yet
    oldest_unacked_s: float = 0.0  # age of the oldest of them (s)
    acked: int = 0  # items the consumer acknowledged (then removed from the outbox)
    resent: int = 0  # items sent again because no acknowledgement came in time


@dataclass
class Backoff:
    """Exponential retry back-off with jitter (the edge's store retries).

    The n-th consecutive failed attempt waits a uniform random time in
    ``[base * 2**n / 2, min(cap, base * 2**n)]`` (half fixed, half jitter, so that retries do
    not come in lock-step, and none in a tight loop). ``reset()`` after a success.

    >>> b = Backoff(base_s=1.0, cap_s=8.0, rng=random.Random(1))
    >>> [round(b.next_delay(), 2) for _ in range(5)]
    [0.57, 1.85, 3.53, 5.02, 5.98]
    """

    base_s: float = 0.5
    cap_s: float = 30.0
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt (and count this attempt)."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** min(self.attempts, 30))
        self.attempts += 1
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        """Forget past failures (call once connected)."""
        self.attempts = 0

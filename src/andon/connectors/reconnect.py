"""When an MQTT client tries again after losing its broker: the one reconnect policy.

Every MQTT connection Andon keeps (the edge's intake and uplink, the central ingest, the MQTT
feedback listener, the simulator, the Sparkplug host) reconnects by this policy, driven by
``MqttClient.connect_retrying``:

- the first attempt after a loss is **immediate** (a broker blip or a failover to the next
  broker of the list costs no waiting, so a subscriber is back before much passes by);
- the n-th further attempt of the same outage waits a random time in ``[c / 2, c]`` with
  ``c = min(cap_s, base_s * 2**(n - 1))`` ("equal jitter": clients that lost the same broker
  spread out instead of coming back in lock-step, yet every wait has a floor that doubles, so
  none retries in a tight loop, and a test can hold a client off with a long ``base_s``);
- the outage ends, and the next loss starts again with an immediate attempt, only once a
  connection has **stayed up** ``stable_s``: a broker that accepts and then drops the
  connection at once (a session taken over by another client with the same id, a node that
  is not ready) gets the growing waits, not a tight loop.

Pure: no sockets, no clock (the caller passes its monotonic time), the randomness injectable.

>>> p = ReconnectPolicy(base_s=0.2, cap_s=1.0, rng=random.Random(1))
>>> [round(p.next_delay(), 3) for _ in range(6)]
[0.0, 0.113, 0.369, 0.706, 0.628, 0.748]
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

__all__ = ["ReconnectPolicy"]

#: the delays a policy remembers (for status and tests), most recent last
_KEPT = 256


@dataclass
class ReconnectPolicy:
    """Immediate first attempt, then exponential back-off with jitter (see module doc)."""

    base_s: float = 0.2
    cap_s: float = 10.0
    stable_s: float = 10.0  # a connection up this long ends the outage
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0  # attempts made in the current outage
    outages: int = 0  # outages begun (each with an immediate attempt)
    #: the delays handed out, most recent last (bounded)
    delays: deque[float] = field(default_factory=lambda: deque(maxlen=_KEPT))
    _up_since: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.base_s <= self.cap_s:
            raise ValueError(f"reconnect back-off needs 0 < base_s <= cap_s, got base_s="
                             f"{self.base_s:g}, cap_s={self.cap_s:g}")

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt (and count this attempt)."""
        n = self.attempts
        self.attempts += 1
        if n == 0:
            self.outages += 1
            delay = 0.0
        else:
            ceiling = min(self.cap_s, self.base_s * 2.0 ** min(n - 1, 60))
            delay = ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)
        self.delays.append(delay)
        return delay

    def connected(self, at: float) -> None:
        """An attempt succeeded at ``at`` (monotonic seconds)."""
        self._up_since = at

    def lost(self, at: float) -> bool:
        """The connection dropped at ``at``; True if that begins a new outage.

        It does when the connection had stayed up ``stable_s`` (the next attempt is then
        immediate); a connection lost sooner continues the outage it ended, back-off included.
        """
        up, self._up_since = self._up_since, None
        if up is not None and at - up >= self.stable_s:
            self.attempts = 0
        return self.attempts == 0

    def reset(self) -> None:
        """Forget the current outage: the next attempt is immediate."""
        self.attempts = 0

"""The edge's counters: what an operator reads to see that the edge is healthy.

One ``EdgeStats`` is shared by the edge's parts (ingest, scoring, recorder, uplink, watchdog);
each part updates its own fields. Nothing is dropped silently: received = stored +
quarantined + duplicates, where stored is ``recorded`` once the recorder has written it
(quarantined includes ``conflicting``: the same sample again with another value).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from andon.edge.link import LinkStats
from andon.edge.watchdog import WatchdogStats

__all__ = ["EdgeStats", "StoreStats"]


@dataclass
class StoreStats:
    """The recorder's side: writes to the edge's store, retries, what waits in memory."""

    writes: int = 0  # write transactions that succeeded
    failures: int = 0  # write attempts the store refused for now (locked, unreachable)
    retrying: bool = False  # the last attempt failed: the next waits for ``retry_at_ms``
    retry_at_ms: int = 0  # when the next attempt may run (epoch ms, the edge's clock)
    backlog: int = 0  # items (samples, quarantined messages, events) waiting to be written
    dropped: dict[str, int] = field(default_factory=dict)  # kind -> dropped (backlog full)
    unstorable: int = 0  # items the store refused for their content (quarantined or dropped)
    last_error: str = ""  # one line: the last storage error


@dataclass
class EdgeStats:
    """Counters an operator can read to see that the edge is healthy."""

    received: int = 0
    rejected: int = 0  # malformed messages (quarantined with the reason)
    quarantined: int = 0  # messages quarantined: malformed ones and contract breaches
    flagged: int = 0  # samples recorded as uncertain because they broke a flagging rule
    recorded: int = 0  # new samples written to the store
    duplicates: int = 0  # samples seen before (same source, seq): dropped, or the store had
    retained_repeats: int = 0  # a retained bad message delivered again (a reconnect): counted
    #                            in ``duplicates``, not quarantined again
    conflicting: int = 0  # same source, seq, tag, time, another value: quarantined (counted in
    #                       ``quarantined`` too), the first one stands
    late: int = 0  # samples older than their source's newest by > lateness: kept, not windowed
    gaps: int = 0  # silences longer than a tag's period (data_quality events)
    filled: int = 0  # samples inserted by a tag's fill policy (uncertain, reason filled)
    foreign: int = 0  # legacy samples of a line another edge serves (site-wide raw topics)
    failed: int = 0  # messages a bug of Andon's stopped (logged with the topic; none expected)
    windows: int = 0  # windows closed
    incomplete: int = 0  # windows with too little good data (not scored)
    unscored: int = 0  # windows closed before a model was available
    scored: int = 0
    anomalous: int = 0
    interventions: int = 0  # interventions raised or updated
    shadow_scored: int = 0  # windows scored by a version in shadow (andon.rollout)
    shadow_raised: int = 0  # would-be interventions of shadow versions: recorded, not delivered
    last_source_ms: int = 0  # newest source timestamp seen
    models: dict[str, str] = field(default_factory=dict)  # use case -> model label
    link: LinkStats = field(default_factory=LinkStats)  # outbound: link state, outbox, guard
    #: the link to the site broker, when the uplink broker is another one (else None)
    site_link: LinkStats | None = None
    watchdog: WatchdogStats = field(default_factory=WatchdogStats)  # stalled scoring restarts
    store: StoreStats = field(default_factory=StoreStats)  # writes, retries, backlog

    def counts(self) -> dict[str, int]:
        """What became of every sample the intake received; the figures add up.

        received + filled = recorded + quarantined + duplicates + foreign + failed + dropped +
        pending, where ``pending`` waits in memory for the recorder's next write.
        ``conflicting`` is part of ``quarantined``, ``retained_repeats`` of ``duplicates``.
        """
        dropped = self.store.dropped.get("samples", 0)
        done = (self.recorded + self.quarantined + self.duplicates + self.foreign + self.failed
                + dropped)
        return {"received": self.received, "filled": self.filled, "recorded": self.recorded,
                "quarantined": self.quarantined, "conflicting": self.conflicting,
                "duplicates": self.duplicates, "retained_repeats": self.retained_repeats,
                "foreign": self.foreign, "failed": self.failed, "dropped": dropped,
                "pending": self.received + self.filled - done}

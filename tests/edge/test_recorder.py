"""The recorder: a storage error never stops the edge, loses a batch or writes one twice.

A store that fails for a while (locked, unreachable) gets the same batches again after a
back-off on the edge's (manual) clock, in order, each once; one that stays down keeps the
backlog bounded, dropping the oldest (counted); data the store refuses (a lone surrogate that
got past the decoder) is found by halving the batch: the rest is written, the sample is
quarantined with the reason.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from andon.audit import Event
from andon.clock import ManualClock, from_ms, to_ms
from andon.contracts import Rule
from andon.contracts.counts import QualityCount
from andon.edge import Backoff, EdgeStats, Recorder
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress
from andon.store import SqlStore
from andon.testing.factories import T0

AT = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "vibration")


def sample(seq: int, source: str = "plc-a") -> Sample:
    return Sample(AT, 2.0, "mm/s", Quality.GOOD, to_ms(T0) + seq * 1000, seq, source)


class FlakyStore:
    """The real store, but the next ``fail`` writes raise the driver's "database is locked"."""

    def __init__(self, store: SqlStore, fail: int = 0) -> None:
        self.store = store
        self.fail = fail
        self.attempts = 0

    def _maybe_fail(self) -> None:
        self.attempts += 1
        if self.fail:
            self.fail -= 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))

    def add_samples(self, samples: Sequence[Sample], ingest_ms: int) -> int:
        self._maybe_fail()
        return self.store.add_samples(samples, ingest_ms)

    def add_event(self, event: Event) -> None:
        self._maybe_fail()
        self.store.add_event(event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def recorder(store: Any, clock: ManualClock, **kw: Any) -> Recorder:
    backoff = Backoff(base_s=1.0, cap_s=8.0, rng=random.Random(7))
    return Recorder(store, clock, EdgeStats(), backoff=backoff, **kw)


def test_a_failing_store_gets_the_batch_again_after_a_backoff_once(store: SqlStore) -> None:
    clock = ManualClock(T0)
    flaky = FlakyStore(store, fail=3)
    rec = recorder(flaky, clock)
    rec.samples.extend(sample(i) for i in range(10))
    rec.keep_event(Event("clock_skew", "plc-a", "ahead", T0))
    rec.flush()
    s = rec.stats.store
    assert (s.failures, s.retrying, flaky.attempts) == (1, True, 1)
    assert s.backlog == 11
    assert "database is locked" in s.last_error
    assert store.sample_count() == 0

    rec.samples.extend(sample(i) for i in range(10, 15))  # the edge goes on receiving
    rec.flush()
    assert flaky.attempts == 1, "no attempt before the back-off has passed"
    assert s.backlog == 16

    for expected_failures in (2, 3):
        clock.set(from_ms(s.retry_at_ms))  # the back-off has passed: one more attempt
        rec.flush()
        assert s.failures == expected_failures
    clock.advance(60)
    rec.flush()
    assert (s.retrying, s.backlog, s.failures) == (False, 0, 3)
    assert store.sample_count() == 15
    assert rec.stats.recorded == 15
    assert rec.stats.duplicates == 0
    assert [e.kind for e in store.events()] == ["clock_skew"]


def test_a_store_down_for_long_drops_the_oldest_and_counts_them(store: SqlStore) -> None:
    clock = ManualClock(T0)
    flaky = FlakyStore(store, fail=10**6)
    rec = recorder(flaky, clock, max_backlog=100)
    for batch in range(5):
        rec.samples.extend(sample(batch * 40 + i) for i in range(40))
        rec.flush()
        clock.advance(60)
    s = rec.stats.store
    assert s.backlog <= 100
    assert s.dropped == {"samples": 120}, "the three oldest batches"
    flaky.fail = 0
    rec.flush()
    assert sorted(x.seq for x in store.samples()) == list(range(120, 200))


def test_a_sample_the_store_refuses_is_quarantined_and_the_rest_written(
        store: SqlStore) -> None:
    clock = ManualClock(T0)
    rec = recorder(store, clock)
    good = [sample(i) for i in range(7)]
    bad = sample(99, source="plc-\ud800")  # past the decoder, somehow
    rec.samples.extend([*good[:3], bad, *good[3:]])
    rec.keep_quality(to_ms(T0), [QualityCount("ghent", "p-101", "vibration", "", "range", 1)], [])
    rec.flush()
    assert sorted(x.seq for x in store.samples()) == list(range(7))
    [item] = store.quarantined()
    assert item.rule is Rule.MALFORMED
    assert "the store refused this sample" in item.reason
    assert "surrogates not allowed" in item.reason
    assert b'"src":"plc-\\ud800"' in item.payload
    assert item.source == "plc-\\ud800"
    assert rec.stats.quarantined == 1
    assert rec.stats.store.unstorable == 1
    assert rec.stats.store.failures == 0, "refused data is no outage: no back-off"
    assert store.quality_counts() != []


def test_an_event_with_unstorable_text_is_kept_with_escapes(store: SqlStore) -> None:
    rec = recorder(store, ManualClock(T0))
    rec.keep_event(Event("clock_skew", "plc-\ud800", "ahead by 5 s", T0))
    rec.keep_event(Event("clock_skew", "plc-b", "ahead by 6 s", T0))
    rec.flush()
    assert sorted(e.subject for e in store.events()) == ["plc-\\ud800", "plc-b"]
    assert rec.stats.store.backlog == 0


@pytest.mark.parametrize("force", [False, True])
def test_a_last_write_may_skip_the_backoff(store: SqlStore, force: bool) -> None:
    clock = ManualClock(T0)
    flaky = FlakyStore(store, fail=1)
    rec = recorder(flaky, clock)
    rec.samples.append(sample(1))
    rec.flush()
    rec.write([sample(2)], [], force=force)
    assert store.sample_count() == (2 if force else 0)
    assert rec.left() == (0 if force else 2)

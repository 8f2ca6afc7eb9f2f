"""Reading samples for charts: the newest sample time per asset, per-tag buckets of a period."""

from __future__ import annotations

from typing import TYPE_CHECKING

from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress

if TYPE_CHECKING:
    from andon.store import SqlStore


def _sample(asset: str, tag: str, ts_ms: int, seq: int) -> Sample:
    address = TagAddress("acme", "ghent", "utilities", "cooling-water", asset, tag)
    return Sample(address, 1.0, "bar", Quality.GOOD, ts_ms, seq, "plc-1")


def test_each_assets_newest_source_time_whatever_the_order_written(any_store: SqlStore) -> None:
    any_store.add_samples([_sample("p-101", "flow", 5_000, 1), _sample("p-101", "speed", 9_000, 2),
                           _sample("p-102", "flow", 7_000, 3)], 10_000)
    any_store.add_samples([_sample("p-101", "flow", 3_000, 4)], 11_000)  # late, older
    assert any_store.newest_sample_ms(["p-101", "p-102", "m-103", "p-101"]) == {
        "p-101": 9_000, "p-102": 7_000}  # an asset without samples is left out
    assert any_store.newest_sample_ms([]) == {}


def test_sample_buckets_give_each_tags_count_and_extremes_per_span(any_store: SqlStore) -> None:
    values = {0: 5.0, 1_000: 1.0, 2_000: 9.0, 5_000: 4.0, 6_000: 2.0, 9_999: 8.0}
    any_store.add_samples([_sample("p-101", "flow", ms, i) for i, (ms, _v) in
                           enumerate(values.items())], 0)
    any_store.add_samples([Sample(s.address, values[s.ts_ms], s.unit, s.quality, s.ts_ms,
                                  s.seq + 100, "plc-2")
                           for s in any_store.samples(assets=["p-101"])], 0)  # second source
    any_store.add_samples([_sample("p-101", "speed", 7_000, 50),
                           _sample("p-101", "speed", 10_000, 51),  # the period's end: out
                           _sample("p-102", "flow", 1_000, 52)], 0)  # another asset
    buckets = any_store.sample_buckets("p-101", start_ms=0, end_ms=10_000, buckets=2)
    assert [(b.tag, b.first_ms, b.last_ms, b.count, b.low, b.high) for b in buckets] == [
        ("flow", 0, 2_000, 6, 1.0, 9.0), ("flow", 5_000, 9_999, 6, 1.0, 8.0),
        ("speed", 7_000, 7_000, 1, 1.0, 1.0)]

"""``quality_per_hour``: tags' quality counters per hour, the data-quality page's trend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from andon.clock import to_ms
from andon.contracts.counts import QualityCount
from andon.testing.factories import T0

if TYPE_CHECKING:
    from andon.store import SqlStore

HOUR_MS = 3_600_000


def test_counters_are_summed_per_hour_asset_and_metric_without_sources(
        any_store: SqlStore) -> None:
    t0 = to_ms(T0)
    any_store.add_quality_counts(t0 + 60_000, [
        QualityCount("ghent", "p-101", "bearing_temp", "", "received", 5),
        QualityCount("ghent", "p-101", "speed", "", "received", 4),
        QualityCount("ghent", "p-101", "bearing_temp", "", "out_of_range", 1),
        QualityCount("ghent", "", "", "plc-1", "received", 9)])  # a source's row: left out
    any_store.add_quality_counts(t0 + 2 * HOUR_MS, [
        QualityCount("ghent", "p-102", "flow", "", "received", 3),
        QualityCount("lisbon", "p-301", "flow", "", "received", 2)])
    rows = any_store.quality_per_hour()
    assert [(at - t0, c.site, c.asset, c.metric, c.count) for at, c in rows] == [
        (0, "ghent", "p-101", "out_of_range", 1), (0, "ghent", "p-101", "received", 9),
        (2 * HOUR_MS, "ghent", "p-102", "received", 3),
        (2 * HOUR_MS, "lisbon", "p-301", "received", 2)]
    later = any_store.quality_per_hour(since_ms=t0 + HOUR_MS + 1, site="ghent")
    assert [(c.asset, c.count) for _, c in later] == [("p-102", 3)]
    assert [c.metric for _, c in any_store.quality_per_hour(asset="p-101")] == [
        "out_of_range", "received"]

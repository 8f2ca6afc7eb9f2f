"""The data-quality tables on SQLite and PostgreSQL: counters add up per hour, skew per minute,
samples keep their quality reason code, and an older SQLite file gains the reason column."""

from __future__ import annotations

import pytest

from andon.clock import to_ms, utc
from andon.contracts.counts import QualityCount, SkewPoint
from andon.kpi.quality import report_from
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress
from andon.store import SqlStore

T0 = to_ms(utc(2026, 3, 2, 6))
HOUR = 3_600_000
AT = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "flow")


@pytest.fixture
def store(any_store: SqlStore) -> SqlStore:
    """The shared fresh store on each backend (``any_store`` in tests/conftest.py)."""
    return any_store


def c(metric: str, n: int, *, asset: str = "p-101", tag: str = "flow", source: str = "",
      site: str = "ghent") -> QualityCount:
    return QualityCount(site, asset, tag, source, metric, n)


def test_counters_add_up_per_hour_and_sum_over_hours(store: SqlStore) -> None:
    store.add_quality_counts(T0 + 10, [c("received", 50), c("stuck", 3)])
    store.add_quality_counts(T0 + 20 * 60_000, [c("received", 10), c("stuck", 1)])
    store.add_quality_counts(T0 + HOUR, [c("received", 60),
                                         c("duplicate", 2, asset="", tag="", source="plc")])
    store.add_quality_counts(T0 + HOUR, [c("received", 5, site="porto", asset="p-301")])
    got = {(x.site, x.asset, x.source, x.metric): x.count for x in store.quality_counts()}
    assert got == {("ghent", "p-101", "", "received"): 120, ("ghent", "p-101", "", "stuck"): 4,
                   ("ghent", "", "plc", "duplicate"): 2, ("porto", "p-301", "", "received"): 5}
    later = {(x.asset, x.metric): x.count for x in store.quality_counts(since_ms=T0 + HOUR + 5)}
    assert later == {("p-101", "received"): 60, ("", "duplicate"): 2, ("p-301", "received"): 5}
    assert {x.asset for x in store.quality_counts(site="porto")} == {"p-301"}
    assert {x.metric for x in store.quality_counts(asset="p-101")} == {"received", "stuck"}


def test_skew_keeps_the_latest_estimate_per_source_and_minute(store: SqlStore) -> None:
    store.add_skew_points([SkewPoint("plc", T0 + 1_000, 89_000, correcting=False),
                           SkewPoint("plc", T0 + 30_000, 90_000, correcting=True),
                           SkewPoint("plc", T0 + 61_000, 90_010, correcting=True),
                           SkewPoint("other", T0, -40, correcting=False)])
    assert store.skew_points(source="plc") == [
        SkewPoint("plc", T0, 90_000, correcting=True),
        SkewPoint("plc", T0 + 60_000, 90_010, correcting=True)]
    assert [p.source for p in store.skew_points(since_ms=T0 + 60_000)] == ["plc"]
    report = report_from(store)
    assert [(s.source, s.skew_ms, s.correcting) for s in report.sources] == [
        ("plc", 90_010, True), ("other", -40, False)]


def test_samples_keep_their_quality_reason_code(store: SqlStore) -> None:
    store.add_samples([
        Sample(AT, 1.0, "m^3/h", Quality.UNCERTAIN, T0, 1, "plc", "stuck"),
        Sample(AT, 1.0, "m^3/h", Quality.UNCERTAIN, T0 + 60_000, -(T0 + 60_000), "plc",
               "filled"),
        Sample(AT, 2.0, "m^3/h", Quality.GOOD, T0 + 120_000, 2, "plc"),
    ], T0 + 120_500)
    assert [(s.reason, s.seq < 0) for s in store.samples()] == [
        ("stuck", False), ("filled", True), (None, False)]

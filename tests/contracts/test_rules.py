"""Each contract rule gives an exact verdict; compatible units are converted, others refused.

The checker is fed canonical samples with explicit source and ingest times (no clock).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.clock import utc
from andon.contracts import (
    QUARANTINE,
    ContractChecker,
    QualityEvents,
    Rule,
    Verdict,
    contracts_of,
)
from andon.namespace import Quality, Sample, TagAddress
from andon.spec.model import Asset, PlantSpec, Tag

LEVELS = ("acme", "ghent", "utilities", "cooling-water")
PATH = "acme/ghent/utilities/cooling-water/p-101"
MIN = 60_000  # ms


def checker(**tag: Any) -> ContractChecker:
    fields: dict[str, Any] = {"name": "t", "quantity": "temperature", "unit": "degC",
                              "range": [-10, 150], "period": "60s"}
    fields.update(tag)
    return ContractChecker.of_tags(LEVELS, [Asset(id="p-101", name="P", kind="pump",
                                                  tags=[Tag(**fields)])])


def sample(value: float, t_min: float = 1, *, unit: str = "degC", tag: str = "t",
           quality: Quality = Quality.GOOD, asset: str = "p-101",
           line: str = "cooling-water") -> Sample:
    ts = round(t_min * MIN)
    return Sample(TagAddress("acme", "ghent", "utilities", line, asset, tag), value, unit,
                  quality, ts, round(t_min), "plc-1")


def only(verdict: Verdict) -> tuple[Rule, str]:
    assert len(verdict.violations) == 1, verdict
    v = verdict.violations[0]
    return v.rule, v.reason


# -- the table ----------------------------------------------------------------------------------
def test_quarantining_and_flagging_rules_are_the_documented_table() -> None:
    assert {r.value for r in QUARANTINE} == {
        "malformed", "unknown_tag", "unit_mismatch", "out_of_range", "not_in_enum",
        "counter_decreased", "future", "before_floor", "conflicting_duplicate"}
    assert {r.value for r in Rule} - {r.value for r in QUARANTINE} == {
        "rate_of_change", "stuck", "stale",
        # time rules (andon.contracts.timing): reason codes, never quarantined
        "late", "duplicate", "gap", "filled", "skew_corrected"}


def test_a_clean_sample_is_accepted_unchanged() -> None:
    s = sample(41.0)
    verdict = checker().check(s, s.ts_ms)
    assert verdict == Verdict(s, ())
    assert verdict.sample is s
    assert not verdict.quarantined


# -- unit ---------------------------------------------------------------------------------------
def test_degf_is_converted_to_degc() -> None:
    verdict = checker().check(sample(212.0, unit="degF"), MIN)
    assert verdict.violations == ()
    assert verdict.sample is not None
    assert verdict.sample.unit == "degC"
    assert verdict.sample.value == pytest.approx(100.0)
    assert verdict.sample.quality is Quality.GOOD


def test_psi_is_converted_to_bar() -> None:
    c = checker(name="p", quantity="pressure", unit="bar", range=[0, 16])
    verdict = c.check(sample(100.0, unit="psi", tag="p"), MIN)
    assert verdict.sample is not None
    assert (verdict.sample.unit, verdict.violations) == ("bar", ())
    assert verdict.sample.value == pytest.approx(6.894757, rel=1e-6)


@settings(deadline=None, max_examples=50)
@given(st.floats(min_value=-400, max_value=300, allow_nan=False))
def test_fahrenheit_conversion_matches_pint(value_f: float) -> None:
    verdict = checker(range=[-1000, 1000]).check(sample(value_f, unit="degF"), MIN)
    assert verdict.sample is not None
    assert verdict.sample.value == pytest.approx((value_f - 32) * 5 / 9, abs=1e-9)


def test_an_incompatible_unit_is_quarantined_naming_tag_unit_and_expected_unit() -> None:
    verdict = checker().check(sample(3.0, unit="bar"), MIN)
    assert verdict.quarantined
    rule, reason = only(verdict)
    assert rule is Rule.UNIT_MISMATCH
    assert f"{PATH}/t" in reason
    assert "'bar'" in reason
    assert "expected unit degC" in reason


def test_an_unknown_unit_is_quarantined() -> None:
    rule, reason = only(checker().check(sample(3.0, unit="furlongs_per_bogon"), MIN))
    assert rule is Rule.UNIT_MISMATCH
    assert reason == (f"{PATH}/t: unit 'furlongs_per_bogon' is not a unit pint knows "
                      "(expected degC)")


def test_a_converted_value_is_range_checked_in_the_canonical_unit() -> None:
    rule, reason = only(checker().check(sample(400.0, unit="degF"), MIN))
    assert rule is Rule.OUT_OF_RANGE
    assert "(sent 400 degF)" in reason


# -- tag, range, enum ---------------------------------------------------------------------------
def test_an_unknown_tag_or_a_known_asset_on_the_wrong_line_is_unknown() -> None:
    c = checker()
    assert only(c.check(sample(1.0, tag="nope"), MIN)) == (
        Rule.UNKNOWN_TAG, f"{PATH.rsplit('/', 1)[0]}/p-101/nope: no such tag in the plant spec")
    rule, reason = only(c.check(sample(1.0, line="other-line"), MIN))
    assert rule is Rule.UNKNOWN_TAG
    assert "acme/ghent/utilities/other-line/p-101/t" in reason


@pytest.mark.parametrize(("value", "ok"), [(-10.0, True), (150.0, True), (-10.01, False),
                                           (150.5, False)])
def test_range_bounds_are_inclusive(value: float, ok: bool) -> None:
    verdict = checker().check(sample(value), MIN)
    if ok:
        assert verdict.violations == ()
    else:
        assert only(verdict) == (
            Rule.OUT_OF_RANGE,
            f"{PATH}/t: value {value:g} degC is outside the valid range [-10, 150]")
        assert verdict.quarantined


def test_a_discrete_tag_accepts_only_its_enum_values() -> None:
    c = checker(name="mode", quantity="state", unit="dimensionless", range=[0, 5],
                enum=[0, 1, 2])
    assert c.check(sample(2.0, tag="mode", unit="dimensionless"), MIN).violations == ()
    assert only(c.check(sample(3.0, 2, tag="mode", unit="dimensionless"), 2 * MIN)) == (
        Rule.NOT_IN_ENUM, f"{PATH}/mode: value 3 is not one of the allowed values 0, 1, 2")


def test_enum_values_outside_the_range_are_refused_by_the_spec() -> None:
    with pytest.raises(ValueError, match="enum"):
        Tag(name="mode", quantity="state", unit="dimensionless", range=[0, 5], period=60,
            enum=[0, 9])


# -- counters -----------------------------------------------------------------------------------
def test_counter_decrease_is_quarantined_once_then_counting_goes_on() -> None:
    c = checker(name="strokes", quantity="count", unit="dimensionless", range=[0, 1e9])
    assert c.check(sample(100.0, 1, tag="strokes", unit="dimensionless"), MIN).violations == ()
    assert c.check(sample(100.0, 2, tag="strokes", unit="dimensionless"), MIN).violations == ()
    verdict = c.check(sample(5.0, 3, tag="strokes", unit="dimensionless"), MIN)
    assert verdict.quarantined
    assert only(verdict) == (Rule.COUNTER_DECREASED,
                             f"{PATH}/strokes: counter went down from 100 to 5")
    # a reset: the next increase from the new value is fine
    assert c.check(sample(6.0, 4, tag="strokes", unit="dimensionless"), MIN).violations == ()


def test_count_tags_are_monotonic_by_default_and_can_opt_out() -> None:
    kw = {"name": "n", "quantity": "count", "unit": "dimensionless", "range": [0, 10]}
    assert Tag(**kw, period=60).is_counter
    assert not Tag(**kw, period=60, monotonic=False).is_counter
    c = checker(**kw, monotonic=False)
    c.check(sample(5.0, 1, tag="n", unit="dimensionless"), MIN)
    assert c.check(sample(1.0, 2, tag="n", unit="dimensionless"), MIN).violations == ()


# -- flags: rate, stuck, stale ------------------------------------------------------------------
def test_rate_of_change_flags_the_sample_uncertain_and_keeps_it() -> None:
    c = checker(max_rate=0.05)  # degC per second
    c.check(sample(40.0, 1), MIN)
    assert c.check(sample(42.9, 2), MIN).violations == ()  # 2.9 in 60 s: 0.048/s
    verdict = c.check(sample(46.0, 3), MIN)  # +3.1 in 60 s
    assert verdict.sample is not None
    assert verdict.sample.quality is Quality.UNCERTAIN
    assert verdict.sample.value == 46.0
    assert only(verdict) == (Rule.RATE_OF_CHANGE,
                             f"{PATH}/t: changed +3.1 degC in 60 s (0.0517/s, limit 0.05/s)")


def test_stuck_flags_after_n_flat_periods_until_the_value_moves() -> None:
    c = checker(stuck_after=3)
    rules = [[v.rule for v in c.check(sample(value, t), MIN).violations]
             for t, value in enumerate([40.0, 41.0, 41.0, 41.0, 41.0, 41.0, 41.5, 41.5], 1)]
    assert rules == [[], [], [], [], [Rule.STUCK], [Rule.STUCK], [], []]
    c2 = checker(stuck_after=3)
    for t in range(1, 5):
        verdict = c2.check(sample(41.0, t), MIN)
    assert only(verdict) == (Rule.STUCK,
                             f"{PATH}/t: value 41 degC unchanged for 180 s (stuck after 180 s)")
    assert verdict.sample is not None
    assert verdict.sample.quality is Quality.UNCERTAIN


def test_stale_source_time_is_flagged_against_the_explicit_ingest_time() -> None:
    c = checker(max_staleness="5min")
    assert c.check(sample(40.0, 1), MIN + 300_000).violations == ()
    verdict = c.check(sample(40.0, 2), 2 * MIN + 300_001)
    assert only(verdict) == (Rule.STALE,
                             f"{PATH}/t: source time is 300.001 s old at ingest (limit 300 s)")


def test_several_flags_on_one_sample_are_all_reported() -> None:
    c = checker(stuck_after=2, max_staleness=60)
    for t in (1, 2):
        c.check(sample(40.0, t), t * MIN)
    verdict = c.check(sample(40.0, 3), 10 * MIN)
    assert [v.rule for v in verdict.violations] == [Rule.STUCK, Rule.STALE]


def test_bad_quality_samples_are_kept_bad_without_value_rules() -> None:
    c = checker()
    verdict = c.check(sample(-999.0, quality=Quality.BAD), MIN)
    assert verdict.violations == ()
    assert verdict.sample is not None
    assert verdict.sample.quality is Quality.BAD
    # ... but the tag and unit still have to be right
    assert only(c.check(sample(1.0, quality=Quality.BAD, unit="bar"), MIN))[0] is (
        Rule.UNIT_MISMATCH)


def test_out_of_range_values_do_not_become_the_last_value() -> None:
    c = checker(max_rate=0.05)
    c.check(sample(40.0, 1), MIN)
    c.check(sample(999.0, 2), MIN)
    assert c.check(sample(41.0, 3), MIN).violations == ()


# -- the spec -----------------------------------------------------------------------------------
def test_existing_specs_stay_valid_and_get_range_and_unit_contracts(demo_spec: PlantSpec) -> None:
    contracts = contracts_of(demo_spec)
    assert len(contracts) == demo_spec.tag_count()
    strokes = contracts["pr-201", "stroke_count"]
    assert strokes.monotonic
    drive = contracts["cv-202", "drive_temp"]
    assert (drive.path, drive.unit, drive.low, drive.high, drive.stuck_after_ms) == (
        "acme/ghent/assembly/press-line/cv-202/drive_temp", "degC", -10.0, 150.0, 600_000)


# -- events -------------------------------------------------------------------------------------
def test_breach_events_are_rate_limited_per_tag_and_rule_but_counted() -> None:
    c = checker(stuck_after=2)
    events = QualityEvents(every_s=3600)
    t0 = utc(2026, 3, 2)
    written = []
    for t in range(1, 200):
        verdict = c.check(sample(40.0, t), t * MIN)
        for v in verdict.violations:
            e = events.note(v, t0 + timedelta(minutes=t))
            if e is not None:
                written.append(e)
    assert events.counts[Rule.STUCK] == 197
    assert len(written) == 4  # minutes 3, 63, 123, 183
    assert all(e.kind == "data_quality" and e.subject == f"{PATH}/t" for e in written)
    assert written[1].detail.endswith("(+59 more since 2026-03-02T00:03:00+00:00)")

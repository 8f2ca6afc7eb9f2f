"""Time rules (``andon.contracts.timing``): duplicates, clock skew, lateness, gaps and fills.

Each rule with exact counts; the ``Timekeeper`` is pure, so times are plain epoch ms, and the
edge wiring is checked on a ``ManualClock``.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.clock import ManualClock, from_ms, to_ms, utc
from andon.contracts.rules import Rule
from andon.contracts.timing import (
    SKEW_MIN_SAMPLES,
    GapNote,
    SkewNote,
    TagTiming,
    Timekeeper,
    TimeRules,
)
from andon.edge import build_edge
from andon.errors import SpecErrors
from andon.namespace import Quality, Sample, TagAddress
from andon.spec import load_spec_text
from andon.store import open_store

if TYPE_CHECKING:
    from pathlib import Path

AT = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "flow")
AT2 = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "speed")
MIN = 60_000
T0 = to_ms(utc(2026, 3, 2))


def s(ts: int, seq: int, *, value: float = 1.0, at: TagAddress = AT, src: str = "plc") -> Sample:
    return Sample(at, value, "m^3/h", Quality.GOOD, ts, seq, src)


def keeper(*, fill_ms: int | None = None, correct: bool = False, lateness_ms: int = 60_000,
           window: int = 1024, max_sources: int = 1024) -> Timekeeper:
    tags = {("p-101", "flow"): TagTiming(MIN, fill_ms), ("p-101", "speed"): TagTiming(MIN)}
    rules = TimeRules(skew_threshold_ms=2_000, lateness_ms=lateness_ms, correct=correct)
    return Timekeeper(tags, default=rules, dedupe_window=window, max_sources=max_sources)


def counts(k: Timekeeper) -> dict[tuple[str, str, str, str], int]:
    return {(c.asset, c.tag, c.source, c.metric): c.count for c in k.take_counts()}


# -- duplicates -----------------------------------------------------------------------------
def test_duplicates_by_source_and_sequence_are_dropped_and_counted() -> None:
    k = keeper()
    first = [s(T0 + i * MIN, i) for i in range(5)]
    assert [k.admit(x, x.ts_ms) for x in first] == first
    assert [k.admit(x, x.ts_ms + 5) for x in (first[1], first[3], first[3])] == [None] * 3
    # the same seq on another tag, or from another source, is no duplicate
    assert k.admit(s(T0 + MIN, 1, at=AT2), T0 + MIN) is not None
    assert k.admit(s(T0 + MIN, 1, src="other"), T0 + MIN) is not None
    got = counts(k)
    assert got["p-101", "flow", "", "duplicate"] == 3
    assert got["", "", "plc", "duplicate"] == 3
    assert got["", "", "plc", "received"] == 6


def test_the_dedupe_window_is_bounded_per_source() -> None:
    k = keeper(window=4)
    for i in range(10):
        k.admit(s(T0 + i * MIN, i), T0 + i * MIN)
    src = k.source("plc")
    assert src is not None
    assert [key and key[0] for key in src.ring] == [8, 9, 6, 7]  # slot seq % 4: the last 4
    assert k.admit(s(T0 + 9 * MIN, 9), T0) is None  # still remembered
    assert k.admit(s(T0 + 6 * MIN, 6), T0) is None
    assert k.admit(s(T0 + 2 * MIN, 2), T0) is not None  # forgotten: passed on (the store's
    # unique (source, seq, asset, tag) key still refuses it)
    with pytest.raises(ValueError, match="power of two"):
        keeper(window=100)


def test_sources_are_bounded_oldest_forgotten_first() -> None:
    k = keeper(max_sources=3)
    for i in range(5):
        k.admit(s(T0, 0, src=f"src-{i}"), T0)
    assert [x.source for x in k.sources()] == ["src-2", "src-3", "src-4"]


# -- clock skew -----------------------------------------------------------------------------
def test_skew_estimate_is_the_minimum_offset_robust_to_network_delay() -> None:
    """Source 90 s ahead; delays 20 ms to 1.5 s: the estimate is 90 s minus the least delay."""
    rng = random.Random(5)
    k = keeper()
    delays = [rng.randint(20, 1500) for _ in range(200)]
    for i, delay in enumerate(delays):
        true = T0 + i * 3_000
        k.admit(s(true + 90_000, i), true + delay)
    src = k.source("plc")
    assert src is not None
    window = delays[-(10 * 60 // 3):]  # the last 10 minutes of ingest time: 200 samples
    assert src.skew_ms == 90_000 - min(window)
    assert not src.correcting  # no ``time:`` in the spec: estimated and reported only
    notes = k.take_notes()
    # told once: later estimates move by less than the 2 s threshold
    assert notes == [SkewNote("plc", 90_000 - delays[0], correcting=False, samples=1)]


def test_a_skewed_source_is_corrected_above_the_threshold_once_the_estimate_settles() -> None:
    k = keeper(correct=True)
    out = []
    for i in range(8):
        true = T0 + i * MIN
        out.append(k.admit(s(true + 90_000, i), true + 50))
    assert [x.reason for x in out if x is not None] == [None] * (SKEW_MIN_SAMPLES - 1) + [
        Rule.SKEW_CORRECTED.value] * (8 - SKEW_MIN_SAMPLES + 1)
    assert [x.ts_ms - T0 for x in out[SKEW_MIN_SAMPLES - 1:] if x is not None] == [
        i * MIN + 50 for i in range(SKEW_MIN_SAMPLES - 1, 8)]
    notes = k.take_notes()
    assert notes == [SkewNote("plc", 89_950, correcting=False, samples=1),
                     SkewNote("plc", 89_950, correcting=True, samples=5)]
    assert notes[1].reason == ("source plc: clock 89.95 s ahead (estimate from 5 samples); "
                               "correcting its source times")
    got = counts(k)
    assert got["", "", "plc", Rule.SKEW_CORRECTED.value] == 8 - SKEW_MIN_SAMPLES + 1


def test_a_skew_below_the_threshold_is_never_corrected_nor_told() -> None:
    k = keeper(correct=True)
    for i in range(20):
        true = T0 + i * MIN
        x = k.admit(s(true + 1_500, i), true + 10)
        assert x is not None
        assert x.reason is None
    src = k.source("plc")
    assert src is not None
    assert (src.skew_ms, src.correcting) == (1_490, False)
    assert k.take_notes() == []


def test_a_drifting_clock_is_told_at_most_once_a_minute() -> None:
    """An accelerated simulation on a wall-clock edge: source time runs 900x faster."""
    k = keeper()
    for i in range(600):  # 10 wall minutes, a sample a second; 15 min of source time each
        k.admit(s(T0 + i * 900_000, i), T0 + i * 1_000)
    notes = k.take_notes()
    # at most one a minute (the first estimate, 0 s, is no news): minutes 1 to 9
    assert [n.samples for n in notes if isinstance(n, SkewNote)] == [
        60 * m + 1 for m in range(1, 10)]
    assert all(isinstance(n, SkewNote) and not n.correcting for n in notes)
    src = k.source("plc")
    assert src is not None
    assert src.skew_ms == 599 * 899_000  # the newest offset: the minimum of a falling series


# -- lateness -------------------------------------------------------------------------------
def test_out_of_order_within_the_lateness_is_accepted_beyond_it_flagged_late() -> None:
    k = keeper(lateness_ms=60_000)
    newest = k.admit(s(T0 + 10 * MIN, 10), T0 + 10 * MIN)
    within = k.admit(s(T0 + 9 * MIN, 9), T0 + 10 * MIN)
    edge = k.admit(s(T0 + 9 * MIN, 99, at=AT2), T0 + 10 * MIN)  # exactly the lateness: fine
    late = k.admit(s(T0 + 8 * MIN, 8), T0 + 10 * MIN)
    assert newest is not None
    assert within is not None
    assert edge is not None
    assert (within.reason, within.quality) == (None, Quality.GOOD)
    assert edge.reason is None
    assert late is not None
    assert (late.reason, late.quality, late.ts_ms) == ("late", Quality.UNCERTAIN, T0 + 8 * MIN)
    got = counts(k)
    assert got["p-101", "flow", "", "late"] == 1
    assert got["", "", "plc", "late"] == 1


# -- future ---------------------------------------------------------------------------------
Y2100 = to_ms(utc(2100, 1, 1))


def test_a_sample_far_in_the_future_is_marked_and_moves_nothing() -> None:
    """A year-2100 timestamp mid-stream: marked ``future``; later real samples stay on time."""
    k = keeper()
    for i in range(3):
        assert k.admit(s(T0 + i * MIN, i), T0 + i * MIN + 30) is not None
    bogus = k.admit(s(Y2100, 3), T0 + 2 * MIN + 40)
    assert bogus is not None
    assert (bogus.reason, bogus.ts_ms) == ("future", Y2100)
    src = k.source("plc")
    assert src is not None
    assert (src.watermark, src.skew_ms) == (T0 + 2 * MIN, -30)
    after = [k.admit(s(T0 + i * MIN, i), T0 + i * MIN + 30) for i in range(4, 7)]
    assert [x.reason for x in after if x is not None] == [None, None, None]
    assert counts(k)["", "", "plc", "future"] == 1


def test_an_accelerated_or_silent_source_is_not_taken_for_the_future() -> None:
    """900x simulated time, or a day's silence then a jump of two days, is plausible."""
    k = keeper()
    ingest = T0
    for i in range(50):  # the demo: 15 simulated minutes per wall-clock second
        ingest += 1_000
        got = k.admit(s(T0 + i * 15 * MIN, i), ingest)
        assert got is not None
        assert got.reason is None
    day = 86_400_000
    quiet = k.admit(s(T0 + 50 * 15 * MIN + 2 * day, 50), ingest + day)
    assert quiet is not None
    assert quiet.reason is None
    jump = k.admit(s(T0 + 50 * 15 * MIN + 4 * day, 51), ingest + day + 1_000)
    assert jump is not None
    assert jump.reason == "future"  # two days ahead one second later: not plausible


# -- gaps -----------------------------------------------------------------------------------
def test_a_gap_is_counted_and_noted_never_filled_without_a_policy() -> None:
    k = keeper()
    for ts in (0, 1, 2, 8, 9):  # minutes: 5 samples missing between 2 and 8
        x = k.admit(s(T0 + ts * MIN, ts), T0 + ts * MIN)
        assert x is not None
        assert k.follow(x) == ()
    assert k.take_notes() == [GapNote("acme/ghent/utilities/cooling-water/p-101/flow", "plc",
                                      T0 + 2 * MIN, T0 + 8 * MIN, 5, 0)]
    got = counts(k)
    assert got["p-101", "flow", "", "gap"] == 1
    assert got["p-101", "flow", "", "missing"] == 5
    assert got["p-101", "flow", "", "received"] == 5
    assert ("p-101", "flow", "", "filled") not in got


def test_jitter_below_one_and_a_half_periods_is_no_gap() -> None:
    k = keeper()
    for i, ts in enumerate((0, 89_000, 150_000, 239_999)):
        x = k.admit(s(T0 + ts, i), T0 + ts)
        assert x is not None
        k.follow(x)
    assert k.take_notes() == []


def test_hold_last_fills_up_to_the_max_then_marks_the_gap_bad() -> None:
    k = keeper(fill_ms=120_000)
    a = k.admit(s(T0, 0, value=7.5), T0)
    assert a is not None
    assert k.follow(a) == ()
    b = k.admit(s(T0 + 6 * MIN, 1, value=9.0), T0 + 6 * MIN)
    assert b is not None
    fills = k.follow(b)
    assert [(f.ts_ms - T0, f.value, f.quality, f.reason, f.seq) for f in fills] == [
        (MIN, 7.5, Quality.UNCERTAIN, "filled", -(T0 + MIN)),
        (2 * MIN, 7.5, Quality.UNCERTAIN, "filled", -(T0 + 2 * MIN)),
        (3 * MIN, 7.5, Quality.BAD, "gap", -(T0 + 3 * MIN)),
    ]
    assert [n.reason for n in k.take_notes() if isinstance(n, GapNote)] == [
        ("acme/ghent/utilities/cooling-water/p-101/flow: no sample for 360 s "
         "(5 expected samples missing); 2 filled (hold_last)")]
    got = counts(k)
    assert (got["p-101", "flow", "", "missing"], got["p-101", "flow", "", "filled"]) == (5, 2)


def test_a_gap_shorter_than_the_fill_max_is_filled_without_a_bad_marker() -> None:
    k = keeper(fill_ms=600_000)
    for ts, seq in ((0, 0), (3 * MIN, 1)):
        x = k.admit(s(T0 + ts, seq), T0 + ts)
        assert x is not None
        fills = k.follow(x)
    assert [(f.ts_ms - T0, f.reason) for f in fills] == [(MIN, "filled"), (2 * MIN, "filled")]


# -- spec -----------------------------------------------------------------------------------
def _demo_text() -> str:
    from conftest import DEMO_SPEC  # noqa: PLC0415

    return DEMO_SPEC.read_text(encoding="utf-8")


def test_spec_time_and_fill_policies_load_and_bad_ones_give_one_line() -> None:
    text = _demo_text().replace(
        "period: 60s, description: Delivered flow}",
        "period: 60s, fill: {policy: hold_last, max: 2min}, description: Delivered flow}", 1)
    spec = load_spec_text(text + "time: {skew_threshold: 5s, lateness: 30s}\n")
    assert spec.time is not None
    assert (spec.time.skew_threshold, spec.time.lateness) == (5.0, 30.0)
    flow = next(t for t in spec.asset("p-101")[3].tags if t.name == "flow")
    assert flow.fill is not None
    assert flow.fill.max == 120.0
    with pytest.raises(SpecErrors) as err:
        load_spec_text(_demo_text() + "time: {skew_threshold: -2s}\n")
    assert len(str(err.value).splitlines()) == 1
    assert "time.skew_threshold" in str(err.value)


# -- the edge -------------------------------------------------------------------------------
def test_the_edge_drops_duplicates_records_late_and_filled_samples(
    sqlite_url: str, tmp_path: Path,
) -> None:
    text = _demo_text().replace(
        "period: 60s, description: Delivered flow}",
        "period: 60s, fill: {policy: hold_last, max: 2min}, description: Delivered flow}", 1)
    spec = load_spec_text(text)
    flow = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "flow")
    clock = ManualClock(from_ms(T0))
    with open_store(sqlite_url) as store:
        edge = build_edge(spec, store, tmp_path / "models", clock=clock)

        def feed(minute: int, seq: int) -> None:
            clock.set(max(clock.now(), from_ms(T0 + minute * MIN) + timedelta(milliseconds=30)))
            edge.on_sample(Sample(flow, 100.0 + minute, "m^3/h", Quality.GOOD,
                                  T0 + minute * MIN, seq, "plc-ghent-cooling-water"))

        for minute, seq in ((0, 0), (1, 1), (1, 1), (6, 2), (4, 3)):
            feed(minute, seq)
        edge.flush()
        stored = store.samples(assets=["p-101"])
        report = store.quality_counts()
        events = store.events(kind="data_quality")
    assert [(x.ts_ms - T0, x.quality.value, x.reason) for x in stored] == [
        (0, "good", None), (MIN, "good", None), (2 * MIN, "uncertain", "filled"),
        (3 * MIN, "uncertain", "filled"), (4 * MIN, "bad", "gap"),  # fills' seq < 0: first
        (4 * MIN, "uncertain", "late"), (6 * MIN, "good", None)]
    assert (edge.stats.duplicates, edge.stats.late, edge.stats.gaps, edge.stats.filled) == (
        1, 1, 1, 2)
    got = {(c.asset, c.tag, c.source, c.metric): c.count for c in report}
    assert got["p-101", "flow", "", "received"] == 4
    assert got["p-101", "flow", "", "missing"] == 4
    assert got["", "", "plc-ghent-cooling-water", "duplicate"] == 1
    assert [e.detail.split(":")[0] for e in events] == ["gap"]


def test_the_edge_quarantines_a_future_sample_and_keeps_scoring_windows(
    sqlite_url: str, tmp_path: Path,
) -> None:
    """The year-2100 sample is quarantined with a one-line reason; later samples are windowed."""
    spec = load_spec_text(_demo_text())
    flow = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "flow")
    clock = ManualClock(from_ms(T0))
    with open_store(sqlite_url) as store:
        edge = build_edge(spec, store, tmp_path / "models", clock=clock)

        def feed(ts: int, seq: int, minute: int) -> None:
            clock.set(from_ms(T0 + minute * MIN + 30))
            edge.on_sample(Sample(flow, 100.0, "m^3/h", Quality.GOOD, ts, seq,
                                  "plc-ghent-cooling-water"))

        feed(T0, 0, 0)
        feed(T0 + MIN, 1, 1)
        feed(to_ms(utc(2100, 1, 1)), 2, 1)
        for minute in range(2, 40):
            feed(T0 + minute * MIN, minute + 1, minute)
        windows = edge.stats.windows
        _samples, _events, quarantined = edge.take_pending()
    assert [q.rule for q in quarantined] == [Rule.FUTURE]
    assert "2100-01-01T00:00:00+00:00" in quarantined[0].reason
    assert edge.stats.late == 0
    assert windows > 0


# -- the payload ----------------------------------------------------------------------------
def test_the_reason_code_travels_in_the_payload_and_fills_decode_again() -> None:
    from andon.errors import PayloadError  # noqa: PLC0415
    from andon.namespace import decode_sample, encode_sample  # noqa: PLC0415

    stuck = Sample(AT, 1.0, "m^3/h", Quality.UNCERTAIN, T0, 3, "plc", "stuck")
    assert b'"qr":"stuck"' in encode_sample(stuck)
    assert decode_sample(AT.topic, encode_sample(stuck)) == stuck
    plain = s(T0, 4)
    assert b"qr" not in encode_sample(plain)
    assert decode_sample(AT.topic, encode_sample(plain)).reason is None
    fill = Sample(AT, 1.0, "m^3/h", Quality.UNCERTAIN, T0, -T0, "plc", "filled")
    assert decode_sample(AT.topic, encode_sample(fill)) == fill
    with pytest.raises(PayloadError, match="'seq' must be a non-negative 64-bit integer"):
        decode_sample(AT.topic, encode_sample(Sample(AT, 1.0, "m^3/h", Quality.GOOD, T0, -1,
                                                     "plc", "stuck")))
    with pytest.raises(PayloadError, match="'qr' must be a quality reason code"):
        decode_sample(AT.topic, b'{"v":1,"u":"m^3/h","ts":1,"seq":1,"src":"p","qr":7}')


# -- time floor -------------------------------------------------------------------------------
@pytest.mark.parametrize("bogus", [0, -1, 1_000, 946_684_799_999], ids=["zero", "minus-one",
                                                                         "1970", "1999"])
def test_a_reset_clock_as_first_sample_is_refused_and_poisons_nothing(bogus: int) -> None:
    """A PLC whose clock was reset: its first sample before the floor is marked
    ``before_floor`` and adopts nothing; the correct samples after it are on time."""
    k = keeper()
    first = k.admit(s(bogus, 0), T0)
    assert first is not None
    assert (first.reason, first.ts_ms) == ("before_floor", bogus)
    src = k.source("plc")
    assert src is not None
    assert src.watermark is None, "not adopted as the source's reference"
    after = [k.admit(s(T0 + i * MIN, i), T0 + i * MIN + 30) for i in range(1, 4)]
    assert [x.reason for x in after if x is not None] == [None, None, None]
    assert counts(k)["", "", "plc", "before_floor"] == 1


def test_the_floor_comes_from_the_spec_time_policy() -> None:
    from andon.spec.model import TimePolicy  # noqa: PLC0415

    rules = TimeRules.of(TimePolicy.model_validate({"floor": "2020-01-01"}))
    assert rules.floor_ms == 1_577_836_800_000
    assert TimeRules.of(None).floor_ms == 946_684_800_000
    k = Timekeeper({("p-101", "flow"): TagTiming(MIN)}, default=rules)
    late_2019 = k.admit(s(1_577_836_799_000, 0), T0)
    assert late_2019 is not None
    assert late_2019.reason == "before_floor"

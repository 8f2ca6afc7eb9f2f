"""Alert-fatigue control on scripted bursts, with exact counts, instants and reasons."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.clock import utc
from andon.interventions.fatigue import (
    Decision,
    DowntimeWindow,
    FatigueConfig,
    FatigueFilter,
    Flood,
    Shelf,
    Signal,
    Verdict,
    run,
)
from andon.spec import PlantSpec, planned_stops

V = Verdict
T0 = utc(2026, 3, 2, 8, 0)  # a Monday; Ghent is on CET (UTC+1)
SEC = timedelta(seconds=1)
MIN = timedelta(minutes=1)


def sig(at: datetime, asset: str = "p-101", *, position: str = "cr1",
        use_case: str = "pump-bearing", line: str | None = "cooling-water",
        sid: str = "") -> Signal:
    return Signal(use_case, asset, position, at, line, sid)


def feed_all(f: FatigueFilter, signals: list[Signal]) -> list[Decision]:
    out: list[Decision] = []
    for s in signals:
        out.extend(f.feed(s))
    return out


def verdicts(decisions: list[Decision]) -> Counter[Verdict]:
    return Counter(d.verdict for d in decisions)


# -- episodes --------------------------------------------------------------------------------

def test_thirty_detections_on_one_asset_within_an_hour_are_one_episode() -> None:
    f = FatigueFilter()
    out = feed_all(f, [sig(T0 + i * 2 * MIN) for i in range(30)])
    assert verdicts(out) == {V.DELIVERED: 1, V.DEDUPLICATED: 29}
    [episode] = f.episodes()
    assert (episode.opened_at, episode.last_at, episode.detections) == (T0, T0 + 58 * MIN, 30)
    assert episode.id == f"pump-bearing/p-101@{T0.isoformat()}"
    assert out[0].reason == f"delivered: new episode {episode.id}"
    assert out[-1].reason == (f"deduplicated into episode {episode.id} (detection 30, "
                              f"open since {T0.isoformat()})")
    assert {d.episode_id for d in out} == {episode.id}


def test_an_episode_stays_open_while_detections_come_within_the_gap() -> None:
    f = FatigueFilter(FatigueConfig(episode_gap=timedelta(hours=2)))
    out = feed_all(f, [
        sig(T0),
        sig(T0 + timedelta(hours=2)),  # exactly the gap: same episode
        sig(T0 + timedelta(hours=4)),  # the gap again, from the last detection: same episode
        sig(T0 + timedelta(hours=6, seconds=1)),  # more than the gap: a new episode
        sig(T0 + timedelta(hours=6, seconds=1), asset="p-102"),  # another asset: its own
    ])
    assert [d.verdict for d in out] == [V.DELIVERED, V.DEDUPLICATED, V.DEDUPLICATED,
                                        V.DELIVERED, V.DELIVERED]
    assert [e.detections for e in f.episodes()] == [3, 1, 1]


def test_a_redelivered_signal_id_is_a_duplicate() -> None:
    f = FatigueFilter()
    out = feed_all(f, [sig(T0, sid="m-1"), sig(T0, sid="m-1"), sig(T0 + SEC, sid="m-2")])
    assert [d.verdict for d in out] == [V.DELIVERED, V.DUPLICATE, V.DEDUPLICATED]
    assert out[1].reason == "duplicate: signal m-1 was already seen"


# -- rate limit, overflow queue and flood -----------------------------------------------------

def test_25_new_on_one_position_in_10_minutes_with_limit_10() -> None:
    """10 delivered, 15 queued, flood flagged at the 10th; the queue drains in order."""
    f = FatigueFilter(FatigueConfig(rate_limit=10))
    burst = [sig(T0 + i * 20 * SEC, asset=f"a-{i:02d}") for i in range(25)]  # within 8 min
    out = feed_all(f, burst)
    assert verdicts(out) == {V.DELIVERED: 10, V.QUEUED: 15}
    assert [d.signal.asset for d in out if d.delivered] == [f"a-{i:02d}" for i in range(10)]
    assert [q.signal.asset for q in f.queue("cr1")] == [f"a-{i:02d}" for i in range(10, 25)]
    assert out[10].reason == ("queued: rate limit 10 per 10 min reached on position cr1; "
                              "0 ahead in the queue")
    assert out[24].reason.endswith("14 ahead in the queue")
    assert f.floods == [Flood("cr1", T0 + 3 * MIN, 10)]
    assert [d.flood for d in out] == [False] * 9 + [True] * 16
    assert f.in_flood("cr1", T0 + 8 * MIN)
    assert not f.in_flood("cr1", T0 + 18 * MIN)

    # a slot frees 10 min after each delivery: items 10..19 at T0 + 10 min + 20 s steps
    partial = f.tick(T0 + 10 * MIN + 30 * SEC)
    assert [(d.at, d.signal.asset) for d in partial] == [
        (T0 + 10 * MIN, "a-10"), (T0 + 10 * MIN + 20 * SEC, "a-11")]
    assert partial[0].reason == (
        "delivered from the queue after 6 min 40 s (rate limit 10 per 10 min on position "
        f"cr1): new episode pump-bearing/a-10@{(T0 + 200 * SEC).isoformat()}")
    assert len(f.queue("cr1")) == 13
    rest = f.tick(T0 + timedelta(hours=1))
    released = partial + rest
    assert [d.signal.asset for d in released] == [f"a-{i:02d}" for i in range(10, 25)]
    assert [d.at for d in released] == (
        [T0 + 10 * MIN + i * 20 * SEC for i in range(10)]
        + [T0 + 20 * MIN + i * 20 * SEC for i in range(5)])
    assert all(d.verdict is V.DELIVERED for d in released)
    assert f.queue("cr1") == ()
    assert f.tick(T0 + timedelta(hours=2)) == []


def test_the_queue_release_reason_says_how_long_it_waited() -> None:
    f = FatigueFilter(FatigueConfig(rate_limit=1))
    feed_all(f, [sig(T0, asset="a"), sig(T0 + 4 * MIN, asset="b")])
    [released] = f.tick(T0 + timedelta(hours=1))
    assert released.at == T0 + 10 * MIN
    assert released.reason == (
        "delivered from the queue after 6 min (rate limit 1 per 10 min on position cr1): "
        f"new episode pump-bearing/b@{(T0 + 4 * MIN).isoformat()}")


def test_queued_items_go_before_a_newcomer_once_a_slot_frees() -> None:
    f = FatigueFilter(FatigueConfig(rate_limit=1))
    feed_all(f, [sig(T0, asset="a"), sig(T0 + MIN, asset="b")])
    out = f.feed(sig(T0 + 10 * MIN, asset="c"))
    assert [(d.signal.asset, d.verdict, d.at) for d in out] == [
        ("b", V.DELIVERED, T0 + 10 * MIN), ("c", V.QUEUED, T0 + 10 * MIN)]


def test_positions_have_their_own_rate_limits() -> None:
    f = FatigueFilter(FatigueConfig(rate_limit=2))
    out = feed_all(f, [sig(T0 + i * SEC, asset=f"{p}-a{i}", position=p)
                       for i in range(3) for p in ("cr1", "cr2")])
    by_position = {p: [d.verdict for d in out if d.signal.position == p] for p in ("cr1", "cr2")}
    assert by_position == {"cr1": [V.DELIVERED, V.DELIVERED, V.QUEUED],
                           "cr2": [V.DELIVERED, V.DELIVERED, V.QUEUED]}


def test_nine_new_in_ten_minutes_is_not_a_flood_ten_is() -> None:
    f = FatigueFilter(FatigueConfig(rate_limit=100))
    out = feed_all(f, [sig(T0 + i * MIN, asset=f"a-{i}") for i in range(9)])
    assert not any(d.flood for d in out)
    assert f.floods == []
    # the 10th lands exactly 10 min after the first: that one has left the window
    [d] = f.feed(sig(T0 + 10 * MIN, asset="a-9"))
    assert not d.flood
    [d] = f.feed(sig(T0 + 10 * MIN, asset="a-10"))
    assert d.flood
    assert f.floods == [Flood("cr1", T0 + 10 * MIN, 10)]


def test_signals_must_come_in_time_order() -> None:
    f = FatigueFilter()
    f.feed(sig(T0))
    with pytest.raises(ValueError, match="feed signals in time order"):
        f.feed(sig(T0 - SEC))


# -- planned downtime and shelving ------------------------------------------------------------

def test_detections_during_a_planned_stop_are_suppressed_naming_the_stop(
    demo_spec: PlantSpec,
) -> None:
    site, _area, line = demo_spec.line("ghent", "cooling-water")
    stops = planned_stops(line.calendar, site.timezone, T0 - timedelta(hours=8), T0)
    windows = [DowntimeWindow(s.name, s.start, s.end, line.id) for s in stops]
    stop = utc(2026, 3, 2, 4, 30)  # 05:30 CET
    assert [(w.name, w.start, w.end) for w in windows] == [
        ("Early-shift changeover stop", stop, stop + timedelta(hours=1))]
    out = run([sig(stop - SEC, asset="before"), sig(stop, asset="at-start"),
               sig(stop + 30 * MIN, asset="inside"),
               sig(stop + 30 * MIN, asset="other-line", line="sludge"),
               sig(stop + timedelta(hours=1), asset="at-end")], downtime=windows)
    assert [(d.signal.asset, d.verdict) for d in out] == [
        ("before", V.DELIVERED), ("at-start", V.SUPPRESSED), ("inside", V.SUPPRESSED),
        ("other-line", V.DELIVERED), ("at-end", V.DELIVERED)]
    assert out[1].reason == ("suppressed: planned downtime 'Early-shift changeover stop' "
                             "(2026-03-02T04:30:00+00:00 to 2026-03-02T05:30:00+00:00)")


def test_a_window_without_a_line_covers_every_line() -> None:
    window = DowntimeWindow("Site shutdown", T0, T0 + timedelta(hours=1))
    out = run([sig(T0, line="a"), sig(T0, asset="x", line=None)], downtime=[window])
    assert [d.verdict for d in out] == [V.SUPPRESSED, V.SUPPRESSED]


def test_a_shelved_key_is_suppressed_until_expiry_then_delivered() -> None:
    f = FatigueFilter()
    until = T0 + timedelta(hours=4)
    f.shelve("pump-bearing/p-101", until, "vibration sensor being recalibrated")
    out = feed_all(f, [sig(T0), sig(T0, asset="p-102"), sig(T0 + timedelta(hours=1)),
                       sig(until - SEC), sig(until), sig(until + MIN)])
    assert [(d.signal.asset, d.verdict) for d in out] == [
        ("p-101", V.SHELVED), ("p-102", V.DELIVERED), ("p-101", V.SHELVED),
        ("p-101", V.SHELVED), ("p-101", V.DELIVERED), ("p-101", V.DEDUPLICATED)]
    assert out[0].reason == ("shelved until 2026-03-02T12:00:00+00:00 "
                             "(vibration sensor being recalibrated)")


def test_shelving_needs_a_reason_and_can_be_lifted() -> None:
    f = FatigueFilter()
    with pytest.raises(ValueError, match="needs a reason"):
        f.shelve("pump-bearing/p-101", T0 + MIN, " ")
    f.shelve("pump-bearing/p-101", T0 + timedelta(hours=1), "test")
    f.unshelve("pump-bearing/p-101")
    [d] = f.feed(sig(T0))
    assert d.delivered


def test_run_is_deterministic_and_sorts_its_input() -> None:
    signals = [sig(T0 + (i * 7 % 13) * MIN, asset=f"a-{i % 4}") for i in range(13)]
    shelves = {"pump-bearing/a-2": Shelf(T0 + 5 * MIN, "known")}
    first = run(signals, config=FatigueConfig(rate_limit=2), shelves=shelves,
                until=T0 + timedelta(hours=1))
    again = run(list(reversed(signals)), config=FatigueConfig(rate_limit=2), shelves=shelves,
                until=T0 + timedelta(hours=1))
    assert [(d.signal.asset, d.verdict, d.at) for d in first] == [
        (d.signal.asset, d.verdict, d.at) for d in again]
    assert [d.at for d in first] == sorted(d.at for d in first)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match=r"fatigue\.rate_limit"):
        FatigueConfig(rate_limit=0)
    with pytest.raises(ValueError, match=r"fatigue\.episode_gap"):
        FatigueConfig(episode_gap=timedelta(0))


# -- property: the overflow queue never loses, duplicates or reorders --------------------------

@settings(max_examples=100, deadline=None)
@given(
    offsets=st.lists(st.tuples(st.integers(min_value=0, max_value=3 * 3600),
                               st.sampled_from(["cr1", "cr2", "cr3"])), max_size=60),
    limit=st.integers(min_value=1, max_value=6),
    checks=st.lists(st.integers(min_value=0, max_value=4 * 3600), max_size=10),
)
def test_the_overflow_queue_never_loses_or_reorders(offsets: list[tuple[int, str]],
                                                    limit: int, checks: list[int]) -> None:
    config = FatigueConfig(rate_limit=limit)
    window = config.rate_window
    f = FatigueFilter(config)
    events = sorted([(o, 0, i, p) for i, (o, p) in enumerate(offsets)]
                    + [(c, 1, -1, "") for c in checks])
    out: list[Decision] = []
    fed: dict[str, list[str]] = {"cr1": [], "cr2": [], "cr3": []}
    for offset, kind, i, position in events:
        at = T0 + timedelta(seconds=offset)
        if kind == 0:
            out.extend(f.feed(sig(at, asset=f"a-{i}", position=position)))
            fed[position].append(f"a-{i}")
        else:
            out.extend(f.tick(at))
    out.extend(f.tick(T0 + timedelta(days=2)))
    delivered = [d for d in out if d.delivered]
    # nothing lost, nothing twice
    assert sorted(d.signal.asset for d in delivered) == sorted(f"a-{i}"
                                                               for i in range(len(offsets)))
    for position, arrived in fed.items():
        mine = [d for d in delivered if d.signal.position == position]
        # first in, first out: delivered in the order they arrived
        assert [d.signal.asset for d in mine] == arrived
        times = [d.at for d in mine]
        assert times == sorted(times)
        assert all(d.at >= d.signal.at for d in mine)
        # never more than ``limit`` deliveries in any window
        for j in range(len(times) - limit):
            assert times[j + limit] - times[j] >= window
        assert f.queue(position) == ()

"""Replay runs quarantined messages through the current decoder and contracts, with history.

A counter that went down stays quarantined on replay (the checker sees the stored value before
it) until the spec says the tag is not monotonic; then it is stored and marked replayed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from andon.app import Actor, Context, PlantRef, ReplayResult, replay_quarantined
from andon.clock import Clock, ManualClock, to_ms, utc
from andon.edge import build_edge
from andon.namespace import tag_topic
from andon.spec import load_spec
from andon.store import SqlStore, open_store

if TYPE_CHECKING:
    from andon.spec import PlantSpec

DEMO_SPEC = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"
T0 = utc(2026, 3, 2, 8)
TOPIC = tag_topic("acme", "ghent", "assembly", "press-line", "pr-201", "stroke_count")

def replay(store: SqlStore, spec: PlantSpec, clock: Clock, **kwargs: Any) -> ReplayResult:
    """``andon.app.replay_quarantined`` as the system, on ``spec`` and ``clock``."""
    return replay_quarantined(Context(store, clock, PlantRef(spec)), Actor.system(),
                              **kwargs).record



def strokes(value: int, seq: int) -> bytes:
    return (f'{{"v":{value},"u":"dimensionless","ts":{to_ms(T0) + seq * 60_000},"seq":{seq},'
            f'"src":"plc-ghent-press-line"}}').encode()


def test_a_decreased_counter_is_replayed_only_after_the_spec_allows_it(
    demo_spec: PlantSpec, sqlite_url: str, tmp_path: Path,
) -> None:
    store = open_store(sqlite_url)
    clock = ManualClock(T0)
    try:
        edge = build_edge(demo_spec, store, tmp_path / "models", clock=clock)
        edge.on_message(TOPIC, strokes(100, 1))
        edge.on_message(TOPIC, strokes(50, 2))
        edge.on_message(TOPIC, b"{broken")
        edge.flush()
        assert edge.stats.quarantined == 2

        same = replay(store, demo_spec, clock, rule="counter_decreased")
        assert (same.checked, same.stored, dict(same.still)) == (1, 0, {"counter_decreased": 1})

        text = DEMO_SPEC.read_text(encoding="utf-8")
        old = "{name: stroke_count, quantity: count,"
        assert old in text
        fixed = tmp_path / "fixed.yaml"
        fixed.write_text(text.replace(old, old + " monotonic: false,"), encoding="utf-8")
        everything = replay(store, load_spec(fixed), clock)
        assert (everything.checked, everything.stored, dict(everything.still)) == (
            2, 1, {"malformed": 1})
        assert sorted(s.value for s in store.samples()) == [50.0, 100.0]
        assert [q.rule.value for q in store.quarantined(replayed=False)] == ["malformed"]
        again = replay(store, load_spec(fixed), clock, rule="counter_decreased")
        assert again.checked == 0
    finally:
        store.close()


def test_a_future_timestamp_stays_quarantined_in_a_bulk_replay_and_goes_by_id(
    demo_spec: PlantSpec, sqlite_url: str, tmp_path: Path,
) -> None:
    """A year-2100 sample is only stored when an operator replays that one item by id."""
    store = open_store(sqlite_url)
    clock = ManualClock(T0)
    try:
        edge = build_edge(demo_spec, store, tmp_path / "models", clock=clock)
        edge.on_message(TOPIC, strokes(100, 1))
        bogus = strokes(101, 2).replace(str(to_ms(T0) + 120_000).encode(),
                                        str(to_ms(utc(2100, 1, 1))).encode())
        edge.on_message(TOPIC, bogus)
        edge.flush()
        [item] = store.quarantined(replayed=False)
        assert item.rule.value == "future"
        bulk = replay(store, demo_spec, clock)
        assert (bulk.checked, bulk.stored, dict(bulk.still)) == (1, 0, {"future": 1})
        assert item.id is not None
        one = replay(store, demo_spec, clock, item_id=item.id)
        assert (one.checked, one.stored) == (1, 1)
    finally:
        store.close()


def test_a_1970_first_sample_is_quarantined_with_a_reason_and_the_source_keeps_working(
    demo_spec: PlantSpec, sqlite_url: str, tmp_path: Path,
) -> None:
    """Through the edge: the reset clock's sample is kept in the quarantine, named; the
    correct samples after it are recorded good, none quarantined as ``future``."""
    store = open_store(sqlite_url)
    clock = ManualClock(T0)
    try:
        edge = build_edge(demo_spec, store, tmp_path / "models", clock=clock)
        reset = strokes(100, 1).replace(str(to_ms(T0) + 60_000).encode(), b"0")
        edge.on_message(TOPIC, reset)
        for n in range(2, 6):
            edge.on_message(TOPIC, strokes(100 + n, n))
        edge.flush()
        [item] = store.quarantined(replayed=False)
        assert item.rule.value == "before_floor"
        assert "before the time floor" in item.reason
        assert "1970-01-01T00:00:00+00:00" in item.reason
        assert store.sample_count() == 4
        assert all(x.reason != "future" for x in store.samples())
    finally:
        store.close()


def test_a_producer_that_restarts_its_sequence_is_stored_not_taken_for_duplicates(
    demo_spec: PlantSpec, sqlite_url: str, tmp_path: Path,
) -> None:
    """A gateway reboots and counts from 1 again at later times: every sample is recorded;
    the same sample sent twice is still recorded once."""
    store = open_store(sqlite_url)
    clock = ManualClock(T0)
    try:
        edge = build_edge(demo_spec, store, tmp_path / "models", clock=clock)
        for n in range(1, 6):
            edge.on_message(TOPIC, strokes(100 + n, n))
        edge.on_message(TOPIC, strokes(105, 5))  # sent twice
        later = to_ms(T0) + 3_600_000  # an hour later, after the reboot
        for n in range(1, 6):
            edge.on_message(TOPIC, strokes(200 + n, n).replace(
                str(to_ms(T0) + n * 60_000).encode(), str(later + n * 60_000).encode()))
        edge.flush()
        kept = store.samples()
        assert len(kept) == 10
        assert sorted(s.seq for s in kept) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        assert store.quarantined(replayed=False) == []
    finally:
        store.close()

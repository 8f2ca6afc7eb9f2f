"""The fatigue rules (pure) and the gate's overflow queue over a real store, as properties."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.clock import utc
from andon.interventions.fatigue import (
    DowntimeWindow,
    FatigueConfig,
    downtime_covering,
    flood_count,
    slot_free_at,
)
from andon.store import open_store
from interventions.gate_plant import PUMPS, Harness, plant

T0 = utc(2026, 3, 2, 8, 0)
MIN = timedelta(minutes=1)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match=r"fatigue\.rate_limit"):
        FatigueConfig(rate_limit=0)
    with pytest.raises(ValueError, match=r"fatigue\.rate_window"):
        FatigueConfig(rate_window=timedelta(0))
    with pytest.raises(ValueError, match=r"fatigue\.flood_threshold"):
        FatigueConfig(flood_threshold=0)


def test_a_slot_frees_when_the_oldest_of_the_last_limit_deliveries_leaves_the_window() -> None:
    config = FatigueConfig(rate_limit=3, rate_window=timedelta(minutes=10))
    sent = [T0, T0 + MIN, T0 + 2 * MIN]
    assert slot_free_at(sent[:2], T0 + 2 * MIN, config) == T0 + 2 * MIN  # room left
    assert slot_free_at(sent, T0 + 3 * MIN, config) == T0 + 10 * MIN
    assert slot_free_at(sent, T0 + 12 * MIN, config) == T0 + 12 * MIN  # window passed


def test_flood_counts_the_window_ending_at_the_instant_left_open() -> None:
    arrivals = [T0 + i * MIN for i in range(10)]
    assert flood_count(arrivals, T0 + 9 * MIN, timedelta(minutes=10)) == 10
    assert flood_count(arrivals, T0 + 10 * MIN, timedelta(minutes=10)) == 9  # T0 left


def test_downtime_covers_its_line_or_every_line_half_open() -> None:
    lunch = DowntimeWindow("Lunch stop", T0.replace(hour=12), T0.replace(hour=13), "cooling")
    everywhere = DowntimeWindow("Shutdown", T0.replace(hour=20), T0.replace(hour=22))
    assert downtime_covering([lunch], "cooling", T0.replace(hour=12)) is lunch
    assert downtime_covering([lunch], "cooling", T0.replace(hour=13)) is None  # end excluded
    assert downtime_covering([lunch], "other", T0.replace(hour=12, minute=30)) is None
    assert downtime_covering([lunch, everywhere], "other", T0.replace(hour=21)) is everywhere


@settings(max_examples=25, deadline=None)
@given(
    arrivals=st.lists(st.tuples(st.integers(min_value=0, max_value=3 * 3600),
                                st.integers(min_value=1, max_value=PUMPS)), max_size=25),
    limit=st.integers(min_value=1, max_value=4),
    checks=st.lists(st.integers(min_value=0, max_value=4 * 3600), max_size=6),
)
def test_the_gates_overflow_queue_never_loses_duplicates_or_reorders(
        arrivals: list[tuple[int, int]], limit: int, checks: list[int]) -> None:
    """New interventions on one position, in any burst: each delivered once, in arrival
    order, never more than ``limit`` per rate window; the queue persists in the store."""
    spec = plant(fatigue=f"fatigue: {{rate_limit: {limit}, rate_window: 600, "
                         "flood_threshold: 1000}")
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'gate.db'}")
        try:
            h = Harness(spec, store)
            h.clock.set(T0.replace(hour=14))  # after the lunch stop: nothing suppressed
            start = h.clock.now()
            events = sorted([(o, 0, p) for o, p in arrivals] + [(c, 1, 0) for c in checks])
            arrived: list[str] = []
            delivered: list[tuple[str, object]] = []
            for offset, kind, pump in events:
                h.clock.set(max(h.clock.now(), start + timedelta(seconds=offset)))
                if kind == 0:
                    asset = f"p-{pump:02d}"
                    outs = h.window(asset, 2.0)
                    if asset not in arrived:
                        arrived.append(asset)
                else:
                    outs = h.release()
                delivered += [(o.iv.asset, h.clock.now()) for o in outs
                              if o.verdict.value == "delivered" and o.iv is not None]
            for _ in range(len(arrivals) + 1):  # one slot frees per rate window
                h.clock.set(h.clock.now() + timedelta(seconds=600))
                delivered += [(o.iv.asset, h.clock.now()) for o in h.release()
                              if o.iv is not None]
            assert [a for a, _ in delivered] == arrived  # all, once each, first in first out
            times = [t for _, t in delivered]
            for j in range(len(times) - limit):
                assert times[j + limit] - times[j] >= timedelta(seconds=600)  # type: ignore[operator]
            assert store.queued_episodes() == []
        finally:
            store.close()

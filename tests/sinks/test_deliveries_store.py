"""The ``deliveries`` table on both backends: newest state per sink, external ids, one line."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from andon.store.base import Delivery
from andon.testing.factories import T0

if TYPE_CHECKING:

    from andon.store import SqlStore


def row(sink: str, iv: str, version: int, attempt: int, minutes: int, *, ok: bool,
        external_id: str | None = None, error: str = "") -> Delivery:
    return Delivery(sink=sink, intervention_id=iv, dedup_key=f"uc:{iv}", version=version,
                    digest=f"d{version}", attempt=attempt, at=T0 + timedelta(minutes=minutes),
                    ok=ok, http_status=200 if ok else 503, error=error,
                    external_id=external_id)


def test_states_are_the_newest_attempt_per_intervention_and_sink(any_store: SqlStore) -> None:
    any_store.record_deliveries([
        row("cmms:a", "r1", 1, 1, 0, ok=False, error="down"),
        row("cmms:a", "r1", 1, 2, 1, ok=True, external_id="WO-1"),
        row("cmms:a", "r1", 2, 1, 5, ok=False, error="HTTP 503:\n  busy"),
        row("cmms:a", "r2", 1, 1, 2, ok=True, external_id="WO-2"),
        row("webhook:x", "r1", 1, 1, 3, ok=True),
    ])
    states = any_store.delivery_states("cmms:a")
    assert set(states) == {"r1", "r2"}
    assert (states["r1"].version, states["r1"].attempt, states["r1"].ok) == (2, 1, False)
    assert states["r1"].error == "HTTP 503: busy"  # one line
    assert states["r1"].at == T0 + timedelta(minutes=5)
    assert any_store.external_id("cmms:a", "r1") == "WO-1"  # survives a failed newer attempt
    assert any_store.external_id("webhook:x", "r1") is None
    assert [d.attempt for d in any_store.deliveries(sink="cmms:a", intervention_id="r1")] == \
        [1, 2, 1]
    assert len(any_store.deliveries()) == 5


def test_failed_filter_finds_failures_behind_many_successes(any_store: SqlStore) -> None:
    """``ok=False`` filters in the query, so an old failure is not hidden by newer successes."""
    failure = Delivery("uns", "rec-0", "k0", 1, "d0", 1, T0, ok=False, error="broker down")
    successes = [Delivery("uns", f"rec-{i}", f"k{i}", 1, "d", 1, T0 + timedelta(seconds=i),
                          ok=True) for i in range(1, 30)]
    any_store.record_deliveries([failure, *successes])
    assert [d.intervention_id for d in any_store.deliveries(ok=False, limit=2)] == ["rec-0"]
    assert len(any_store.deliveries(ok=True, limit=5)) == 5

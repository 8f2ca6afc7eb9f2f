"""The conformance checks every store backend passes (SQLite and PostgreSQL today).

Each check takes a fresh, empty store and ``reopen``, which opens another instance on the same
database (two processes' worth, for the checks that write from several at once; the check
closes what it opens). The suite covers samples (round trip, duplicates, filters, concurrent
writers), interventions and their change feed, feedback, time (aware UTC in, aware UTC out;
naive refused), models, users and tokens, spec versions, events and the quarantine::

    import pytest
    from andon.testing.conformance.store import STORE_CHECKS

    @pytest.mark.parametrize("check", STORE_CHECKS, ids=lambda c: c.__name__)
    def test_my_store_conforms(check, tmp_path):
        url = f"sqlite:///{tmp_path / 'andon.db'}"
        with open_store(url) as store:
            check(store, lambda: open_store(url))

The records are built here, deterministically, around ``T0``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import msgspec

from andon.auth.access import User
from andon.clock import utc
from andon.contracts import MAX_PAYLOAD_BYTES, Quarantined, Rule, quarantined_message
from andon.errors import FeedbackError, NotFound, StoreError
from andon.feedback import Feedback, FeedbackKind
from andon.interventions.record import Contribution, Intervention, InterventionState
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress
from andon.registry import ModelRecord, Stage
from andon.scoring.artifact import ModelMeta
from andon.store import Event
from andon.store.base import Store
from andon.testing.conformance._checks import raises

__all__ = [
    "STORE_CHECKS",
    "T0",
    "Reopen",
    "check_a_refused_change_is_not_in_the_feed",
    "check_a_rollout_is_saved_whole_and_a_stale_move_is_refused",
    "check_acted_feedback_closes_the_intervention",
    "check_concurrent_feedback_closes_a_intervention_once",
    "check_count_by_state_follows_every_save_and_move",
    "check_create_schema_is_idempotent_and_keeps_data",
    "check_datetimes_come_back_aware_utc_and_equal",
    "check_deferred_feedback_keeps_the_intervention_open",
    "check_dismissal_needs_a_reason_and_stores_nothing_without_one",
    "check_duplicate_samples_are_ignored_and_counted",
    "check_events_newest_first_filtered_by_kind",
    "check_every_write_of_an_intervention_moves_it_to_the_end_of_the_change_feed",
    "check_feedback_for_is_oldest_first_and_per_intervention",
    "check_feedback_on_a_closed_intervention_is_refused",
    "check_feedback_on_an_unknown_intervention_is_not_found",
    "check_intervention_upsert_get_and_not_found",
    "check_list_open_only_newest_first",
    "check_model_stage_and_signature_are_stored_per_version",
    "check_models_register_latest_and_list_idempotently",
    "check_naive_datetimes_are_refused",
    "check_open_intervention_is_newest_open_or_deferred_of_use_case_and_asset",
    "check_quarantine_get_by_id_truncation_and_not_found",
    "check_quarantine_keeps_everything_and_filters_newest_first",
    "check_quarantine_mark_replayed_once",
    "check_sample_round_trip_keeps_every_field",
    "check_samples_filter_by_half_open_time_range_and_assets_in_order",
    "check_separate_store_instances_writing_at_once_lose_nothing",
    "check_shadow_interventions_round_trip_once_and_stay_out_of_the_live_table",
    "check_spec_versions_increment",
    "check_threads_writing_samples_at_once_lose_nothing",
    "check_token_for_unknown_user_or_twice_is_refused_without_leaking_it",
    "check_tokens_unknown_expired_revoked",
    "check_users_save_replace_and_get",
    "check_writers_racing_each_get_a_distinct_change_seq",
]

T0 = utc(2026, 3, 2, 6, 0, 0)
CEST = timezone(timedelta(hours=2), "CEST")

#: opens another instance of the store under test on the same database
Reopen = Callable[[], Store]


# -- builders ---------------------------------------------------------------------------------
def _sample(ts_ms: int, *, asset: str = "p-101", tag: str = "vibration", seq: int = 1,
            source: str = "sim-ghent", value: float = 1.5, unit: str = "mm/s",
            quality: Quality = Quality.GOOD) -> Sample:
    return Sample(TagAddress("acme", "ghent", "utilities", "line-1", asset, tag),
                  value, unit, quality, ts_ms, seq, source)


def _why() -> tuple[Contribution, ...]:
    return (
        Contribution("vibration.mean", 7.9, 2.1, 0.3, 0.61, "mm/s"),
        Contribution("temperature.max", 81.25, 60.0, 2.5, 0.39),
    )


def _iv(intervention_id: str, *, created_at: datetime = T0, use_case: str = "pump-bearing",
         asset: str = "p-101", status: InterventionState = InterventionState.NEW) -> Intervention:
    return Intervention(
        id=intervention_id, use_case=use_case, enterprise="acme", site="ghent", area="utilities",
        line="line-1", asset=asset, asset_name="Pump P-101",
        action="Inspect the bearing of Pump P-101 at the early-shift changeover stop",
        owner_role="maintenance_planner", deadline=created_at + timedelta(hours=8),
        deadline_label="Early-shift changeover stop",
        predicted_failure=created_at + timedelta(days=2, microseconds=250),
        detected_at=created_at - timedelta(seconds=30), score=4.25, threshold=3.0,
        model="pump-bearing", model_version="3", why=_why(), state=status, detections=2,
        created_at=created_at, updated_at=created_at,
    )


def _fb(intervention_id: str, kind: FeedbackKind, *, at: datetime, reason: str = "",
        by: str = "planner") -> Feedback:
    if kind is FeedbackKind.DEFERRED and not reason:
        reason = "spares arrive Monday"  # deferring needs a reason
    return Feedback(intervention_id=intervention_id, kind=kind, reason=reason, by=by, at=at)


def _meta(name: str, version: int) -> ModelMeta:
    return ModelMeta(
        name=name, version=version, use_case=name, asset_kind="centrifugal_pump",
        features=["vibration.mean", "temperature.max"], units=["mm/s", "degC"],
        threshold=3.0 + version, train_start=T0 - timedelta(days=30), train_end=T0,
        train_assets=["p-101", "p-102"], train_windows=1440, data_sha256="d" * 64,
        artifact_sha256=f"{version:064d}", created_at=T0 + timedelta(minutes=version),
        code_version="0.1.0", params={"n_components": 2}, metrics={"auc": 0.93},
    )


def _user(username: str = "ana", *, role: str = "maintenance_planner",
          access: str = "operator") -> User:
    return User(username=username, role=role, access=access, display_name="Ana Peeters",
                password_hash="scrypt$00ff$abcdef")


def _run_together(n: int, work: Callable[[int], int]) -> list[int]:
    """Run ``work(i)`` for i in range(n) on n threads released at the same instant."""
    barrier = threading.Barrier(n)

    def start(i: int) -> int:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(start, range(n)))


def _assert_aware_utc(when: datetime) -> None:
    assert when.tzinfo is not None
    assert when.utcoffset() == timedelta(0)


# -- lifecycle --------------------------------------------------------------------------------
def check_create_schema_is_idempotent_and_keeps_data(store: Store, reopen: Reopen) -> None:
    """Create schema is idempotent and keeps data."""
    del reopen
    store.add_samples([_sample(1)], ingest_ms=5)
    store.create_schema()
    assert store.sample_count() == 1


# -- samples ----------------------------------------------------------------------------------
def check_sample_round_trip_keeps_every_field(store: Store, reopen: Reopen) -> None:
    """Sample round trip keeps every field."""
    del reopen
    big = 1_764_000_000_123  # beyond 32 bits
    given = [
        _sample(big, asset="p-101", tag="vibration", seq=2**40, source="edge-7",
                value=-0.1 + 0.2, unit="mm/s", quality=Quality.UNCERTAIN),
        _sample(big + 1, asset="p-102", tag="temperature", seq=0, source="sim-ghent",
                value=81.25, unit="degC", quality=Quality.BAD),
        _sample(big + 2, asset="p-101", tag="flow", seq=3, value=1e-300, unit="m3/h"),
    ]
    assert store.add_samples(given, ingest_ms=big + 50) == 3
    got = store.samples()
    assert got == given
    assert [type(s.quality) for s in got] == [Quality] * 3
    assert got[0].address == TagAddress("acme", "ghent", "utilities", "line-1", "p-101",
                                         "vibration")


def check_duplicate_samples_are_ignored_and_counted(store: Store, reopen: Reopen) -> None:
    """Duplicate samples are ignored and counted."""
    del reopen
    first = [_sample(1000, seq=1), _sample(2000, seq=2), _sample(3000, seq=3)]
    assert store.add_samples(first, ingest_ms=1) == 3
    again = [
        *first,
        msgspec.structs.replace(first[0], value=99.0),  # same key, other value: still a duplicate
        _sample(4000, seq=4),  # new
        _sample(4000, seq=4),  # repeated within the batch: counts once
        _sample(1000, seq=1, asset="p-102"),  # other asset: new
        _sample(1000, seq=1, tag="temperature"),  # other tag: new
        _sample(1000, seq=1, source="edge-2"),  # other source: new
        _sample(9000, seq=1),  # the producer restarted its sequence: same seq, new time: new
    ]
    assert store.add_samples(again, ingest_ms=2) == 5
    assert store.sample_count() == 8
    assert store.add_samples([], ingest_ms=3) == 0
    kept = store.samples(assets=["p-101"], start_ms=1000, end_ms=1001)
    assert [(s.address.tag, s.source, s.value) for s in kept] == [
        ("temperature", "sim-ghent", 1.5), ("vibration", "edge-2", 1.5),
        ("vibration", "sim-ghent", 1.5),
    ]


def check_samples_filter_by_half_open_time_range_and_assets_in_order(
        store: Store, reopen: Reopen) -> None:
    """Samples filter by half open time range and assets in order."""
    del reopen
    rows = [
        _sample(3000, asset="p-102", tag="vibration", seq=1),
        _sample(1000, asset="p-102", tag="temperature", seq=2),
        _sample(2000, asset="p-101", tag="vibration", seq=3),
        _sample(1000, asset="p-101", tag="vibration", seq=4),
        _sample(1000, asset="p-101", tag="temperature", seq=5),
        _sample(4000, asset="p-103", tag="vibration", seq=6),
    ]
    assert store.add_samples(rows, ingest_ms=0) == 6

    def keys(samples: list[Sample]) -> list[tuple[int, str, str]]:
        return [(s.ts_ms, s.address.asset, s.address.tag) for s in samples]

    assert keys(store.samples()) == [
        (1000, "p-101", "temperature"), (1000, "p-101", "vibration"),
        (1000, "p-102", "temperature"), (2000, "p-101", "vibration"),
        (3000, "p-102", "vibration"), (4000, "p-103", "vibration"),
    ]
    assert keys(store.samples(start_ms=2000, end_ms=4000)) == [
        (2000, "p-101", "vibration"), (3000, "p-102", "vibration"),
    ]
    assert keys(store.samples(start_ms=3001)) == [(4000, "p-103", "vibration")]
    assert keys(store.samples(end_ms=1000)) == []
    assert keys(store.samples(assets=["p-102", "p-103"], end_ms=4000)) == [
        (1000, "p-102", "temperature"), (3000, "p-102", "vibration"),
    ]
    assert keys(store.samples(assets=["p-101"], limit=2)) == [
        (1000, "p-101", "temperature"), (1000, "p-101", "vibration"),
    ]
    assert store.samples(assets=[]) == []
    assert store.samples(assets=["p-999"]) == []


def check_threads_writing_samples_at_once_lose_nothing(store: Store, reopen: Reopen) -> None:
    """Threads writing samples at once lose nothing."""
    del reopen
    per_thread = 300

    def work(i: int) -> int:
        new = 0
        for batch in range(0, per_thread, 50):
            own = [_sample(1000 + n, seq=n, source=f"edge-{i}")
                   for n in range(batch, batch + 50)]
            shared = [_sample(9000 + batch, seq=batch, source="shared")]
            new += store.add_samples(own + shared, ingest_ms=i)
        return new

    added = _run_together(4, work)
    shared_rows = per_thread // 50
    assert sum(added) == 4 * per_thread + shared_rows
    assert store.sample_count() == 4 * per_thread + shared_rows
    for i in range(4):
        mine = [s for s in store.samples() if s.source == f"edge-{i}"]
        assert [s.seq for s in mine] == list(range(per_thread))


def check_separate_store_instances_writing_at_once_lose_nothing(
        store: Store, reopen: Reopen) -> None:
    """Separate store instances writing at once lose nothing."""
    stores = [reopen() for _ in range(4)]
    try:
        added = _run_together(4, lambda i: sum(
            stores[i].add_samples([_sample(n, seq=n, source=f"proc-{i}")], ingest_ms=n)
            for n in range(100)
        ))
    finally:
        for s in stores:
            s.close()
    assert added == [100] * 4
    assert store.sample_count() == 400


# -- interventions --------------------------------------------------------------------------
def check_intervention_upsert_get_and_not_found(store: Store, reopen: Reopen) -> None:
    """Intervention upsert get and not found."""
    del reopen
    iv = _iv("rec-1")
    store.save_intervention(iv)
    assert store.get_intervention("rec-1") == iv
    assert store.get_intervention("rec-1").why == _why()

    later = replace(iv, detections=5, score=6.5, why=_why()[:1],
                    updated_at=T0 + timedelta(minutes=10))
    store.save_intervention(later)
    assert store.get_intervention("rec-1") == later
    assert store.list_interventions(open_only=False) == [later]

    with raises(NotFound, match="rec-404"):
        store.get_intervention("rec-404")


def check_list_open_only_newest_first(store: Store, reopen: Reopen) -> None:
    """List open only newest first."""
    del reopen
    ivs = [
        _iv("a", created_at=T0, status=InterventionState.NEW),
        _iv("b", created_at=T0 + timedelta(hours=3), status=InterventionState.DONE),
        _iv("c", created_at=T0 + timedelta(hours=1), status=InterventionState.DEFERRED),
        _iv("d", created_at=T0 + timedelta(hours=4), status=InterventionState.DISMISSED),
        _iv("e", created_at=T0 + timedelta(hours=2), status=InterventionState.NEW),
    ]
    for iv in ivs:
        store.save_intervention(iv)
    assert [r.id for r in store.list_interventions()] == ["e", "c", "a"]
    assert [r.id for r in store.list_interventions(open_only=True, limit=2)] == ["e", "c"]
    assert [r.id for r in store.list_interventions(open_only=False)] == [
        "d", "b", "e", "c", "a",
    ]


def check_count_by_state_follows_every_save_and_move(store: Store, reopen: Reopen) -> None:
    """Interventions counted per lifecycle state (what ``/metrics`` shows); the store pings."""
    store.ping()
    assert store.count_interventions_by_state() == {}
    for n, state in enumerate([InterventionState.NEW, InterventionState.NEW,
                               InterventionState.DONE, InterventionState.SHELVED]):
        store.save_intervention(_iv(f"n{n}", created_at=T0 + timedelta(minutes=n),
                                    status=state))
    assert store.count_interventions_by_state() == {"new": 2, "done": 1, "shelved": 1}
    store.record_feedback(_fb("n0", FeedbackKind.ACTED, at=T0 + timedelta(hours=1)))
    other = reopen()
    try:
        other.ping()
        assert other.count_interventions_by_state() == {"new": 1, "done": 2, "shelved": 1}
    finally:
        other.close()


def check_open_intervention_is_newest_open_or_deferred_of_use_case_and_asset(
        store: Store, reopen: Reopen) -> None:
    """Open intervention is newest open or deferred of use case and asset."""
    del reopen
    assert store.open_intervention_for("pump-bearing", "p-101") is None
    store.save_intervention(_iv("old", created_at=T0, status=InterventionState.DEFERRED))
    store.save_intervention(_iv("closed", created_at=T0 + timedelta(hours=5),
                                   status=InterventionState.DONE))
    store.save_intervention(_iv("other-asset", created_at=T0 + timedelta(hours=6),
                                   asset="p-102"))
    store.save_intervention(_iv("other-case", created_at=T0 + timedelta(hours=7),
                                   use_case="pump-seal"))
    found = store.open_intervention_for("pump-bearing", "p-101")
    assert found is not None
    assert found.id == "old"

    store.save_intervention(_iv("new", created_at=T0 + timedelta(hours=1)))
    found = store.open_intervention_for("pump-bearing", "p-101")
    assert found is not None
    assert found.id == "new"
    assert store.open_intervention_for("pump-seal", "p-102") is None


# -- feedback ---------------------------------------------------------------------------------
def check_acted_feedback_closes_the_intervention(store: Store, reopen: Reopen) -> None:
    """Acted feedback closes the intervention."""
    del reopen
    store.save_intervention(_iv("r"))
    at = T0 + timedelta(hours=1)
    updated = store.record_feedback(_fb("r", FeedbackKind.ACTED, at=at, reason="bearing swapped"))
    assert updated.state is InterventionState.DONE
    assert updated.updated_at == at
    assert store.get_intervention("r") == updated
    assert store.open_intervention_for("pump-bearing", "p-101") is None
    assert store.list_interventions() == []
    assert store.feedback_for("r") == [
        _fb("r", FeedbackKind.ACTED, at=at, reason="bearing swapped"),
    ]


def check_deferred_feedback_keeps_the_intervention_open(store: Store, reopen: Reopen) -> None:
    """Deferred feedback keeps the intervention open."""
    del reopen
    store.save_intervention(_iv("r"))
    updated = store.record_feedback(_fb("r", FeedbackKind.DEFERRED, at=T0 + timedelta(hours=1)))
    assert updated.state is InterventionState.DEFERRED
    assert [r.id for r in store.list_interventions()] == ["r"]
    assert store.open_intervention_for("pump-bearing", "p-101") == updated
    final = store.record_feedback(_fb("r", FeedbackKind.ACTED, at=T0 + timedelta(hours=2)))
    assert final.state is InterventionState.DONE
    assert [f.kind for f in store.feedback_for("r")] == [FeedbackKind.DEFERRED,
                                                         FeedbackKind.ACTED]


def check_dismissal_needs_a_reason_and_stores_nothing_without_one(
        store: Store, reopen: Reopen) -> None:
    """Dismissal needs a reason and stores nothing without one."""
    del reopen
    iv = _iv("r")
    store.save_intervention(iv)
    with raises(FeedbackError, match="reason"):
        store.record_feedback(_fb("r", FeedbackKind.DISMISSED, at=T0, reason="  "))
    assert store.get_intervention("r") == iv
    assert store.feedback_for("r") == []

    done = store.record_feedback(_fb("r", FeedbackKind.DISMISSED, at=T0, reason="sensor fault"))
    assert done.state is InterventionState.DISMISSED
    assert [f.reason for f in store.feedback_for("r")] == ["sensor fault"]


def check_feedback_on_a_closed_intervention_is_refused(store: Store, reopen: Reopen) -> None:
    """Feedback on a closed intervention is refused."""
    del reopen
    store.save_intervention(_iv("r"))
    acted = store.record_feedback(_fb("r", FeedbackKind.ACTED, at=T0))
    with raises(FeedbackError, match="already done"):
        store.record_feedback(_fb("r", FeedbackKind.DEFERRED, at=T0 + timedelta(hours=1)))
    assert store.get_intervention("r") == acted
    assert len(store.feedback_for("r")) == 1


def check_feedback_on_an_unknown_intervention_is_not_found(store: Store, reopen: Reopen) -> None:
    """Feedback on an unknown intervention is not found."""
    del reopen
    with raises(NotFound, match="nope"):
        store.record_feedback(_fb("nope", FeedbackKind.ACTED, at=T0))
    assert store.feedback_for("nope") == []


def check_feedback_for_is_oldest_first_and_per_intervention(store: Store, reopen: Reopen) -> None:
    """Feedback for is oldest first and per intervention."""
    del reopen
    store.save_intervention(_iv("r"))
    store.save_intervention(_iv("s"))
    store.record_feedback(_fb("r", FeedbackKind.DEFERRED, at=T0 + timedelta(hours=1), by="a"))
    store.record_feedback(_fb("s", FeedbackKind.ACTED, at=T0 + timedelta(hours=2), by="x"))
    store.record_feedback(_fb("r", FeedbackKind.ACTED, at=T0 + timedelta(hours=4), by="c"))
    assert [f.by for f in store.feedback_for("r")] == ["a", "c"]
    assert [f.by for f in store.feedback_for("s")] == ["x"]


def check_concurrent_feedback_closes_a_intervention_once(store: Store, reopen: Reopen) -> None:
    """Concurrent feedback closes a intervention once."""
    store.save_intervention(_iv("r"))
    stores = [store, *(reopen() for _ in range(3))]

    def act(i: int) -> int:
        try:
            stores[i].record_feedback(_fb("r", FeedbackKind.ACTED, at=T0, by=f"user-{i}"))
        except FeedbackError:
            return 0
        return 1

    try:
        assert sum(_run_together(4, act)) == 1
    finally:
        for s in stores[1:]:
            s.close()
    assert len(store.feedback_for("r")) == 1
    assert store.get_intervention("r").state is InterventionState.DONE


# -- time -------------------------------------------------------------------------------------
def check_datetimes_come_back_aware_utc_and_equal(store: Store, reopen: Reopen) -> None:
    """Datetimes come back aware utc and equal."""
    del reopen
    local = datetime(2026, 3, 2, 8, 15, 30, 123456, tzinfo=CEST)
    iv = replace(_iv("r", created_at=local), updated_at=local + timedelta(microseconds=1))
    store.save_intervention(iv)
    got = store.get_intervention("r")
    for name in ("deadline", "predicted_failure", "detected_at", "created_at", "updated_at"):
        value = getattr(got, name)
        _assert_aware_utc(value)
        assert value == getattr(iv, name), name
    assert got.created_at == datetime(2026, 3, 2, 6, 15, 30, 123456, tzinfo=UTC)

    fb_at = datetime(2026, 3, 2, 9, 0, 0, 7, tzinfo=CEST)
    updated = store.record_feedback(_fb("r", FeedbackKind.DEFERRED, at=fb_at))
    _assert_aware_utc(updated.updated_at)
    stored_fb = store.feedback_for("r")[0]
    _assert_aware_utc(stored_fb.at)
    assert stored_fb.at == fb_at
    assert store.get_intervention("r").updated_at == fb_at

    spec = store.save_spec("plant: {}", by="eng", at=local)
    current = store.current_spec()
    assert current is not None
    _assert_aware_utc(current.at)
    assert current.at == local == spec.at

    store.add_event(Event("spec.changed", "v1", "", at=local))
    (event,) = store.events()
    _assert_aware_utc(event.at)
    assert event.at == local


def check_naive_datetimes_are_refused(store: Store, reopen: Reopen) -> None:
    """Naive datetimes are refused."""
    del reopen
    naive = datetime(2026, 3, 2, 6, 0, 0)  # the point of the test
    with raises(StoreError, match="timezone-aware"):
        store.save_intervention(_iv("r", created_at=naive))
    with raises(StoreError, match="timezone-aware"):
        store.add_event(Event("k", "s", "d", at=naive))
    with raises(StoreError, match="timezone-aware"):
        store.user_for_token("h", now=naive)
    assert store.list_interventions(open_only=False) == []
    assert store.events() == []


# -- models -----------------------------------------------------------------------------------
def check_models_register_latest_and_list_idempotently(store: Store, reopen: Reopen) -> None:
    """Models register latest and list idempotently."""
    del reopen
    assert store.latest_model("pump-bearing") is None
    assert store.list_models() == []
    v1, v2, other = _meta("pump-bearing", 1), _meta("pump-bearing", 2), _meta("fan-imbalance", 1)
    for meta in (v2, other, v1, v2, v1):
        store.register_model(meta)
    assert [r.meta for r in store.list_models()] == [other, v1, v2]
    assert {r.stage for r in store.list_models()} == {Stage.CANDIDATE}
    assert {r.key_id for r in store.list_models()} == {None}
    assert store.latest_model("pump-bearing") == v2
    assert store.latest_model("fan-imbalance") == other
    latest = store.latest_model("pump-bearing")
    assert latest is not None
    _assert_aware_utc(latest.created_at)
    assert latest.params == {"n_components": 2}
    assert latest.metrics == {"auc": 0.93}
    assert store.latest_model("unknown") is None


def check_model_stage_and_signature_are_stored_per_version(store: Store, reopen: Reopen) -> None:
    """Model stage and signature are stored per version."""
    del reopen
    v1, v2 = _meta("pump-bearing", 1), _meta("pump-bearing", 2)
    store.register_model(v1)
    store.register_model(v2)
    assert store.get_model("pump-bearing", 1) == ModelRecord(v1, Stage.CANDIDATE, None, None)
    store.set_model_signature("pump-bearing", 1, "0123456789abcdef", "ana")
    store.set_model_stage("pump-bearing", 1, Stage.PRODUCTION)
    store.register_model(v1)  # registering again keeps stage and signature
    assert store.get_model("pump-bearing", 1) == ModelRecord(
        v1, Stage.PRODUCTION, "0123456789abcdef", "ana")
    assert [(r.version, r.stage, r.key_id, r.signer) for r in store.list_models()] == [
        (1, Stage.PRODUCTION, "0123456789abcdef", "ana"), (2, Stage.CANDIDATE, None, None),
    ]
    store.set_model_stage("pump-bearing", 1, Stage.ARCHIVED)
    assert store.get_model("pump-bearing", 1).stage is Stage.ARCHIVED
    with raises(NotFound, match="pump-bearing v9"):
        store.get_model("pump-bearing", 9)
    with raises(NotFound, match="pump-bearing v9"):
        store.set_model_stage("pump-bearing", 9, Stage.PRODUCTION)
    with raises(NotFound, match="fan v1"):
        store.set_model_signature("fan", 1, "k", "ana")


# -- users and tokens -------------------------------------------------------------------------
def check_users_save_replace_and_get(store: Store, reopen: Reopen) -> None:
    """Users save replace and get."""
    del reopen
    assert store.get_user("ana") is None
    ana = _user()
    store.save_user(ana)
    got = store.get_user("ana")
    assert got == ana
    assert got is not None
    assert got.password_hash == "scrypt$00ff$abcdef"
    assert "scrypt" not in repr(got)
    promoted = replace(ana, access="admin", password_hash="scrypt$11$22")
    store.save_user(promoted)
    assert store.get_user("ana") == promoted
    assert store.get_user("bob") is None


def check_tokens_unknown_expired_revoked(store: Store, reopen: Reopen) -> None:
    """Tokens unknown expired revoked."""
    del reopen
    ana, bob = _user("ana"), _user("bob", access="viewer")
    store.save_user(ana)
    store.save_user(bob)
    now = T0
    store.add_token("h-forever", "ana", None)
    store.add_token("h-later", "bob", now + timedelta(seconds=1))
    store.add_token("h-now", "ana", now)
    store.add_token("h-past", "ana", now - timedelta(days=1))
    store.add_token("h-revoked", "ana", now + timedelta(days=1))
    store.revoke_token("h-revoked")
    store.revoke_token("h-unknown")  # nothing to do, and no error

    assert store.user_for_token("h-forever", now) == ana
    assert store.user_for_token("h-later", now) == bob
    assert store.user_for_token("h-later", now.astimezone(CEST)) == bob
    assert store.user_for_token("h-later", now + timedelta(seconds=1)) is None
    assert store.user_for_token("h-now", now) is None
    assert store.user_for_token("h-past", now) is None
    assert store.user_for_token("h-revoked", now) is None
    assert store.user_for_token("h-unknown", now) is None


def check_token_for_unknown_user_or_twice_is_refused_without_leaking_it(
        store: Store, reopen: Reopen) -> None:
    """Token for unknown user or twice is refused without leaking it."""
    del reopen
    secret = "f" * 64
    with raises(NotFound, match="ghost"):
        store.add_token(secret, "ghost", None)
    store.save_user(_user())
    store.add_token(secret, "ana", None)
    with raises(StoreError) as info:
        store.add_token(secret, "ana", None)
    assert secret not in str(info.value)
    assert info.value.__cause__ is None
    assert store.user_for_token(secret, T0) == _user()


# -- spec and events --------------------------------------------------------------------------
def check_spec_versions_increment(store: Store, reopen: Reopen) -> None:
    """Spec versions increment."""
    del reopen
    assert store.current_spec() is None
    first = store.save_spec("plant: v1\n", by="eng", at=T0)
    second = store.save_spec("plant: v2\n", by="admin", at=T0 + timedelta(minutes=5))
    assert (first.version, second.version) == (1, 2)
    assert store.current_spec() == second
    assert store.save_spec("plant: v3\n", by="eng", at=T0).version == 3
    current = store.current_spec()
    assert current is not None
    assert (current.version, current.text, current.by) == (3, "plant: v3\n", "eng")


def check_events_newest_first_filtered_by_kind(store: Store, reopen: Reopen) -> None:
    """Events newest first filtered by kind."""
    del reopen
    events = [
        Event("model.loaded", "pump-bearing v1", "from disk", at=T0),
        Event("feedback", "rec-1", "acted", at=T0 + timedelta(minutes=2), by="ana"),
        Event("model.loaded", "pump-bearing v2", "", at=T0 + timedelta(minutes=3)),
        Event("feedback", "rec-2", "deferred", at=T0 + timedelta(minutes=1), by="bob"),
    ]
    for e in events:
        store.add_event(e)
    assert store.events() == [events[2], events[1], events[3], events[0]]
    assert store.events(kind="feedback") == [events[1], events[3]]
    assert store.events(kind="model.loaded", limit=1) == [events[2]]
    assert store.events(kind="spec.changed") == []
    assert store.events()[-1].by == "system"


def check_an_event_sent_again_is_kept_once(store: Store, reopen: Reopen) -> None:
    """``add_event_once``: the same event again is not appended; any other field differs: it is."""
    first = Event("data_quality", "p-101/flow", "stuck for 5 min", at=T0, by="edge e-1")
    assert store.add_event_once(first)
    assert not store.add_event_once(first)
    other = reopen()  # another process (a restarted ingest); the same instant in another zone
    try:
        assert not other.add_event_once(replace(first, at=T0.astimezone(timezone(timedelta(
            hours=2)))))
    finally:
        other.close()
    others = [replace(first, detail="stuck for 6 min"),
              replace(first, at=T0 + timedelta(milliseconds=1)),
              replace(first, subject="p-101/speed"), replace(first, by="edge e-2"),
              replace(first, kind="clock_skew")]
    assert all(store.add_event_once(e) for e in others)
    assert sorted(store.events(limit=100), key=repr) == sorted([first, *others], key=repr)


# -- quarantine -------------------------------------------------------------------------------
def _quarantined(minutes: int, *, rule: Rule = Rule.OUT_OF_RANGE, asset: str = "p-101",
                 payload: bytes = b'{"v": 999, "u": "mm/s"}') -> Quarantined:
    topic = f"andon/v1/acme/ghent/utilities/line-1/{asset}/vibration"
    return quarantined_message(topic, payload, rule, f"{asset}/vibration: {rule}",
                               T0 + timedelta(minutes=minutes), source="sim-ghent")


def check_quarantine_keeps_everything_and_filters_newest_first(
        store: Store, reopen: Reopen) -> None:
    """Quarantine keeps everything and filters newest first."""
    del reopen
    items = [_quarantined(0), _quarantined(2, rule=Rule.UNIT_MISMATCH),
             _quarantined(1, asset="k-104"),
             quarantined_message("not/a/tag", b"\xff\x00 not json", Rule.MALFORMED,
                                 "not a tag topic", T0 + timedelta(minutes=3))]
    assert store.add_quarantined(items) == 4
    assert store.add_quarantined([]) == 0
    got = store.quarantined()
    assert [q.received_at for q in got] == [T0 + timedelta(minutes=m) for m in (3, 2, 1, 0)]
    assert all(q.id is not None for q in got)
    malformed = got[0]
    assert (malformed.address, malformed.source, malformed.payload, malformed.rule) == (
        None, None, b"\xff\x00 not json", Rule.MALFORMED)
    first = got[-1]
    assert first.address == TagAddress("acme", "ghent", "utilities", "line-1", "p-101",
                                       "vibration")
    assert (first.source, first.topic, first.reason, first.replayed_at) == (
        "sim-ghent", items[0].topic, items[0].reason, None)
    assert [q.rule for q in store.quarantined(rule="unit_mismatch")] == [Rule.UNIT_MISMATCH]
    assert [q.address.asset for q in store.quarantined(asset="k-104") if q.address] == ["k-104"]
    assert len(store.quarantined(since=T0 + timedelta(minutes=2))) == 2
    assert len(store.quarantined(limit=1)) == 1
    assert store.count_quarantined_by_rule() == {
        "malformed": 1, "out_of_range": 2, "unit_mismatch": 1}


def check_quarantine_get_by_id_truncation_and_not_found(store: Store, reopen: Reopen) -> None:
    """Quarantine get by id truncation and not found."""
    del reopen
    big = b"x" * (MAX_PAYLOAD_BYTES + 10)
    store.add_quarantined([_quarantined(0, payload=big)])
    (item,) = store.quarantined()
    assert item.id is not None
    got = store.get_quarantined(item.id)
    assert got == item
    assert (got.size, len(got.payload), got.truncated) == (len(big), MAX_PAYLOAD_BYTES, True)
    with raises(NotFound, match="quarantined message"):
        store.get_quarantined(item.id + 1000)


def check_quarantine_mark_replayed_once(store: Store, reopen: Reopen) -> None:
    """Quarantine mark replayed once."""
    del reopen
    store.add_quarantined([_quarantined(0), _quarantined(1)])
    ids = [q.id for q in store.quarantined() if q.id is not None]
    assert store.mark_replayed(ids[:1], T0 + timedelta(hours=1)) == 1
    assert store.mark_replayed(ids, T0 + timedelta(hours=2)) == 1  # the other one only
    replayed = store.get_quarantined(ids[0])
    assert replayed.replayed_at == T0 + timedelta(hours=1)
    assert store.quarantined(replayed=False) == []
    assert len(store.quarantined(replayed=True)) == 2
    assert store.mark_replayed([], T0) == 0


# -- the interventions change feed ------------------------------------------------------------
def check_every_write_of_an_intervention_moves_it_to_the_end_of_the_change_feed(
        store: Store, reopen: Reopen) -> None:
    """Every write of an intervention moves it to the end of the change feed."""
    del reopen
    heard: list[int] = []
    unsubscribe = store.on_intervention_change(lambda: heard.append(1))
    a, b = _iv("rec-a", asset="p-101"), _iv("rec-b", asset="p-102")
    store.save_intervention(a)
    store.save_intervention(b)
    feed = store.intervention_changes()
    assert [iv.id for _, iv in feed] == ["rec-a", "rec-b"]
    first, second = feed[0][0], feed[1][0]
    assert 0 < first < second
    assert store.intervention_changes(after=second) == []
    # a lifecycle move (people) and an evidence update (the edge) are changes too
    store.transition_intervention("rec-a", InterventionState.ACKNOWLEDGED, by="ana",
                                  at=T0 + timedelta(minutes=1))
    [(seq, moved)] = store.intervention_changes(after=second)
    assert (moved.id, moved.state) == ("rec-a", InterventionState.ACKNOWLEDGED)
    store.save_intervention(replace(b, detections=b.detections + 1))
    assert [iv.id for _, iv in store.intervention_changes(after=seq)] == ["rec-b"]
    assert [iv.id for _, iv in store.intervention_changes()] == ["rec-a", "rec-b"]  # once each
    assert store.intervention_changes(limit=1)[0][1].id == "rec-a"
    assert len(heard) == 4  # each committed write told the listeners once
    unsubscribe()
    store.save_intervention(replace(b, detections=b.detections + 2))
    assert len(heard) == 4


def check_a_refused_change_is_not_in_the_feed(store: Store, reopen: Reopen) -> None:
    """A refused change is not in the feed."""
    del reopen
    store.save_intervention(_iv("rec-a"))
    [(seq, _)] = store.intervention_changes()
    with raises(FeedbackError):
        store.record_feedback(Feedback("rec-a", FeedbackKind.DISMISSED, "", "ana", T0))
    assert store.intervention_changes(after=seq) == []


def check_writers_racing_each_get_a_distinct_change_seq(store: Store, reopen: Reopen) -> None:
    """Two store instances (two processes' worth) writing at once: no change lost or shared."""
    other = reopen()
    try:
        def write(s: Store, prefix: str) -> None:
            for i in range(25):
                s.save_intervention(_iv(f"{prefix}-{i}", asset=f"{prefix}{i}"))

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(write, (store, other), ("rec-x", "rec-y")))
        feed = store.intervention_changes(limit=1000)
        assert len(feed) == 50
        seqs = [seq for seq, _ in feed]
        assert len(set(seqs)) == 50
        assert seqs == sorted(seqs)
    finally:
        other.close()


# -- staged rollouts and shadow interventions ---------------------------------------------
def check_shadow_interventions_round_trip_once_and_stay_out_of_the_live_table(
        store: Store, reopen: Reopen) -> None:
    """A shadow intervention keeps every field, is kept once, and is never a live one."""
    def shadow(iid: str, at: datetime, asset: str) -> Intervention:
        iv = _iv(iid, created_at=at, asset=asset)  # as an edge raises it: every field set
        return replace(iv, model_version="4", dedup_key=f"pump-bearing:{asset}:{at}",
                       window_start=at - timedelta(minutes=30), window_end=at,
                       history=iv.lifecycle.history)

    a = shadow("shd-a", T0 + timedelta(hours=1), "p-101")
    b = shadow("shd-b", T0 + timedelta(hours=3), "p-102")
    assert store.save_shadow_intervention(b)
    assert store.save_shadow_intervention(a)
    assert not store.save_shadow_intervention(a)  # redelivered: kept once
    other = reopen()
    try:
        assert other.shadow_interventions() == [a, b]  # oldest first, every field
        assert other.shadow_interventions(since=T0 + timedelta(hours=2)) == [b]
        assert other.shadow_interventions(until=T0 + timedelta(hours=3)) == [a]
        assert other.list_interventions(open_only=False) == []
        assert other.intervention_changes() == []
    finally:
        other.close()


def check_a_rollout_is_saved_whole_and_a_stale_move_is_refused(
        store: Store, reopen: Reopen) -> None:
    """Two people moving one rollout at once: the second write is refused, nothing mixed."""
    from andon.rollout import Action, move, start  # noqa: PLC0415 - only this check needs it

    r = start("pump-bearing", "pump-bearing", "4", pilot="cooling-water", at=T0, by="ana",
              reason="try")
    assert store.rollout("pump-bearing") is None
    store.save_rollout(r, 0)
    with raises(StoreError):
        store.save_rollout(r, 0)  # one that has not ended stands already
    later = T0 + timedelta(days=8)
    mine = move(r, Action.ADVANCE, at=later, by="ana", reason="gate met", shift="early")
    theirs = move(r, Action.WITHDRAW, at=later, by="bo", reason="stop")
    store.save_rollout(mine, 1)
    other = reopen()
    try:
        with raises(StoreError):
            other.save_rollout(theirs, 1)
        assert other.rollout("pump-bearing") == mine
        gone = move(mine, Action.WITHDRAW, at=later, by="bo", reason="stop")
        other.save_rollout(gone, 2)
        fresh = start("pump-bearing", "pump-bearing", "5", pilot="process-water",
                      at=later, by="ana", reason="next")
        other.save_rollout(fresh, 0)  # the last one ended: a new one may start
        assert store.rollout("pump-bearing") == fresh
        assert store.rollouts() == [gone, fresh]
        assert store.rollouts(use_case="motor-health") == []
    finally:
        other.close()


#: every check, in the order above, for ``pytest.mark.parametrize``
STORE_CHECKS: tuple[Callable[[Store, Reopen], None], ...] = (
    check_create_schema_is_idempotent_and_keeps_data,
    check_sample_round_trip_keeps_every_field,
    check_duplicate_samples_are_ignored_and_counted,
    check_samples_filter_by_half_open_time_range_and_assets_in_order,
    check_threads_writing_samples_at_once_lose_nothing,
    check_separate_store_instances_writing_at_once_lose_nothing,
    check_intervention_upsert_get_and_not_found,
    check_list_open_only_newest_first,
    check_count_by_state_follows_every_save_and_move,
    check_open_intervention_is_newest_open_or_deferred_of_use_case_and_asset,
    check_acted_feedback_closes_the_intervention,
    check_deferred_feedback_keeps_the_intervention_open,
    check_dismissal_needs_a_reason_and_stores_nothing_without_one,
    check_feedback_on_a_closed_intervention_is_refused,
    check_feedback_on_an_unknown_intervention_is_not_found,
    check_feedback_for_is_oldest_first_and_per_intervention,
    check_concurrent_feedback_closes_a_intervention_once,
    check_datetimes_come_back_aware_utc_and_equal,
    check_naive_datetimes_are_refused,
    check_models_register_latest_and_list_idempotently,
    check_model_stage_and_signature_are_stored_per_version,
    check_users_save_replace_and_get,
    check_tokens_unknown_expired_revoked,
    check_token_for_unknown_user_or_twice_is_refused_without_leaking_it,
    check_spec_versions_increment,
    check_events_newest_first_filtered_by_kind,
    check_an_event_sent_again_is_kept_once,
    check_quarantine_keeps_everything_and_filters_newest_first,
    check_quarantine_get_by_id_truncation_and_not_found,
    check_quarantine_mark_replayed_once,
    check_every_write_of_an_intervention_moves_it_to_the_end_of_the_change_feed,
    check_a_refused_change_is_not_in_the_feed,
    check_writers_racing_each_get_a_distinct_change_seq,
    check_shadow_interventions_round_trip_once_and_stay_out_of_the_live_table,
    check_a_rollout_is_saved_whole_and_a_stale_move_is_refused,
)

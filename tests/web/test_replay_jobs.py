"""Web replays run in the background: one at a time, the newest remembered, failures said."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pytest

from andon.app import Actor, Context, PlantRef
from andon.contracts import Rule, quarantined_message
from andon.errors import Forbidden
from andon.feedback import Via
from andon.testing.factories import T0
from andon.web import jobs as jobs_module
from andon.web.jobs import ReplayJobs

if TYPE_CHECKING:
    from datetime import datetime

    from andon.clock import ManualClock
    from andon.spec import PlantSpec
    from andon.store import SqlStore

ENGINEER = Actor("erin", "reliability_engineer", "engineer", Via.WEB)
TOPIC = "andon/v1/acme/ghent/utilities/cooling-water/p-101/bearing_temp"


class Gated:
    """The real store, whose replay marking waits for the test (or breaks, when told)."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self.gate = threading.Event()
        self.fail = False

    def mark_replayed(self, ids: Any, at: datetime) -> int:
        assert self.gate.wait(10)
        if self.fail:
            raise RuntimeError("disk full")
        return self._store.mark_replayed(ids, at)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.fixture
def gated(store: SqlStore) -> Gated:
    payload = b'{"v":80,"u":"degC","ts":1772434800000,"seq":1,"src":"plc"}'
    store.add_quarantined([quarantined_message(TOPIC, payload, Rule.OUT_OF_RANGE,
                                               "was out of range", T0)])
    return Gated(store)


def test_one_replay_runs_at_a_time_and_a_viewer_may_not_start_one(
        gated: Gated, demo_spec: PlantSpec, clock: ManualClock) -> None:
    jobs = ReplayJobs(Context(gated, clock, PlantRef(demo_spec)))  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        jobs.start(Actor("vic", "plant_manager", "viewer", Via.WEB))
    first, started = jobs.start(ENGINEER)
    assert started
    again, started_again = jobs.start(ENGINEER)
    assert (again.id, started_again) == (first.id, False)
    assert first.view()["state"] == "running"
    gated.gate.set()
    assert first.finished.wait(10)
    view = first.view()
    assert (view["state"], view["done"], view["total"], view["stored"]) == ("done", 1, 1, 1)
    assert jobs.latest() is first


def test_a_failed_replay_says_so_and_only_the_newest_jobs_are_kept(
        gated: Gated, demo_spec: PlantSpec, clock: ManualClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs_module, "KEPT", 2)
    jobs = ReplayJobs(Context(gated, clock, PlantRef(demo_spec)))  # type: ignore[arg-type]
    gated.fail = True
    gated.gate.set()
    failed, _ = jobs.start(ENGINEER)
    assert failed.finished.wait(10)
    assert failed.view()["state"] == "failed"
    assert failed.view()["error"] == "the replay stopped: RuntimeError"
    later = []
    for _ in range(2):
        job, _ = jobs.start(ENGINEER, rule="unknown_tag")  # nothing to replay: ends at once
        assert job.finished.wait(10)
        later.append(job)
    assert jobs.get(failed.id) is None  # forgotten: only the newest two are kept
    assert [jobs.get(j.id) for j in later] == later
    assert later[-1].view()["percent"] == 100

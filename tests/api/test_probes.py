"""``/healthz`` and ``/readyz``: the two routes without a token, and all they say.

Readiness is checked against a real SQLite store made unreachable (its file replaced by a
directory once the pool is closed) and against the ingest's subscription flag; the answer
names the failing check and nothing else (no path, no URL, no error text).
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from structlog.testing import capture_logs

from andon.api import create_app
from andon.services.readiness import Readiness
from api.conftest import TestClient

if TYPE_CHECKING:
    from pathlib import Path

    from andon.clock import ManualClock
    from andon.spec import PlantSpec
    from andon.store import SqlStore


def test_liveness_answers_without_a_token_and_says_only_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers


def test_readiness_says_ready_when_the_store_answers(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"store": "ok"}}


def test_readiness_is_503_naming_the_broker_while_the_ingest_is_not_subscribed(
    store: SqlStore, demo_spec: PlantSpec, clock: ManualClock,
) -> None:
    subscribed = [False]
    app = create_app(store, demo_spec, clock=clock,
                     readiness=Readiness(store, broker=lambda: subscribed[0], reuse_s=0))
    with TestClient(app) as client:
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json() == {"status": "not ready",
                               "checks": {"store": "ok", "broker": "down"}}
        subscribed[0] = True
        assert client.get("/readyz").json() == {"status": "ready",
                                                "checks": {"store": "ok", "broker": "ok"}}


def test_readiness_is_503_when_the_store_cannot_be_reached_and_tells_nothing_more(
    store: SqlStore, demo_spec: PlantSpec, clock: ManualClock, sqlite_url: str,
    tmp_path: Path,
) -> None:
    app = create_app(store, demo_spec, clock=clock, readiness=Readiness(store, reuse_s=0))
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        store.close()  # the pool lets go of the file; the next query opens it again
        db = tmp_path / "andon.db"
        shutil.move(db, tmp_path / "moved.db")
        db.mkdir()  # a directory where the database was: SQLite cannot open it
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {"status": "not ready", "checks": {"store": "down"}}
        for secret in (str(tmp_path), "sqlite", "andon.db"):
            assert secret not in response.text
        assert client.get("/healthz").status_code == 200  # alive all the same
    db.rmdir()
    shutil.move(tmp_path / "moved.db", db)
    assert sqlite_url.endswith("andon.db")


class _CountingStore:
    def __init__(self) -> None:
        self.pings = 0

    def ping(self) -> None:
        self.pings += 1


def test_a_check_is_reused_for_a_second_so_polling_cannot_load_the_store() -> None:
    store = _CountingStore()
    readiness = Readiness(store, reuse_s=60.0)
    for _ in range(50):
        assert readiness.check() == {"store": True}
    assert store.pings == 1
    assert Readiness(store, reuse_s=0).check() == {"store": True}
    assert store.pings == 2


class _FlakyStore:
    def __init__(self) -> None:
        self.up = True

    def ping(self) -> None:
        if not self.up:
            raise ConnectionRefusedError("postgresql://ana:pw@db:5432 refused")


def test_a_failing_check_is_logged_once_by_its_kind_until_it_holds_again() -> None:
    store = _FlakyStore()
    readiness = Readiness(store, reuse_s=0)
    with capture_logs() as logs:
        readiness.check()
        store.up = False
        for _ in range(5):
            assert readiness.check() == {"store": False}
        store.up = True
        assert readiness.check() == {"store": True}
    assert [(x["log_level"], x["event"]) for x in logs] == [
        ("warning", "not ready: the store does not answer"), ("info", "ready again")]
    assert logs[0]["error"] == "ConnectionRefusedError"
    assert "pw" not in str(logs)

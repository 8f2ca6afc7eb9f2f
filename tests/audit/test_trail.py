"""The audit trail in a real store: chained on SQLite and PostgreSQL, tampering named.

Tampering is done as an intruder with database access would: plain SQL on the tables, behind
Andon's back. ``andon audit verify`` must name the first broken entry (or the login row).
"""

from __future__ import annotations

import json
import threading
from itertools import pairwise
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from andon.app import (
    Actor,
    Context,
    PlantRef,
    add_user,
    anchor_trail,
    change_password,
    delete_user,
    read_trail,
    verify_trail,
)
from andon.audit import Event, EventKind
from andon.cli.app import app as cli
from andon.clock import ManualClock, utc
from andon.errors import Forbidden
from andon.registry import generate_keypair
from andon.store import SqlStore, open_store
from andon.store.schema import METADATA

if TYPE_CHECKING:
    from pathlib import Path

    from andon.spec import PlantSpec

T0 = utc(2026, 12, 7, 8)
ADMIN = Actor("root", "plant_manager", "admin")
PASSWORD = "correct horse battery staple"
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


def ctx_of(store: SqlStore, spec: PlantSpec, clock: ManualClock) -> Context:
    return Context(store, clock, PlantRef(spec))


def fill(ctx: Context, clock: ManualClock, n: int = 20) -> None:
    """A trail a plant would have: logins, a password change, model and intervention events."""
    add_user(ctx, ADMIN, "ana", "maintenance_planner", PASSWORD)
    add_user(ctx, ADMIN, "olga", "operator", PASSWORD)
    for i in range(n):
        clock.advance(60)
        ctx.store.add_event(Event(EventKind.TRANSITION, f"iv-{i:03d}", "acknowledged",
                                  clock.now(), "olga"))
    change_password(ctx, ADMIN, "ana", "another long passphrase 2026")


def sql(store: SqlStore, statement: str, **params: object) -> None:
    with store._engine.begin() as conn:
        conn.execute(text(statement), params)


def test_every_event_is_a_link_of_one_whole_chain(any_store: SqlStore, demo_spec: PlantSpec,
                                                   ) -> None:
    clock = ManualClock(T0)
    ctx = ctx_of(any_store, demo_spec, clock)
    fill(ctx, clock)
    report = verify_trail(ctx, ADMIN)
    assert report.ok, report.lines()
    assert report.chain.entries == any_store.chain_head()[0] == 23
    seqs = [e.seq for e in read_trail(ctx, ADMIN, limit=1000)]
    assert sorted(seqs) == list(range(1, 24))  # type: ignore[type-var]
    with pytest.raises(Forbidden):
        verify_trail(ctx, Actor("olga", "operator", "operator"))


def test_writers_in_parallel_never_take_the_same_position(store_url: str,
                                                          demo_spec: PlantSpec) -> None:
    """Four stores (four engines, as four processes would have) append at once."""
    stores = [open_store(store_url) for _ in range(4)]
    try:
        with stores[0]._engine.begin() as conn:  # empty, as any_store starts
            for table in reversed(METADATA.sorted_tables):
                conn.execute(table.delete())
        go = threading.Barrier(len(stores))

        def write(i: int, store: SqlStore) -> None:
            go.wait(timeout=30)
            for j in range(25):
                store.add_event(Event(EventKind.EDGE_HEARTBEAT, f"edge-{i}", str(j), T0))

        threads = [threading.Thread(target=write, args=(i, s)) for i, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        ctx = Context(stores[0], ManualClock(T0), PlantRef(demo_spec))
        report = verify_trail(ctx, ADMIN)
        assert report.ok, report.lines()
        assert report.chain.entries == 100
    finally:
        for s in stores:
            s.close()


@pytest.mark.parametrize(("tamper", "named"), [
    ("UPDATE events SET detail = 'dismissed' WHERE seq = 9",
     "entry 9 (transition iv-006"),
    ("UPDATE events SET \"by\" = 'somebody-else' WHERE seq = 12",
     "entry 12 (transition iv-009, 2026-12-07 08:10:00 UTC, by somebody-else) was changed"),
    ("DELETE FROM events WHERE seq = 5", "entry 5 is missing"),
    ("DELETE FROM events WHERE seq BETWEEN 5 AND 7", "entries 5 to 7 are missing"),
])
def test_an_edited_or_deleted_entry_is_named(any_store: SqlStore, demo_spec: PlantSpec,
                                             tamper: str, named: str) -> None:
    clock = ManualClock(T0)
    ctx = ctx_of(any_store, demo_spec, clock)
    fill(ctx, clock)
    sql(any_store, tamper)
    report = verify_trail(ctx, ADMIN)
    assert not report.ok
    assert named in (report.chain.problem or ""), report.lines()


@pytest.mark.parametrize(("tamper", "named"), [
    ("UPDATE users SET access = 'admin' WHERE username = 'olga'", "login 'olga' differs"),
    ("UPDATE users SET role = 'plant_manager' WHERE username = 'olga'", "login 'olga' differs"),
    ("UPDATE users SET disabled = TRUE WHERE username = 'ana'", "login 'ana' differs"),
    (("UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE username = "
      "'ana') WHERE username = 'olga'"), "login 'olga' differs"),
    (("INSERT INTO users (username, role, access, display_name, password_hash, disabled) "
      "VALUES ('mallory', 'operator', 'admin', 'M', 'x', FALSE)"), "login 'mallory' has no audit"),
])
def test_a_login_changed_in_the_database_is_named(any_store: SqlStore, demo_spec: PlantSpec,
                                                  tamper: str, named: str) -> None:
    clock = ManualClock(T0)
    ctx = ctx_of(any_store, demo_spec, clock)
    fill(ctx, clock, n=2)
    assert verify_trail(ctx, ADMIN).ok
    sql(any_store, tamper)
    report = verify_trail(ctx, ADMIN)
    assert report.chain.ok  # the chain itself is whole: the row changed, no entry did
    assert not report.ok
    assert any(named in p for p in report.record_problems), report.record_problems


def test_a_deleted_login_may_come_back_only_through_andon(store: SqlStore,
                                                          demo_spec: PlantSpec) -> None:
    clock = ManualClock(T0)
    ctx = ctx_of(store, demo_spec, clock)
    fill(ctx, clock, n=1)
    delete_user(ctx, ADMIN, "olga", reason="left the plant")
    assert verify_trail(ctx, ADMIN).ok
    sql(store, "INSERT INTO users (username, role, access, display_name, password_hash, "
        "disabled) VALUES ('olga', 'operator', 'operator', 'O', 'x', FALSE)")
    problems = verify_trail(ctx, ADMIN).record_problems
    assert any("login 'olga' differs" in p for p in problems), problems
    sql(store, "DELETE FROM users WHERE username = 'olga'")
    add_user(ctx, ADMIN, "olga", "operator", PASSWORD)  # through Andon: recorded
    assert verify_trail(ctx, ADMIN).ok


def test_a_signed_anchor_shows_the_newest_entries_deleted(tmp_path: Path, store: SqlStore,
                                                          demo_spec: PlantSpec) -> None:
    clock = ManualClock(T0)
    ctx = ctx_of(store, demo_spec, clock)
    fill(ctx, clock)
    key, pub, key_id = generate_keypair(tmp_path / "keys", "audit")
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    (trusted / pub.name).write_bytes(pub.read_bytes())
    anchor_trail(ctx, ADMIN, key)  # signs entry 23; the anchor's own event is entry 24
    report = verify_trail(ctx, ADMIN, keys_dir=trusted)
    assert report.ok, report.lines()
    assert (report.chain.anchors, report.chain.newest_anchor) == (1, 23)
    sql(store, "DELETE FROM events WHERE seq >= 20")  # cover the tracks: the newest entries
    report = verify_trail(ctx, ADMIN, keys_dir=trusted)
    assert not report.ok
    assert "the trail ends at entry 19 but entry 23 was anchored" in (report.chain.problem or "")
    # a forged anchor signature is named too
    sql(store, "UPDATE audit_anchors SET signature = :s", s="00" * 64)
    assert f"does not verify with key {key_id}" in (
        verify_trail(ctx, ADMIN, keys_dir=trusted).chain.problem or "")


def test_cli_verify_names_the_break_and_exits_1(tmp_path: Path, sqlite_url: str,
                                                demo_spec: PlantSpec) -> None:
    clock = ManualClock(T0)
    with open_store(sqlite_url) as store:
        fill(ctx_of(store, demo_spec, clock), clock)
    ok = CliRunner().invoke(cli, ["audit", "verify", "--db", sqlite_url], env=ENV)
    assert ok.exit_code == 0, ok.output
    assert "audit trail intact: 23 entries checked" in ok.output
    with open_store(sqlite_url) as store:
        sql(store, "UPDATE events SET detail = 'nothing happened' WHERE seq = 10")
    broken = CliRunner().invoke(cli, ["audit", "verify", "--db", sqlite_url, "--json"], env=ENV)
    assert broken.exit_code == 1
    doc = json.loads(broken.stdout)
    assert (doc["ok"], doc["broken_at"]) == (False, 10)
    assert doc["problem"].startswith("entry 10 (transition iv-007")


def test_cli_export_writes_every_entry_with_its_chain_fields(tmp_path: Path, sqlite_url: str,
                                                             demo_spec: PlantSpec) -> None:
    clock = ManualClock(T0)
    with open_store(sqlite_url) as store:
        fill(ctx_of(store, demo_spec, clock), clock)
    out = tmp_path / "trail.jsonl"
    result = CliRunner().invoke(cli, ["audit", "export", "--db", sqlite_url, "--format", "json",
                                      "--out", str(out)], env=ENV)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["seq"] for r in rows] == list(range(1, 24))
    assert all(b["prev_hash"] == a["hash"] for a, b in pairwise(rows))
    only = CliRunner().invoke(cli, ["audit", "export", "--db", sqlite_url, "--kind", "user"],
                              env=ENV)
    assert only.exit_code == 0, only.output
    lines = only.stdout.splitlines()
    assert lines[0].startswith("seq,at,kind,subject,detail,by,record_hash,prev_hash,hash")
    assert len(lines) == 1 + 3  # ana, olga, ana's password change
    shown = CliRunner().invoke(cli, ["audit", "show", "--db", sqlite_url, "--kind",
                                     "user", "--subject", "ana"], env=ENV)
    assert shown.exit_code == 0, shown.output
    assert "password changed" in shown.stdout

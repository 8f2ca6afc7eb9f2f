"""``andon serve --audit-key``: the trail signed periodically, so a cut tail shows."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from andon.app import Actor, Context, verify_trail
from andon.audit import Event, EventKind
from andon.clock import ManualClock, utc
from andon.registry import generate_keypair
from andon.services.anchoring import AnchorService
from andon.store import SqlStore, open_store
from andon.testing import eventually
from andon.testing.services import free_port, port_open

ANDON = str(Path(sys.executable).parent / "andon")
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"
ADMIN = Actor("root", "plant_manager", "admin")
T0 = utc(2026, 12, 7, 8)


def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public, _ = generate_keypair(tmp_path / "keys", "audit")
    trusted = tmp_path / "keys" / "trusted"
    trusted.mkdir()
    (trusted / public.name).write_bytes(public.read_bytes())
    return private, trusted


def test_a_tick_anchors_only_when_the_trail_grew(tmp_path: Path, store: SqlStore) -> None:
    private, trusted = keys(tmp_path)
    clock = ManualClock(T0)
    service = AnchorService(store, clock, private, every_s=3600)
    assert service.tick() is None  # an empty trail: nothing to sign
    for i in range(3):
        store.add_event(Event(EventKind.TRANSITION, f"iv-{i}", "acknowledged", clock.now()))
    first = service.tick()
    assert first is not None
    assert "audit chain signed at entry 3" in first.detail
    assert service.tick() is None  # only its own anchor entry since
    store.add_event(Event(EventKind.TRANSITION, "iv-9", "started", clock.now()))
    assert service.tick() is not None
    assert [a.seq for a in store.anchors()] == [3, 5]
    report = verify_trail(Context(store, clock), ADMIN, keys_dir=trusted)
    assert report.ok
    assert report.chain.newest_anchor == 5


def test_serve_anchors_the_trail_until_stopped(tmp_path: Path) -> None:
    private, trusted = keys(tmp_path)
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [ANDON, "serve", "--spec", str(DEMO), "--db", db, "--port", str(port),
             "--models-dir", str(tmp_path / "models"), "--audit-key", str(private),
             "--audit-anchor-every", "0.2"], stdout=out, stderr=subprocess.STDOUT)
        try:
            eventually(lambda: proc.poll() is not None or port_open("127.0.0.1", port, 0.2),
                       "andon serve to listen", 60)
            assert proc.poll() is None, log.read_text()
            # the spec stored at start is the trail's first entry: anchored at once
            with open_store(db) as store:
                eventually(lambda: len(store.anchors()) >= 1, "a first anchor", 30)
                for i in range(3):
                    store.add_event(Event(EventKind.TRANSITION, f"iv-{i}", "acknowledged",
                                          T0))
                head = store.chain_head()[0]
                eventually(lambda: store.anchors()[-1].seq >= head, "an anchor of the new head",
                           30)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, log.read_text()
    with open_store(db) as store:
        clock = ManualClock(T0)
        assert verify_trail(Context(store, clock), ADMIN, keys_dir=trusted).ok
        newest = store.anchors()[-1].seq
        with store._engine.begin() as conn:  # cut the tail the anchor covers
            conn.execute(text("DELETE FROM events WHERE seq >= :s"), {"s": newest - 1})
        report = verify_trail(Context(store, clock), ADMIN, keys_dir=trusted)
        assert not report.ok
        assert f"entry {newest} was anchored" in (report.chain.problem or "")

"""Link states move only along legal edges; the guard lets the edge publish only its own topics."""

from __future__ import annotations

import doctest
import random
from pathlib import Path

import pytest

from andon.audit import Event
from andon.clock import ManualClock
from andon.edge import Backoff, EdgeIdentity, LinkState, Outbox, PublishGuard, Uplink, build_edge
from andon.edge import guard as guard_module
from andon.edge import link as link_module
from andon.edge.link import transition
from andon.edge.outbox import INTERVENTION
from andon.errors import LinkError
from andon.namespace import edge_intervention_topic, tag_topic
from andon.spec import PlantSpec
from andon.testing.factories import T0


def test_docstring_examples_run() -> None:
    for module in (link_module, guard_module):
        assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize(("current", "target"), [
    ("buffering", "replaying"), ("replaying", "online"), ("replaying", "buffering"),
    ("online", "buffering"),
])
def test_legal_link_moves(current: str, target: str) -> None:
    assert transition(current, target) is LinkState(target)


@pytest.mark.parametrize(("current", "target", "why"), [
    ("online", "replaying", "online may only move to buffering"),
    ("buffering", "online", "buffering may only move to replaying"),
    ("online", "online", "it is already online"),
    ("online", "gone", "states are online, buffering, replaying"),
])
def test_illegal_link_moves_name_both_states(current: str, target: str, why: str) -> None:
    with pytest.raises(LinkError) as info:
        transition(current, target)
    assert str(info.value) == f"edge link cannot move from {current} to {target} ({why})"


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap_and_resets() -> None:
    b = Backoff(base_s=1.0, cap_s=8.0, rng=random.Random(0))
    delays = [b.next_delay() for _ in range(8)]
    for n, d in enumerate(delays):
        ceiling = min(8.0, 2.0**n)
        assert ceiling / 2 <= d <= ceiling
    assert len({round(d, 6) for d in delays[4:]}) == 4  # capped, yet jittered
    b.reset()
    assert b.next_delay() <= 1.0


ENT, EDGE = "acme", "e1"


@pytest.mark.parametrize("topic", [
    edge_intervention_topic(ENT, "ghent", "utilities", "cooling-water", "p-101"),
    f"andon/v1/{ENT}/_andon/edge/{EDGE}/state",
    f"andon/v1/{ENT}/_andon/edge/{EDGE}/heartbeat",
])
def test_guard_allows_the_edges_own_topics(topic: str) -> None:
    assert PublishGuard.for_edge(ENT, EDGE).check(topic)


@pytest.mark.parametrize("topic", [
    tag_topic(ENT, "ghent", "utilities", "cooling-water", "p-101", "vibration"),  # a tag
    "andon/v1/acme/ghent/utilities/cooling-water/p-101/cmd/stop",  # a command
    "andon/v1/acme/ghent/utilities/cooling-water/p-101/_andon/cmd/setpoint",
    edge_intervention_topic("other", "ghent", "utilities", "cooling-water", "p-101"),  # enterprise
    "andon/v1/acme/_andon/edge/e2/state",  # another edge
    "andon/v1/acme/ghent/utilities/cooling-water/+/_andon/intervention/edge",  # a wildcard
    "andon/v1/acme/ghent/utilities/cooling-water/p-101/x/_andon/intervention/edge",  # deeper
    "spBv1.0/acme/NCMD/node", "",
])
def test_guard_blocks_tag_command_and_foreign_topics(topic: str) -> None:
    guard = PublishGuard.for_edge(ENT, EDGE)
    assert not guard.check(topic)
    assert guard.blocked == 1
    assert list(guard.blocked_topics) == [topic]


def _uplink() -> tuple[Uplink, list[Event]]:
    kept: list[Event] = []
    uplink = Uplink("mqtt://127.0.0.1:1", EdgeIdentity(EDGE, ENT), Outbox(":memory:"),
                    clock=ManualClock(T0), record=kept.append)
    return uplink, kept


@pytest.mark.parametrize("topic", [
    tag_topic(ENT, "ghent", "utilities", "cooling-water", "p-101", "vibration"),
    "andon/v1/acme/ghent/utilities/cooling-water/p-101/cmd/stop",
])
def test_a_intervention_cannot_reach_a_tag_or_command_topic(topic: str) -> None:
    uplink, kept = _uplink()
    assert not uplink.send(INTERVENTION, "rec-1:1", "p-101", topic, {"id": "rec-1"})
    assert uplink.stats.blocked == 1
    assert [(e.kind, e.subject) for e in kept] == [("blocked_publish", topic)]
    # nothing for the blocked topic is queued; only the edge's own blocked_publish event is
    queued = uplink.outbox.pending(10)
    assert [i.topic for i in queued] == [f"andon/v1/{ENT}/_andon/edge/{EDGE}/event"]
    assert b'"kind":"blocked_publish"' in queued[0].payload
    assert topic.encode() in queued[0].payload


def test_the_edge_emits_interventions_through_the_guard(demo_spec: PlantSpec,
                                                          tmp_path: Path) -> None:
    from andon.store import open_store  # noqa: PLC0415
    from andon.testing.factories import make_intervention  # noqa: PLC0415

    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    edge = build_edge(demo_spec, store, tmp_path / "models", clock=ManualClock(T0), record=False)
    uplink, kept = _uplink()
    edge.outbound = uplink
    edge.emit(make_intervention("rec-ok"))
    edge.emit(make_intervention("rec-bad", asset="p-101/vibration"))  # a tag-like path
    store.close()
    keys = [i.key for i in uplink.outbox.pending(10) if i.kind == INTERVENTION]
    assert keys == ["rec-ok:4"]
    assert [e.kind for e in kept] == ["blocked_publish"]
    assert uplink.stats.blocked == 1


def test_drops_and_depth_show_in_stats_and_in_the_heartbeat_document() -> None:
    kept: list[Event] = []
    box = Outbox(":memory:", capacity=2)
    uplink = Uplink("mqtt://127.0.0.1:1", EdgeIdentity(EDGE, ENT, "h" * 64, 5.0), box,
                    clock=ManualClock(T0), record=kept.append,
                    models=lambda: {"pump-bearing": "pump-bearing v3"})
    topic = edge_intervention_topic(ENT, "ghent", "utilities", "cooling-water", "p-101")
    for n in range(2):
        assert uplink.send(INTERVENTION, f"rec-{n}:1", "p-101", topic, {"id": n})
    uplink.event("edge_link", "buffering -> replaying")  # refused: only interventions left
    assert uplink.stats.buffer_depth == 2
    assert uplink.stats.dropped == {"event": 1}
    doc = uplink.document("heartbeat")
    assert (doc["link"], doc["buffer_depth"], doc["dropped"]) == ("buffering", 2, {"event": 1})
    assert doc["models"] == {"pump-bearing": "pump-bearing v3"}
    assert (doc["edge_id"], doc["heartbeat_s"], doc["config_hash"]) == (EDGE, 5.0, "h" * 64)
    assert [e.kind for e in kept] == ["edge_link"]  # the store still keeps the event


def test_an_edge_is_stale_after_three_missed_heartbeats() -> None:
    from datetime import timedelta  # noqa: PLC0415

    from andon.edge.heartbeat import edge_document, statuses_from_documents  # noqa: PLC0415

    ident = EdgeIdentity(EDGE, ENT, heartbeat_s=10.0)
    doc = edge_document(ident, "heartbeat", at=T0, link="online", buffer_depth=0, dropped={},
                        models={}, extra={"session": "s"})
    [status] = statuses_from_documents([doc])
    assert not status.stale(T0 + timedelta(seconds=30))
    assert status.stale(T0 + timedelta(seconds=31))
    death = edge_document(ident, "death", at=T0 - timedelta(seconds=60), link="buffering",
                          buffer_depth=0, dropped={}, models={}, extra={"session": "s"})
    [status] = statuses_from_documents([doc, death])
    # the will outlives the beat; the beat's link died with its connection
    assert (status.status, status.link) == ("offline", "down")
    # a reconnect is a new session: the old connection's will, arriving after the new
    # connection's heartbeat (a broker that noticed the old connection late), changes nothing
    again = edge_document(ident, "heartbeat", at=T0 + timedelta(seconds=5), link="online",
                          buffer_depth=0, dropped={}, models={}, extra={"session": "s2"})
    [status] = statuses_from_documents([doc, again, death])
    assert (status.status, status.link) == ("online", "online")


def test_probe_echoes_are_taken_out_of_a_read_before_the_edge_gets_it() -> None:
    got: list[list[tuple[str, bytes]]] = []
    uplink = Uplink("mqtt://127.0.0.1:1", EdgeIdentity(EDGE, ENT), Outbox(":memory:"),
                    clock=ManualClock(T0), on_batch=got.append)
    tag = tag_topic(ENT, "ghent", "utilities", "cooling-water", "p-101", "vibration")
    probe = f"andon/_probe/{uplink.client_id}"
    uplink._batch([(tag, b"1")])  # the common read: handed over as it is
    uplink._batch([(tag, b"2"), (probe, b"7"), (tag, b"3"), (probe, b"5")])
    uplink._batch([(probe, b"9")])  # only an echo: the edge gets nothing
    assert got == [[(tag, b"1")], [(tag, b"2"), (tag, b"3")]]
    assert uplink._echoed == 9  # the newest token confirmed
    assert uplink._confirmed.is_set()

"""``Partition``: which central ingest worker handles a message (no broker, no database server).

Every message is handled by exactly one of N workers: an outbox's items by its epoch (whatever
their source, topic or kind), an edge's documents by its id, anything unreadable by its topic.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.clock import ManualClock, to_ms, utc
from andon.edge import Outbox
from andon.edge.forward import Forwarder
from andon.edge.outbox import INTERVENTION
from andon.edge.uplink import _with_floor
from andon.interventions.wire import intervention_document
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress, edge_intervention_topic
from andon.services.central import CentralIngest, Partition, _epoch_of
from andon.store import SqlStore, open_store
from andon.testing.factories import make_intervention
from edge.faults import OutboxSender

T0 = utc(2026, 3, 2, 7, 0)
ADDRESS = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "vibration")


@pytest.mark.parametrize(("text", "reason"), [
    ("0/3", "must be 1 to 3"), ("4/3", "must be 1 to 3"), ("1/0", "at least one worker"),
    ("2", "expected I/N"), ("a/b", "expected I/N"), ("-1/3", "expected I/N"), ("", "I/N"),
])
def test_a_bad_worker_is_refused_naming_it(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        Partition.parse(text)
    assert "ingest worker" in str(caught.value)


def test_one_worker_is_no_partition_and_names_nothing(tmp_path: Path) -> None:
    assert Partition.parse(" 1/1 ").suffix == ""
    assert Partition(2, 3).suffix == "-2of3"
    with open_store(f"sqlite:///{tmp_path / 'c.db'}") as store:
        assert CentralIngest(store, ManualClock(T0), partition=Partition(1, 1)).partition is None


def test_edges_spread_over_the_workers() -> None:
    counts = [sum(Partition(i, 3).owns(f"epoch-{n}") for n in range(3000)) for i in (1, 2, 3)]
    assert sum(counts) == 3000, "each key has exactly one owner"
    assert all(800 < c < 1200 for c in counts), counts


@given(st.dictionaries(st.text(max_size=10), st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3), max_leaves=8),
    max_size=5), st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=40))
def test_the_epoch_is_read_from_an_items_tail_whatever_the_document_holds(
        document: dict[str, object], epoch: str) -> None:
    """The outbox writes ``epoch`` (random, ASCII) after the document's fields (``floor`` after).

    A nested ``"epoch"`` anywhere in the document, as a key or inside a string, is not taken.
    """
    doc = {k: v for k, v in document.items() if k not in {"epoch", "floor"}}
    doc |= {"fields": {"epoch": "nested"}, "detail": '{"epoch": "in-a-string"}'}
    for payload in (json.dumps({**doc, "seq": 1, "epoch": epoch}).encode(),
                    json.dumps({**doc, "seq": 1, "epoch": epoch}, separators=(",", ":")).encode(),
                    _with_floor(json.dumps({**doc, "seq": 1, "epoch": epoch}).encode(), 1)):
        assert _epoch_of(payload) == epoch


def _workers(tmp: Path, n: int = 3) -> list[tuple[CentralIngest, SqlStore]]:
    out = []
    for i in range(1, n + 1):
        store = open_store(f"sqlite:///{tmp / f'c{i}.db'}")
        out.append((CentralIngest(store, ManualClock(T0), partition=Partition(i, n)), store))
    return out


def test_every_message_is_handled_by_exactly_one_worker(tmp_path: Path) -> None:
    box = Outbox(":memory:")
    fwd = Forwarder(OutboxSender(box), "acme", "e1")
    fwd.forward([Sample(ADDRESS, 1.0 + s, "mm/s", Quality.GOOD, to_ms(T0) + s * 1000, s,
                        "p-101") for s in range(6)], [])
    iv = make_intervention("iv-1", asset="p-101")  # same source as the samples: one stream
    box.append(INTERVENTION, "iv:iv-1", "p-101", edge_intervention_topic(
        "acme", "ghent", "utilities", "cooling-water", "p-101"), intervention_document(iv))
    items = box.pending(100)
    assert {i.source for i in items} == {"p-101"}
    assert len(items) >= 2
    messages = [(i.topic, i.payload) for i in items] + [
        ("andon/v1/acme/_andon/edge/e1/heartbeat",
         json.dumps({"edge_id": "e1", "at": to_ms(T0), "kind": "heartbeat"}).encode()),
        ("andon/v1/acme/_andon/edge/e2/samples", b"{not json"),
        ("andon/v1/acme/ghent/utilities/cooling-water/p-101/_andon/intervention/edge",
         b'{"seq": "x"}'),
    ]
    workers = _workers(tmp_path)
    for ingest, _ in workers:
        for topic, payload in messages:
            ingest.receive(topic, payload)
        ingest.flush()
    owner = [w for w in workers if w[0].partition and w[0].partition.owns(box.epoch)]
    assert len(owner) == 1
    ingest, store = owner[0]
    assert store.sample_count() == 6
    assert [r.id for r in store.list_interventions(open_only=False)] == ["iv-1"]
    assert ingest.take_acks(), "the owner acknowledges its outbox"
    assert sum(s.sample_count() for _, s in workers) == 6, "nobody else wrote them"
    assert sum(w.stats.rejected for w, _ in workers) == 2
    assert sum(len(s.quarantined()) for _, s in workers) == 2, "each bad message kept once"
    assert sum(len(s.events(kind="edge_heartbeat")) for _, s in workers) == 1
    for w, _ in workers:
        handled = w.stats.messages
        assert handled + w.stats.foreign == len(messages), "each one seen, handled or skipped"
        if w is not ingest:
            assert w.take_acks() == []
    for _, s in workers:
        s.close()

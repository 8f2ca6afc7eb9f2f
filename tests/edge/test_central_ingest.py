"""The central ingest writes forwarded outbox items exactly once, in order per source.

Items are made by a real outbox (as the edge makes them) and fed in the orders a broker can
deliver them: replayed twice, live overtaking backlog, with a gap the edge dropped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from andon.audit import Event
from andon.clock import ManualClock, to_ms, utc
from andon.edge import Outbox
from andon.edge.forward import Forwarder
from andon.edge.outbox import INTERVENTION, Entry, OutboxItem
from andon.edge.uplink import _with_floor
from andon.errors import StoreError
from andon.interventions.wire import intervention_document
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress, edge_intervention_filter, edge_intervention_topic
from andon.services.central import CentralIngest, Sequencer
from andon.store import open_store
from andon.testing.factories import make_intervention
from edge.faults import OutboxSender

T0 = utc(2026, 3, 2, 7, 0)
ADDRESS = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "vibration")


def _samples(first: int, n: int, source: str = "plc-1") -> list[Sample]:
    return [Sample(ADDRESS, 1.0 + s, "mm/s", Quality.GOOD, to_ms(T0) + s * 1000, s, source)
            for s in range(first, first + n)]


def _batches(box: Outbox, count: int, per: int = 3) -> list[OutboxItem]:
    fwd = Forwarder(OutboxSender(box), "acme", "e1")
    for b in range(count):
        fwd.forward(_samples(b * per, per), [])
    return box.pending(1000)


def test_items_replayed_and_reordered_are_written_once_in_order(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    clock = ManualClock(T0)
    ingest = CentralIngest(store, clock)
    items = _batches(Outbox(":memory:"), 5)
    assert [i.key.rsplit(":", 1)[0] for i in items][:2] == ["samples:plc-1:0:2",
                                                            "samples:plc-1:3:5"]
    # live items 4 and 5 overtake backlog 2 and 3; then everything is replayed again
    for i in [items[0], items[3], items[4], items[1], items[2], *items]:
        ingest.on_message(i.topic, i.payload)
    assert ingest.stats.samples == 15
    assert ingest.stats.duplicates == 5
    assert ingest.stats.held == 0
    stored = store.samples(assets=["p-101"])
    assert [s.seq for s in stored] == list(range(15))
    assert store.sample_count() == 15
    store.close()


def test_a_gap_the_edge_dropped_is_given_up_after_the_timeout(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    clock = ManualClock(T0)
    ingest = CentralIngest(store, clock, gap_timeout_s=30.0)
    items = _batches(Outbox(":memory:"), 4)
    for i in [items[0], items[2], items[3]]:  # items[1] was dropped by the full-buffer policy
        ingest.on_message(i.topic, i.payload)
    assert store.sample_count() == 3
    assert ingest.stats.held == 2
    clock.advance(29)
    ingest.tick()
    assert store.sample_count() == 3, "still waiting for the gap"
    clock.advance(1)
    ingest.tick()
    assert store.sample_count() == 9
    assert ingest.stats.missing == 1
    assert ingest.stats.held == 0
    ingest.on_message(items[1].topic, items[1].payload)  # arrives after all: too late
    assert ingest.stats.duplicates == 1
    store.close()


def test_the_ledger_survives_a_restart_of_the_ingest(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    items = _batches(Outbox(":memory:"), 2)
    first = CentralIngest(store, ManualClock(T0), sequencer=Sequencer(tmp_path / "ledger.db"))
    first.on_message(items[0].topic, items[0].payload)
    first.sequencer.close()
    again = CentralIngest(store, ManualClock(T0), sequencer=Sequencer(tmp_path / "ledger.db"))
    for i in items:
        again.on_message(i.topic, i.payload)
    assert again.stats.duplicates == 1
    assert store.sample_count() == 6
    store.close()


def test_an_event_written_before_a_kill_and_sent_again_is_kept_once(tmp_path: Path) -> None:
    """The ingest wrote the event, then died before its ledger moved: the item comes again."""
    store = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    box = Outbox(":memory:")
    Forwarder(OutboxSender(box), "acme", "e1").forward([], [
        Event("data_quality", "p-101/flow", "stuck for 5 min", T0),
        Event("clock_skew", "plc-1", "skew 2.5 s", T0)])
    items = box.pending(10)
    killed = CentralIngest(store, ManualClock(T0))  # its ledger is lost with it (in memory)
    killed.on_message(items[0].topic, items[0].payload)
    again = CentralIngest(store, ManualClock(T0), sequencer=Sequencer(tmp_path / "ledger.db"))
    for i in items:
        again.on_message(i.topic, i.payload)
    kinds = sorted(str(e.kind) for e in store.events(limit=100)
                   if e.subject in {"p-101/flow", "plc-1"})
    assert kinds == ["clock_skew", "data_quality"]
    assert (again.stats.events, again.stats.duplicates) == (1, 1)
    store.close()


def test_events_and_bad_messages(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    ingest = CentralIngest(store, ManualClock(T0))
    box = Outbox(":memory:")
    fwd = Forwarder(OutboxSender(box), "acme", "e1")
    event = Event("model_refused", "pump-bearing", "unsigned (no signature.json)", T0)
    fwd.forward([], [event, event, Event("edge_link", "e1", "online -> buffering", T0)])
    items = box.pending(10)
    assert len(items) == 1, "the same event is queued once; link events are the uplink's"
    for i in [*items, *items]:
        ingest.on_message(i.topic, i.payload)
    kept = store.events(kind="model_refused")
    assert [(e.subject, e.detail) for e in kept] == [("pump-bearing",
                                                      "unsigned (no signature.json)")]
    ingest.on_message("andon/v1/acme/_andon/edge/e1/samples", b"{not json")
    ingest.on_message("andon/v1/acme/_andon/edge/e1/samples", b'{"seq": "x"}')
    assert ingest.stats.rejected == 2
    reasons = [q.reason for q in store.quarantined()]
    assert any("not JSON" in r for r in reasons)
    assert any("not an outbox item" in r for r in reasons)
    store.close()


def test_items_with_short_entries_or_impossible_times_are_quarantined(tmp_path: Path) -> None:
    """A short sample entry or a time out of range is a one-line reject, never an exception."""
    store = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    ingest = CentralIngest(store, ManualClock(T0))
    base = "andon/v1/acme/_andon/edge/e1"
    messages = [
        (f"{base}/samples", {"kind": "samples", "edge_id": "e1", "source": "plc-1",
                             "epoch": "ep", "seq": 1, "samples": [[]]}),
        (f"{base}/event", {"kind": "model_loaded", "edge_id": "e1", "epoch": "ep", "seq": 1,
                           "at": 10**20}),
        (f"{base}/state", {"kind": "birth", "edge_id": "e1", "at": 10**20}),
    ]
    for topic, doc in messages:
        ingest.on_message(topic, json.dumps(doc).encode())
    assert ingest.stats.rejected == 3
    reasons = [q.reason for q in store.quarantined()]
    assert any("unreadable samples item (IndexError" in r for r in reasons)
    assert sum(f"time {10**20} is out of range" in r for r in reasons) == 2
    store.close()


def test_full_buffer_drops_oldest_samples_and_the_counts_match_both_sides(
        tmp_path: Path) -> None:
    """Capacity 4: six sample batches and an intervention; the two oldest batches go."""
    box = Outbox(":memory:", capacity=4)
    fwd = Forwarder(OutboxSender(box), "acme", "e1")
    for b in range(3):
        fwd.forward(_samples(b * 3, 3), [])
    iv_topic = "andon/v1/acme/ghent/utilities/cooling-water/p-101/_andon/intervention/edge"
    assert box.append("intervention", "rec-1:1", "p-101", iv_topic, {"id": "rec-1"})
    for b in range(3, 6):
        fwd.forward(_samples(b * 3, 3), [])
    assert box.dropped() == {"samples": 3}, "the oldest raw samples, never the intervention"
    assert [i.kind for i in box.pending(10)].count("intervention") == 1
    store = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    clock = ManualClock(T0)
    ingest = CentralIngest(store, clock, gap_timeout_s=5.0)
    for i in box.pending(10):
        if i.kind == "samples":
            ingest.on_message(i.topic, i.payload)
    clock.advance(5)
    ingest.tick()
    assert ingest.stats.missing == 0, "the first item seen starts the sequence"
    assert store.sample_count() == 9
    assert [s.seq for s in store.samples()] == list(range(9, 18))
    store.close()


class _FlakyStore:
    """The real store, whose ``add_samples`` fails ``failures`` times (a disk or DB outage)."""

    def __init__(self, store: object, failures: int) -> None:
        self._store = store
        self.failures = failures

    def add_samples(self, *args: object, **kwargs: object) -> int:
        if self.failures:
            self.failures -= 1
            raise OSError(28, "No space left on device")
        return self._store.add_samples(*args, **kwargs)  # type: ignore[attr-defined,no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


def test_an_item_the_store_refused_stays_held_and_is_written_by_a_later_tick(
        tmp_path: Path) -> None:
    real = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    store = _FlakyStore(real, failures=2)
    clock = ManualClock(T0)
    ingest = CentralIngest(store, clock, gap_timeout_s=30.0)  # type: ignore[arg-type]
    items = _batches(Outbox(":memory:"), 2)
    ingest.on_message(items[0].topic, items[0].payload)  # the store fails: not raised
    assert ingest.stats.samples == 0
    assert ingest.stats.held == 1
    ingest.on_message(items[1].topic, items[1].payload)  # the retry of the first fails too
    assert ingest.stats.held == 2
    ingest.on_message(items[0].topic, items[0].payload)  # a replay is not held twice
    assert ingest.stats.duplicates == 1
    clock.advance(30)
    ingest.tick()
    assert ingest.stats.samples == 6
    assert ingest.stats.held == 0
    assert ingest.stats.missing == 0
    real.close()


def test_interventions_from_this_release_and_from_pre_0_2_edges_are_both_stored(
        tmp_path: Path) -> None:
    """This release's wire form on ``.../_andon/intervention/edge`` and, for one release, a
    pre-0.2 edge's flat document on ``.../_andon/recommendation``."""
    store = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    ingest = CentralIngest(store, ManualClock(T0))
    where = ("acme", "ghent", "utilities", "cooling-water")
    new = make_intervention("iv-new", asset="p-101")
    ingest.on_message(edge_intervention_topic(*where, "p-101"), json.dumps(
        {**intervention_document(new), "key": "iv-new:1", "seq": 1, "epoch": "e-1"}).encode())
    old = make_intervention("rec-old", asset="p-102")
    flat = {
        "id": old.id, "dedup_key": old.key, "use_case": old.use_case, "enterprise": "acme",
        "site": "ghent", "area": "utilities", "line": "cooling-water", "asset": "p-102",
        "asset_name": old.asset_name, "action": old.action, "owner_role": old.owner_role,
        "assignee": None, "priority": "high", "deadline": old.deadline.isoformat(),
        "deadline_label": old.deadline_label, "predicted_failure":
        old.predicted_failure.isoformat(), "detected_at": old.detected_at.isoformat(),
        "score": old.score, "threshold": old.threshold, "model": old.model,
        "model_version": old.model_version, "why": [], "state": "new",
        "detections": old.detections, "created_at": old.created_at.isoformat(),
        "updated_at": old.updated_at.isoformat(), "history": [],
        "key": "rec-old:1", "seq": 1, "epoch": "e-1"}
    ingest.on_message(edge_intervention_filter("acme", legacy=True).replace("+/+/+/+", "/".join(
        (*where[1:], "p-102"))), json.dumps(flat).encode())
    assert ingest.stats.rejected == 0
    assert ingest.stats.interventions == 2
    assert intervention_document(store.get_intervention("iv-new")) == intervention_document(new)
    stored = store.get_intervention("rec-old")
    assert (stored.asset, stored.action, stored.score) == ("p-102", old.action, old.score)
    assert set(ingest.subscriptions("acme")) >= {edge_intervention_filter("acme"),
                                                 edge_intervention_filter("acme", legacy=True)}
    store.close()


def test_the_ingest_acknowledges_what_it_stored_per_epoch_and_again_for_a_duplicate(
        tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    ingest = CentralIngest(store, ManualClock(T0))
    box = Outbox(":memory:")
    items = _batches(box, 3)
    assert ingest.take_acks() == []
    for i in [items[0], items[2]]:  # items[1] is late: items[2] waits behind it
        ingest.on_message(i.topic, i.payload)
    [(topic, payload)] = ingest.take_acks()
    assert topic == f"andon/v1/acme/_andon/ack/{box.epoch}"
    assert json.loads(payload) == {"next": {"plc-1": 2}}, "only what is stored, not the held one"
    ingest.on_message(items[1].topic, items[1].payload)
    assert json.loads(ingest.take_acks()[0][1]) == {"next": {"plc-1": 4}}
    assert ingest.take_acks() == [], "said once"
    ingest.on_message(items[0].topic, items[0].payload)  # resent: the edge missed the ack
    assert json.loads(ingest.take_acks()[0][1]) == {"next": {"plc-1": 4}}
    assert box.acknowledge({"plc-1": 4}) == 3
    store.close()


def test_an_ingest_that_subscribed_late_waits_for_what_the_edge_still_holds(
        tmp_path: Path) -> None:
    """Items 1-2 were sent before the ingest's session existed (the broker dropped them):
    the first item it sees says the edge still holds 1 (``floor``), so it acknowledges nothing
    it did not store, and writes everything once 1-2 come again."""
    store = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    ingest = CentralIngest(store, ManualClock(T0))
    box = Outbox(":memory:")
    items = _batches(box, 5)
    floor = box.floors({"plc-1"})["plc-1"]
    assert floor == 1
    for i in items[2:]:  # as the uplink sends them: with the source's floor
        ingest.on_message(i.topic, _with_floor(i.payload, floor))
    assert store.sample_count() == 0
    assert ingest.take_acks() == [], "nothing claimed that was never stored"
    for i in items[:2]:  # sent again for want of an acknowledgement
        ingest.on_message(i.topic, _with_floor(i.payload, floor))
    assert [s.seq for s in store.samples()] == list(range(15))
    assert json.loads(ingest.take_acks()[0][1]) == {"next": {"plc-1": 6}}
    assert box.acknowledge({"plc-1": 6}) == 5
    assert box.floors({"plc-1"}) == {}


def _iv_entry(n: int, asset: str = "p-101") -> Entry:
    iv = make_intervention(f"iv-{n:04d}", asset=asset)
    topic = edge_intervention_topic("acme", iv.site, iv.area, iv.line, iv.asset)
    return Entry(INTERVENTION, f"{iv.id}:1", asset, topic, intervention_document(iv))


def _deliver(ingest: CentralIngest, box: Outbox, items: Sequence[OutboxItem]) -> None:
    """The central ingest stores ``items``; the edge takes its acknowledgements."""
    for item in items:
        ingest.on_message(item.topic, item.payload)
    for topic, payload in ingest.take_acks():
        assert topic == f"andon/v1/acme/_andon/ack/{box.epoch}"
        box.acknowledge({k: int(v) for k, v in json.loads(payload)["next"].items()})


def test_a_group_commit_is_durable_as_a_whole_and_each_item_acknowledged_once(
        tmp_path: Path) -> None:
    """Items written in one group commit survive a crash together; each is stored and
    acknowledged (removed from the outbox) exactly once, resends included."""
    path = tmp_path / "outbox.db"
    box = Outbox(path)
    entries = [_iv_entry(n, asset) for n, asset in enumerate(["p-101", "p-102", "p-101"])]
    ack_every = Entry("event", "e1:ev:1", "e1", "andon/v1/acme/_andon/edge/e1/event",
                      {"kind": "model_loaded", "edge_id": "e1", "detail": "v1", "at": 1})
    written = box.append_many([*entries, ack_every], sent_ms=5)
    assert [(i.source, i.seq) for i in written if i is not None] == [
        ("p-101", 1), ("p-102", 1), ("p-101", 2), ("e1", 1)]
    box._db.close()  # the edge dies: no clean close
    box = Outbox(path)  # restarted
    assert box.depth() == 4
    assert box.unacknowledged()[0] == 4, "stored as sent: published right after the commit"
    assert box.requeue() == 4  # as after every reconnect: all sent again
    items = box.pending(10)
    store = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    ingest = CentralIngest(store, ManualClock(T0))
    _deliver(ingest, box, [items[0], items[2], *items])  # out of outbox order, then all again
    assert box.depth() == 0
    assert ingest.stats.interventions == 3
    assert ingest.stats.events == 1
    assert ingest.stats.duplicates == 2
    assert box.acknowledge({"p-101": 3, "p-102": 2, "e1": 2}) == 0, "each removed once"
    assert {iv.id for iv in store.list_interventions(open_only=False)} == {
        "iv-0000", "iv-0001", "iv-0002"}
    store.close()


def test_interventions_published_before_their_commit_leave_no_gap_after_a_crash(
        tmp_path: Path) -> None:
    """``stage`` hands out a reserved seq to publish before the commit; if the edge dies
    before committing, the next start sends a gap item: the consumer keeps what it got of the
    reserved numbers, takes the rest as void and goes on at once, nothing stored twice."""
    path = tmp_path / "outbox.db"
    box = Outbox(path)
    assert box.stage(_iv_entry(0), 1) is None, "no reservation yet: the usual way"
    [first] = box.append_many([_iv_entry(0)], sent_ms=1)
    assert first is not None
    early = [box.stage(_iv_entry(n), 2) for n in range(1, 5)]  # published, not committed
    assert [i.seq for i in early if i is not None] == [2, 3, 4, 5]
    assert box.staged() == 4
    store = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    ingest = CentralIngest(store, ManualClock(T0), gap_timeout_s=300.0)
    for item in [first, early[0], early[2]]:  # seq 4 reached it; seq 3 and 5 were lost
        assert item is not None
        ingest.on_message(item.topic, item.payload)
    assert ingest.stats.held == 1, "seq 4 waits for seq 3"
    assert ingest.take_acks(), "not received: the edge dies before its group commit"
    box._db.close()  # the edge dies: what it staged is gone

    box = Outbox(path)
    assert box.depth() == 1, "the committed one, unacknowledged"
    box.requeue()  # reconnected: sent again
    _deliver(ingest, box, box.pending(10))
    assert box.depth() == 0
    assert box.fill_gaps("andon/v1/acme/_andon/edge/e1/gap", {"edge_id": "e1"}) == 1
    [gap] = box.pending(10)
    reserved = json.loads(gap.payload)
    assert (reserved["first"], reserved["last"]) == (2, gap.seq - 1)
    after = box.append_many([_iv_entry(9)])  # the edge goes on: numbers after the gap
    assert after[0] is not None
    assert after[0].seq == gap.seq + 1
    _deliver(ingest, box, [gap, after[0]])
    assert ingest.stats.held == 0, "nothing waits for the gap timeout"
    assert ingest.stats.voided == gap.seq - 1 - 3, "all reserved numbers but 2 and 4"
    assert ingest.stats.missing == 0
    assert box.depth() == 0, "the gap item and the next intervention are acknowledged"
    stored = {iv.id for iv in store.list_interventions(open_only=False)}
    assert stored == {"iv-0000", "iv-0001", "iv-0003", "iv-0009"}
    assert ingest.stats.interventions == 4
    assert ingest.stats.duplicates == 1, "the resent one"
    assert box.fill_gaps("andon/v1/acme/_andon/edge/e1/gap", {"edge_id": "e1"}) == 0
    box.close()
    assert Outbox(path).fill_gaps("andon/v1/acme/_andon/edge/e1/gap", {}) == 0, \
        "a clean close frees the reservation: no gap after it"
    store.close()


def test_two_flushes_that_split_the_tags_of_one_seq_are_both_forwarded_and_stored(
        tmp_path: Path) -> None:
    """A source's tags share a seq: a flush boundary among them must not lose the rest."""
    box = Outbox(":memory:")
    fwd = Forwarder(OutboxSender(box), "acme", "e1")
    tags = [TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", f"t{t}")
            for t in range(4)]
    burst = [Sample(a, 1.0, "mm/s", Quality.GOOD, to_ms(T0), 7, "plc-1") for a in tags]
    fwd.forward(burst[:3], [])
    fwd.forward(burst[3:], [])  # same source, same first and last seq, other samples
    fwd.forward(burst[3:], [])  # the very same batch again: queued once
    items = box.pending(1000)
    assert len(items) == 2
    assert fwd.samples == 4
    store = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    ingest = CentralIngest(store, ManualClock(T0))
    for i in items:
        ingest.on_message(i.topic, i.payload)
    assert sorted(s.address.tag for s in store.samples()) == ["t0", "t1", "t2", "t3"]
    store.close()


class _CountingStore:
    """The real store, counting ``add_samples`` calls; refuses a batch holding ``refuse``."""

    def __init__(self, store: object, refuse: str | None = None) -> None:
        self._store = store
        self.refuse = refuse
        self.calls = 0

    def add_samples(self, samples: list[Sample], ingest_ms: int) -> int:
        self.calls += 1
        if any(s.source == self.refuse for s in samples):
            raise StoreError(f"value too long for source {self.refuse!r}")
        return self._store.add_samples(samples, ingest_ms)  # type: ignore[attr-defined,no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


def _two_edges(sources: list[str]) -> tuple[list[Outbox], list[OutboxItem]]:
    boxes, items = [Outbox(":memory:"), Outbox(":memory:")], []
    for n, box in enumerate(boxes):
        fwd = Forwarder(OutboxSender(box), "acme", f"e{n}")
        for source in sources:  # each edge its own sources
            fwd.forward(_samples(0, 3, f"e{n}-{source}"), [])
            fwd.forward(_samples(3, 3, f"e{n}-{source}"), [])
        items += box.pending(1000)
    return boxes, items


def test_what_arrived_together_is_written_in_one_transaction_then_acknowledged(
        tmp_path: Path) -> None:
    real = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    store = _CountingStore(real)
    ingest = CentralIngest(store, ManualClock(T0))  # type: ignore[arg-type]
    boxes, items = _two_edges(["plc-1", "plc-2", "plc-3"])
    for i in items:
        ingest.receive(i.topic, i.payload)
    assert (real.sample_count(), ingest.take_acks()) == (0, []), "nothing before the flush"
    ingest.flush()
    assert store.calls == 1
    assert real.sample_count() == 2 * 3 * 6
    acks = {topic.rsplit("/", 1)[-1]: json.loads(p) for topic, p in ingest.take_acks()}
    assert acks == {b.epoch: {"next": {f"e{n}-plc-1": 3, f"e{n}-plc-2": 3, f"e{n}-plc-3": 3}}
                    for n, b in enumerate(boxes)}
    for i in items:  # all replayed: duplicates, acknowledged again, nothing written twice
        ingest.receive(i.topic, i.payload)
    ingest.flush()
    assert (ingest.stats.duplicates, real.sample_count()) == (len(items), 36)
    real.close()


def test_when_the_store_refuses_a_group_only_the_refused_items_source_waits(
        tmp_path: Path) -> None:
    real = open_store(f"sqlite:///{tmp_path / 'central.db'}")
    store = _CountingStore(real, refuse="e1-plc-bad")
    clock = ManualClock(T0)
    ingest = CentralIngest(store, clock)  # type: ignore[arg-type]
    boxes, items = _two_edges(["plc-1", "plc-bad", "plc-2"])
    for i in items:
        ingest.receive(i.topic, i.payload)
    ingest.flush()  # not raised
    assert real.sample_count() == 2 * 3 * 6 - 6, "the other sources are written"
    assert ingest.stats.held == 2, "the refused source's items wait, in order"
    acks = {topic.rsplit("/", 1)[-1]: json.loads(p) for topic, p in ingest.take_acks()}
    assert acks == {boxes[0].epoch: {"next": {"e0-plc-1": 3, "e0-plc-bad": 3, "e0-plc-2": 3}},
                    boxes[1].epoch: {"next": {"e1-plc-1": 3, "e1-plc-2": 3}}}
    store.refuse = None  # the store takes it now: the next tick writes what waited
    ingest.tick()
    assert (real.sample_count(), ingest.stats.held) == (36, 0)
    acks = {topic.rsplit("/", 1)[-1]: json.loads(p) for topic, p in ingest.take_acks()}
    assert acks == {boxes[1].epoch: {"next": {"e1-plc-bad": 3}}}
    real.close()

"""The edge's outbound side: one broker connection, the outbox, the guard, birth and heartbeat.

``Uplink.send`` is the one way the edge publishes an item (an intervention, an edge event):
the guard checks the topic, the item is appended to the durable outbox, and the drain loop
publishes it (QoS 1) as soon as the link is up. An item leaves the outbox only once the broker
has confirmed it: after each batch the uplink publishes a probe on its private
``andon/_probe/{client id}`` topic and waits for its own echo; the broker handles one
connection's packets in order, so the echo proves it has taken everything before it. If the
connection drops first, the batch stays queued and goes out again (at least once; consumers
drop duplicates by ``key``).

**Consumer acknowledgement** (``consumer_ack``, on when the edge forwards to a central
ingest): the broker's confirmation only marks items sent; they leave the outbox when the
consumer that stored them says so. The central ingest publishes, per outbox ``epoch``, on
``andon/v1/{ent}/_andon/ack/{epoch}``, the next ``seq`` it expects of each source: everything
below is durably stored (cumulative, so a lost acknowledgement is made good by the next).
Each item goes out with ``first``, the lowest ``seq`` of its source still in the outbox
(everything below is acknowledged, or dropped by the full-buffer policy): an ingest that
meets a source for the first time (it subscribed after the edge had sent items, its ledger
is new) expects that one, rather than the item it happens to see first, and so never
acknowledges items it did not get. Items sent but not acknowledged within ``ack_timeout_s``,
and all of them after a reconnect, are sent again (the ingest drops what it already has by
``(epoch, source, seq)``). So the outbox empties only as fast as the central side stores,
and an outage of the central ingest, of the broker (sessions lost) or of the edge loses
nothing.

**Latency** (issue 16, item 1; ``benchmarks/edge_latency.py``): what is sent on the event
loop in one turn is one group commit at the end of the turn, on the uplink's writer thread
(``send_many``, ``_commit_staged``); with consumer acknowledgement and a connection the
committed items go out at once, stored as sent (no drain turn, no probe), and an
intervention goes out even before its commit, with a reserved ``seq`` (``Outbox.stage``;
after a crash the reserved, unused numbers reach the consumer as a gap item,
``Outbox.fill_gaps``). Sends from other threads (the forwarder) commit at once.

Reconnects are managed here, by the one reconnect policy of every MQTT client
(``andon.connectors.reconnect``: the first attempt at once, then exponential back-off with
jitter), not by gmqtt: each connection is a fresh client (a new session id in its will), which
tries the brokers of a comma-separated URL list in turn, starting with the one just lost
(``MqttClient.connect_retrying``). While the link is down the edge goes on scoring and
the outbox fills (``buffering``); once connected again the backlog (everything queued before
the reconnect) drains in order, at most ``replay_batch`` items per turn, and every turn also
sends all the live items queued since (``replaying``), so live traffic is never starved; live
items of an asset may thus overtake its older buffered ones, whose ``seq`` tells the order.

With a separate uplink broker (site → enterprise), an edge runs two: the uplink to the
central side and a site link (``role="site"``) that publishes its interventions on the site
broker and, as its birth / heartbeat / death documents, the uplink's (``describe``);
``SiteAndCentral`` sends each item where it belongs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import structlog

from andon.audit import Event, EventKind
from andon.clock import Clock, to_ms
from andon.connectors.mqtt import MqttClient, OnBatch
from andon.connectors.reconnect import ReconnectPolicy
from andon.edge.guard import PublishGuard
from andon.edge.heartbeat import EdgeIdentity, edge_document
from andon.edge.link import LinkState, LinkStats, transition
from andon.edge.outbox import INTERVENTION, Entry, Outbox, OutboxItem
from andon.namespace.topics import ack_topic, edge_topic
from andon.text import redact_url

__all__ = ["EVENT", "SiteAndCentral", "Uplink"]

log = structlog.get_logger("andon.edge.uplink")

#: the outbox kind of the edge's own events (dropped first when the outbox is full)
EVENT = "event"

OnMessage = Callable[[str, bytes], None]
Record = Callable[[Event], None]


def _now_ms() -> int:
    """Monotonic milliseconds: when an item was sent, for the acknowledgement timeout.

    Not the edge's clock, which may follow the data; after a restart every unacknowledged
    item is sent again anyway.
    """
    return round(time.monotonic() * 1000)


def _with_floor(payload: bytes, floor: int) -> bytes:
    """An outbox item's JSON object with ``"floor": floor`` added.

    The floor is the lowest ``seq`` of the item's source the edge still holds
    (``Outbox.floors``): where a consumer meeting the source for the first time starts
    (``andon.services.central``).
    """
    return b'%s,"floor":%d}' % (payload.rstrip()[:-1], floor)


async def _first(*events: asyncio.Event, timeout: float | None = None) -> None:  # noqa: ASYNC109
    """Return when any of ``events`` is set, or after ``timeout`` seconds."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


class Uplink:
    """Connect to ``broker_url`` and keep the edge's outbound items flowing (see module doc)."""

    def __init__(self, broker_url: str, identity: EdgeIdentity, outbox: Outbox, *,
                 clock: Clock, on_message: OnMessage | None = None,
                 on_batch: OnBatch | None = None,
                 subscriptions: Sequence[str] = (), record: Record | None = None,
                 models: Callable[[], Mapping[str, str]] = dict,
                 extra: Callable[[], Mapping[str, Any]] = dict,
                 stats: LinkStats | None = None, replay_batch: int = 20,
                 live_batch: int = 500, backoff: ReconnectPolicy | None = None,
                 connect_timeout_s: float = 10.0, confirm_timeout_s: float = 10.0,
                 consumer_ack: bool = False, ack_timeout_s: float = 30.0, role: str = "",
                 describe: Callable[[str], dict[str, Any]] | None = None) -> None:
        self.broker_url = broker_url
        self.identity = identity
        self.outbox = outbox
        self.clock = clock
        self.guard = PublishGuard.for_edge(identity.enterprise, identity.edge_id)
        self.stats = stats if stats is not None else LinkStats()
        self.client_id = f"andon-edge-{identity.edge_id}"[:60]
        self.replay_batch = replay_batch
        self.live_batch = live_batch
        self.backoff = backoff or ReconnectPolicy()
        self._url_index = 0  # the broker of the list to try first
        self.connect_timeout_s = connect_timeout_s
        self.confirm_timeout_s = confirm_timeout_s
        self.consumer_ack = consumer_ack
        self.ack_timeout_s = ack_timeout_s
        #: "" for the link to the central side; "site" for the site link of an edge whose
        #: uplink broker is another one (``SiteAndCentral``): named in its link events
        self.role = role
        #: builds the body of this uplink's birth / heartbeat / death documents instead of its
        #: own state (the site link reports the central link's); the session stays its own
        self._describe = describe
        #: where the consumer acknowledges this outbox's items
        self.ack_topic = ack_topic(identity.enterprise, outbox.epoch)
        self.client: MqttClient | None = None
        if on_message is not None and on_batch is not None:
            raise ValueError("give on_message or on_batch, not both")
        self._on_message = on_message
        #: takes the subscribed messages of each read instead of ``on_message`` (the edge)
        self._on_batch = on_batch
        self._subscriptions = list(subscriptions)
        self._record = record
        self._models = models
        self._extra = extra
        self._probe = f"andon/_probe/{self.client_id}"
        #: called with the new state after every link transition (notifications, tests)
        self.on_state: Callable[[LinkState], None] | None = None
        self._wake = asyncio.Event()
        self._retry = asyncio.Event()
        self._confirmed = asyncio.Event()
        self._token = 0
        self._echoed = 0
        self._live_from = 0  # outbox ids up to this one are the backlog of this connection
        self._session = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        #: items sent on the loop this turn, committed together (``_commit_staged``)
        self._staged: list[Entry] = []
        self._commit_due = False
        #: group commits run here, one at a time and in order, off the event loop (``run``)
        self._writer: ThreadPoolExecutor | None = None
        self._commits: set[asyncio.Future[list[OutboxItem]]] = set()
        self._refresh()

    @property
    def state(self) -> LinkState:
        """The link state now."""
        return self.stats.state

    # -- sending ------------------------------------------------------------------------------
    def send(self, kind: str, key: str, source: str, topic: str, document: dict[str, Any], *,
             retain: bool = False) -> bool:
        """Queue one item for ``topic``; False if the guard blocked it or the outbox refused it.

        ``key`` is the idempotency key (a key already queued is not queued again); ``source``
        orders items (``seq``). On the running uplink's event loop the item joins the group
        commit of this loop turn (``send_many``): True then means "guard passed" (a refusal
        by the full-buffer policy is counted in ``dropped()``).
        """
        return self.send_many([Entry(kind, key, source, topic, document, retain)])[0]

    def send_many(self, entries: Sequence[Entry]) -> list[bool]:
        """Queue several items (``send`` for each) with one outbox commit; sent right after.

        From another thread (the forwarder's worker): committed now, in one transaction, and
        the drain loop is woken; interventions from another thread (the scoring worker) are
        handed to the loop instead and go out as if decided there (True: guard passed). On
        the running uplink's loop: everything sent in the same loop turn is committed
        together once the turn ends (group commit, on the uplink's writer thread:
        ``_commit_staged``), then published at once when consumer acknowledgement is on.
        An intervention is even published **before** its commit when connected with consumer
        acknowledgement (``Outbox.stage``): that publish is the decision on the UNS, and the
        commit follows within the turn.
        """
        allowed = [self._allowed(e.topic) for e in entries]
        passed = [e for e, ok in zip(entries, allowed, strict=True) if ok]
        loop = self._loop
        on_loop = loop is not None and threading.get_ident() == self._loop_thread
        if (not on_loop and passed and loop is not None
                and all(e.kind == INTERVENTION for e in passed)):
            # a decision from the scoring worker: published from the loop like one made
            # there (early, before its group commit), not after a commit and a drain turn
            with contextlib.suppress(RuntimeError):  # the loop has closed: committed below
                loop.call_soon_threadsafe(self._send_on_loop, passed)
                return allowed
        if on_loop and passed:
            assert loop is not None  # noqa: S101 - on_loop implies it
            client = self.client
            early = self.consumer_ack and client is not None and client.connected.is_set()
            for entry in passed:
                item = self.outbox.stage(entry, _now_ms()) if early else None
                if item is not None:
                    assert client is not None  # noqa: S101 - early implies it
                    floor = self.outbox.floors({item.source}).get(item.source, item.seq)
                    client.publish(item.topic, _with_floor(item.payload, floor), qos=1,
                                   retain=item.retain)
                    self.stats.published += 1
                else:
                    self._staged.append(entry)
            if not self._commit_due:
                self._commit_due = True
                loop.call_soon(self._commit_staged)
            self.stats.buffer_depth += len(passed)  # waiting too (made exact at the commit)
            return allowed
        items = self.outbox.append_many(passed) if passed else []
        self._refresh()
        if loop is not None and not on_loop:
            loop.call_soon_threadsafe(self._wake.set)  # e.g. from the scoring worker
        else:
            self._wake.set()
        done = iter(item is not None for item in items)
        return [ok and next(done) for ok in allowed]

    def _send_on_loop(self, entries: list[Entry]) -> None:
        """``send_many``'s hand-over from another thread, on the loop (guard checked again)."""
        self.send_many(entries)

    def _commit_staged(self) -> None:
        """End of a loop turn: commit what it staged (one fsync), on the writer thread.

        With consumer acknowledgement and a connection, the items are stored as sent and
        published right after the commit: no drain turn, no wait for the broker's
        confirmation (the consumer's acknowledgement is what removes them; a lost connection
        sends every unacknowledged item again, ``_serve``). Else the drain loop sends them.
        """
        if not self._commit_due:
            return  # done already (``_settle``)
        self._commit_due = False
        staged, self._staged = self._staged, []
        client = self.client
        now = client is not None and client.connected.is_set() and self.consumer_ack
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self._writer, self._commit, staged,
                                    _now_ms() if now else 0)
        self._commits.add(done)
        done.add_done_callback(partial(self._committed, client if now else None, staged))

    async def _settle(self) -> None:
        """Commit what is staged now and wait for every group commit under way."""
        self._commit_staged()
        while self._commits:
            pending = list(self._commits)
            await asyncio.gather(*pending, return_exceptions=True)
            self._commits.difference_update(pending)

    def _commit(self, staged: list[Entry], sent_ms: int) -> list[OutboxItem]:
        """On the writer thread: the group commit, then the figures (they read the file)."""
        try:
            items = self.outbox.append_many(staged, sent_ms=sent_ms)
        finally:
            self._refresh()
        return [i for i in items if i is not None]

    def _committed(self, client: MqttClient | None, staged: list[Entry],
                   done: asyncio.Future[list[OutboxItem]]) -> None:
        """Back on the loop: publish what was committed as sent; wake the drain loop."""
        self._commits.discard(done)
        if done.cancelled():
            return
        exc = done.exception()
        if exc is not None:  # e.g. disk full: staged again, tried again in a second
            log.error("outbox commit failed; the items wait for the next commit",
                      items=len(staged), error=f"{type(exc).__name__}: {exc}"[:300])
            self._staged[:0] = staged
            if self._loop is not None and not self._commit_due:
                self._commit_due = True
                self._loop.call_later(1.0, self._commit_staged)
        elif client is not None:
            items = done.result()
            floors = self.outbox.floors({i.source for i in items}) if self.consumer_ack else {}
            for item in items:
                payload = (_with_floor(item.payload, floors.get(item.source, item.seq))
                           if self.consumer_ack else item.payload)
                client.publish(item.topic, payload, qos=1, retain=item.retain)
                self.stats.published += 1
        self._wake.set()

    def _allowed(self, topic: str) -> bool:
        if self.guard.check(topic):
            return True
        self.stats.blocked = self.guard.blocked
        log.warning("blocked publish", topic=topic)
        self._keep(Event(EventKind.BLOCKED_PUBLISH, topic[:300],
                         f"edge {self.identity.edge_id} may not publish on {topic}",
                         self.clock.now()))
        if not topic.startswith(self._topic("")):  # not the edge's own topics: no loop
            self._send_event("blocked_publish", topic=topic)
        return False

    def event(self, kind: str, detail: str) -> None:
        """Keep an edge event in the store and publish it on the edge's event topic."""
        self._keep(Event(kind, self.identity.edge_id, detail, self.clock.now()))
        self._send_event(kind, detail=detail)

    def _send_event(self, kind: str, **fields: Any) -> None:
        """Queue ``{kind, edge_id, **fields, at}`` for the edge's event topic."""
        edge_id = self.identity.edge_id
        self.send(EVENT, f"{edge_id}:{uuid.uuid4().hex}", edge_id, self._topic("event"),
                  {"kind": kind, "edge_id": edge_id, **fields, "at": to_ms(self.clock.now())})

    def _keep(self, event: Event) -> None:
        if self._record is not None:
            self._record(event)

    def _topic(self, leaf: str) -> str:
        return edge_topic(self.identity.enterprise, self.identity.edge_id, leaf)

    def _refresh(self) -> None:
        self.stats.buffer_depth = self.outbox.depth()
        self.stats.dropped = self.outbox.dropped()
        if self.consumer_ack:
            n, oldest = self.outbox.unacknowledged()
            self.stats.unacked = n
            self.stats.oldest_unacked_s = (0.0 if oldest is None else
                                           max(0.0, (_now_ms() - oldest) / 1000))

    def _move(self, target: LinkState) -> None:
        before = self.stats.state
        self.stats.state = transition(before, target)
        log.info("edge link", state=target.value, was=before.value,
                 url=redact_url(self.broker_url),
                 role=self.role or "central", buffer_depth=self.stats.buffer_depth)
        prefix = f"{self.role} link: " if self.role else ""
        self.event("edge_link", f"{prefix}{before.value} -> {target.value}")
        if self.on_state is not None:
            self.on_state(target)

    def retry_now(self) -> None:
        """Cut the current backoff wait short (e.g. the network is known to be back)."""
        self._retry.set()

    # -- documents ----------------------------------------------------------------------------
    def document(self, kind: str) -> dict[str, Any]:
        """The birth / heartbeat / death document now (``andon.edge.heartbeat``)."""
        self._refresh()
        if self._describe is not None:
            return {**self._describe(kind), "session": self._session}
        return edge_document(self.identity, kind, at=self.clock.now(),
                             link=self.stats.state.value, buffer_depth=self.stats.buffer_depth,
                             dropped=self.stats.dropped, models=self._models(),
                             blocked=self.stats.blocked,
                             extra={"session": self._session, **self._ack_figures(),
                                    **self._extra()})

    def _ack_figures(self) -> dict[str, Any]:
        if not self.consumer_ack:
            return {}
        s = self.stats
        return {"unacked": s.unacked, "oldest_unacked_s": round(s.oldest_unacked_s, 3),
                "acked": s.acked, "resent": s.resent}

    def _announce(self, kind: str, leaf: str) -> None:
        """Publish a document (retained) if connected, and keep it as a store event."""
        doc = self.document(kind)
        if self._describe is None:  # else the uplink that describes it keeps them
            kept = EventKind.EDGE_HEARTBEAT if kind == "heartbeat" else EventKind.EDGE_STATE
            self._keep(Event(kept, self.identity.edge_id, json.dumps(doc), self.clock.now()))
        topic = self._topic(leaf)
        client = self.client
        if client is not None and client.connected.is_set() and self.guard.check(topic):
            client.publish(topic, json.dumps(doc).encode(), qos=1, retain=True)

    # -- the connection -----------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Connect, drain, reconnect with backoff, until ``stop``; then say goodbye."""
        filled = self.outbox.fill_gaps(self._topic("gap"), {"edge_id": self.identity.edge_id})
        if filled:
            log.info("reserved seq numbers a crash left unused go to the consumer as gaps",
                     gaps=filled)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="andon-outbox")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        beat = asyncio.ensure_future(self._heartbeats(stop, self.identity.heartbeat_s))
        try:
            while not stop.is_set():
                client = await self._connect(stop)
                if client is None:
                    break
                try:
                    await self._serve(client, stop)
                finally:
                    if stop.is_set():
                        await self._goodbye(client)
                    else:
                        self.client = None
                        self._move(LinkState.BUFFERING)
                        await client.disconnect()
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            await self._settle()
            self._loop = None  # from now on ``send`` commits at once, on the caller's thread
            self._writer.shutdown()
            self._writer = None

    async def _connect(self, stop: asyncio.Event) -> MqttClient | None:
        self._session = uuid.uuid4().hex[:12]
        death = json.dumps(self.document("death")).encode()
        batched = self._on_batch is not None
        client = MqttClient(self.broker_url, self.client_id,
                            on_message=None if batched else self._message,
                            on_batch=self._batch if batched else None,
                            subscriptions=[*self._subscriptions, self._probe,
                                           *([self.ack_topic] if self.consumer_ack else [])],
                            will=(self._topic("state"), death), auto_reconnect=False,
                            batch=True, reconnect=self.backoff,
                            connect_timeout_s=self.connect_timeout_s, url_index=self._url_index,
                            quick_ack=True)  # the acknowledgements: no 40 ms stall

        def failed(_reason: str) -> None:
            self.stats.connect_failures += 1

        self._retry.clear()
        # a broker refusing the very first connection (TLS trust, certificate, login) is a
        # misconfiguration: the edge stops with that line; later, it retries and logs it
        connected = await client.connect_retrying(stop, wake=self._retry, on_failure=failed,
                                                  fail_on_refusal=self.stats.connects == 0)
        self._url_index = client.url_index
        if not connected:
            await client.disconnect()
            return None
        return client

    async def _serve(self, client: MqttClient, stop: asyncio.Event) -> None:
        self.client = client
        self.stats.connects += 1
        if self.consumer_ack:  # whatever was sent before may be lost with the old session
            self.stats.resent += self.outbox.requeue()
        self._live_from = self.outbox.last_id()
        self._move(LinkState.REPLAYING)
        self._announce("birth", "state")
        while not stop.is_set() and not client.lost.is_set():
            self._wake.clear()
            if self.consumer_ack:
                overdue = _now_ms() - round(self.ack_timeout_s * 1000)
                again = self.outbox.requeue(overdue)
                if again:
                    self.stats.resent += again
                    log.info("no acknowledgement in time; sending again", items=again,
                             ack_timeout_s=self.ack_timeout_s)
            sent = await self._drain_once(client)
            if self.stats.state is LinkState.REPLAYING and not self.outbox.pending(
                    1, up_to=self._live_from):
                self._move(LinkState.ONLINE)
            if sent == 0 and not self._wake.is_set():
                await _first(self._wake, stop, client.lost,
                             timeout=self.ack_timeout_s / 2 if self.consumer_ack else None)

    async def _drain_once(self, client: MqttClient) -> int:
        """Publish one turn (backlog batch + live items), wait for the broker; items sent."""
        backlog = self.outbox.pending(self.replay_batch, up_to=self._live_from)
        live = self.outbox.pending(self.live_batch, after=self._live_from)
        items = backlog + live
        if not items:
            return 0
        if self.consumer_ack:  # what the consumer may take as the start of a source's items
            floors = self.outbox.floors({i.source for i in items})
            for item in items:
                client.publish(item.topic, _with_floor(item.payload, floors.get(
                    item.source, item.seq)), qos=1, retain=item.retain)
        else:
            for item in items:
                client.publish(item.topic, item.payload, qos=1, retain=item.retain)
        if not await self._confirm(client):
            return 0
        ids = [i.id for i in items]
        # the write waits for the outbox's lock (a group commit's fsync may hold it): on the
        # writer thread, in order with the commits, so the loop (deciding) never waits for it
        done = (partial(self.outbox.mark_sent, ids, _now_ms()) if self.consumer_ack
                else partial(self.outbox.remove, ids))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._writer, done)
        self.stats.published += len(items)
        self.stats.replayed += len(backlog)
        self._refresh()
        return len(items)

    async def _confirm(self, client: MqttClient) -> bool:
        """Publish a probe and wait for its echo: the broker has what was sent before it."""
        self._token += 1
        token = self._token
        client.publish(self._probe, str(token).encode(), qos=1)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.confirm_timeout_s
        while self._echoed < token:
            left = deadline - loop.time()
            if client.lost.is_set() or left <= 0:
                if not client.lost.is_set():
                    log.warning("broker did not confirm; reconnecting",
                                url=redact_url(self.broker_url))
                    client.lost.set()
                return False
            self._confirmed.clear()
            await _first(self._confirmed, client.lost, timeout=left)
        return True

    def _acknowledged(self, payload: bytes) -> None:
        """The consumer's acknowledgement: ``{"next": {source: seq}}`` for this epoch."""
        try:
            doc = json.loads(payload)
            upto = {str(k): int(v) for k, v in doc["next"].items()}
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("unreadable acknowledgement ignored", topic=self.ack_topic,
                        error=f"{type(exc).__name__}: {exc}"[:300])
            return
        if self._loop is not None and self._writer is not None:  # off the loop, in order
            self._loop.run_in_executor(self._writer, self._forget, upto)
        else:
            self._forget(upto)

    def _forget(self, upto: dict[str, int]) -> None:
        """Remove what the consumer acknowledged (the writer thread, while running)."""
        try:
            self.stats.acked += self.outbox.acknowledge(upto)
            self._refresh()
        except Exception as exc:  # noqa: BLE001 - kept: the next acknowledgement covers it
            log.warning("acknowledgement not applied; the next one covers it",
                        error=f"{type(exc).__name__}: {exc}"[:300])

    def _message(self, topic: str, payload: bytes) -> None:
        if topic == self._probe:
            self._echo(payload)
        elif topic == self.ack_topic:
            self._acknowledged(payload)
        elif self._on_message is not None:
            self._on_message(topic, payload)

    def _batch(self, messages: list[tuple[str, bytes]]) -> None:
        """A read's messages: probe echoes are taken out, the rest go to ``on_batch``."""
        assert self._on_batch is not None  # noqa: S101 - only installed with it
        probe, ack = self._probe, self.ack_topic
        for topic, _ in messages:
            if topic in {probe, ack}:
                break
        else:  # the common case: no echo among them
            self._on_batch(messages)
            return
        rest = []
        for topic, payload in messages:
            if topic == probe:
                self._echo(payload)
            elif topic == ack:
                self._acknowledged(payload)
            else:
                rest.append((topic, payload))
        if rest:
            self._on_batch(rest)

    def _echo(self, payload: bytes) -> None:
        with contextlib.suppress(ValueError):
            self._echoed = max(self._echoed, int(payload))
        self._confirmed.set()

    async def _goodbye(self, client: MqttClient) -> None:
        """Clean stop: last drain, a retained death document (no will on DISCONNECT), close."""
        await self._settle()
        if client.connected.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._drain_once(client), self.confirm_timeout_s)
        self._announce("death", "state")
        if client.connected.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._confirm(client), self.confirm_timeout_s)
        self.client = None
        await client.disconnect()

    async def _heartbeats(self, stop: asyncio.Event, every_s: float) -> None:
        while not stop.is_set():
            await _first(stop, timeout=every_s)
            if not stop.is_set():
                self._announce("heartbeat", "heartbeat")


class SiteAndCentral:
    """The outbound path of an edge with a separate uplink broker (``andon edge --uplink-broker``).

    Interventions go to both: the ``site`` uplink publishes them on the site broker's UNS,
    where the operators' panels are (confirmed by that broker, then removed from its own
    outbox), and the ``central`` uplink sends them with everything else for the central side
    (forwarded samples and events, shadow interventions) over the enterprise broker, removed
    only once the central ingest acknowledges them. Each has its own outbox, connection and
    backoff, so an enterprise outage delays only what goes to the central side.
    """

    def __init__(self, site: Uplink, central: Uplink) -> None:
        self.site = site
        self.central = central

    def send(self, kind: str, key: str, source: str, topic: str, document: dict[str, Any], *,
             retain: bool = False) -> bool:
        """Queue an item for the central side and, an intervention, for the site too."""
        local = (self.site.send(kind, key, source, topic, document, retain=retain)
                 if kind == INTERVENTION else True)
        central = self.central.send(kind, key, source, topic, document, retain=retain)
        return local and central

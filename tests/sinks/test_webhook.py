"""Webhook sink against a real loopback HTTP receiver: signature, retries, idempotency."""

from __future__ import annotations

import asyncio
import json
import random
from typing import TYPE_CHECKING

import pytest

from andon.interventions.wire import intervention_document
from andon.services.delivery import recorder
from andon.sinks import Dispatcher, Outgoing, Route, WebhookSink
from andon.sinks.webhook import Backoff, sign, verify_signature
from andon.testing import free_port
from andon.testing.factories import make_intervention
from sinks.receiver import SECRET, Receiver

if TYPE_CHECKING:
    from collections.abc import Iterator

    from andon.clock import ManualClock
    from andon.store import SqlStore

@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver([500, 500]) as r:
        yield r


class Sleeps:
    """Records the backoff delays instead of waiting them out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def test_signature_is_hmac_of_timestamp_dot_body_and_verifies() -> None:
    body = b'{"id":"rec-1"}'
    sig = sign(SECRET, "1764000000", body)
    headers = {"X-Andon-Timestamp": "1764000000", "X-Andon-Signature": sig}
    assert verify_signature(SECRET, headers, body, now_s=1764000010) is None
    assert verify_signature(SECRET, headers, body + b" ", now_s=1764000010) == \
        "X-Andon-Signature does not match the body"
    assert verify_signature(b"other", headers, body, now_s=1764000010) is not None
    assert "more than 300s away" in str(verify_signature(SECRET, headers, body,
                                                         now_s=1764000000 + 301))


def test_signature_check_refuses_odd_headers_instead_of_raising() -> None:
    """Non-ASCII signatures and non-ASCII digits are refused with a reason, not an exception."""
    body = b'{"id":"rec-1"}'
    odd = {"X-Andon-Timestamp": "1764000000", "X-Andon-Signature": "sha256=\u00e9"}
    assert verify_signature(SECRET, odd, body, now_s=1764000000) == \
        "X-Andon-Signature does not match the body"
    superscript = {"X-Andon-Timestamp": "\u00b2", "X-Andon-Signature": "x"}
    assert verify_signature(SECRET, superscript, body, now_s=2) == \
        "X-Andon-Timestamp missing or not an integer"


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    backoff = Backoff(base_s=1.0, cap_s=8.0, rng=random.Random(1))
    delays = [backoff.delay(n) for n in range(1, 7)]
    for n, d in enumerate(delays, start=1):
        ceiling = min(8.0, 2.0 ** (n - 1))
        assert ceiling / 2 <= d < ceiling
    assert len(set(delays)) == len(delays)  # jittered


def test_retries_on_500_with_same_idempotency_key_then_delivers(
        receiver: Receiver, clock: ManualClock) -> None:
    sleeps = Sleeps()
    sink = WebhookSink("webhook:ops", receiver.url, SECRET, clock=clock, sleep=sleeps,
                       backoff=Backoff(base_s=0.5, rng=random.Random(3)))
    doc = intervention_document(make_intervention())
    item = Outgoing.of(doc, version=1)

    result = asyncio.run(sink.deliver(item))

    assert result.ok
    assert [a.http_status for a in result.attempts] == [500, 500, 200]
    assert len(receiver.seen) == 3
    assert all(s["problem"] is None for s in receiver.seen)  # every attempt correctly signed
    keys = {s["headers"]["Idempotency-Key"] for s in receiver.seen}
    assert keys == {f"{doc['dedup_key']}:1"}
    assert json.loads(receiver.seen[0]["body"]) == doc
    assert len(sleeps.delays) == 2
    assert 0.25 <= sleeps.delays[0] < 0.5
    assert 0.5 <= sleeps.delays[1] < 1.0


def test_4xx_is_not_retried(clock: ManualClock) -> None:
    with Receiver([422]) as r:
        sleeps = Sleeps()
        sink = WebhookSink("webhook:ops", r.url, SECRET, clock=clock, sleep=sleeps)
        result = asyncio.run(sink.deliver(Outgoing.of(intervention_document(make_intervention()))))
    assert not result.ok
    assert [a.http_status for a in result.attempts] == [422]
    assert sleeps.delays == []
    assert result.attempts[0].error.startswith("HTTP 422")


def test_wrong_secret_is_refused_by_the_receiver(receiver: Receiver, clock: ManualClock) -> None:
    receiver.answers.clear()
    sink = WebhookSink("webhook:ops", receiver.url, b"not-the-secret", clock=clock,
                       sleep=Sleeps())
    result = asyncio.run(sink.deliver(Outgoing.of(intervention_document(make_intervention()))))
    assert [a.http_status for a in result.attempts] == [401]
    assert receiver.seen[0]["problem"] == "X-Andon-Signature does not match the body"


def test_connection_refused_is_retried_then_reported_in_one_line(clock: ManualClock) -> None:
    sleeps = Sleeps()
    sink = WebhookSink("webhook:down", f"http://127.0.0.1:{free_port()}/hook", SECRET,
                       clock=clock, sleep=sleeps, max_attempts=3)
    result = asyncio.run(sink.deliver(Outgoing.of(intervention_document(make_intervention()))))
    assert not result.ok
    assert len(result.attempts) == 3
    assert all(a.http_status is None and "ConnectError" in a.error for a in result.attempts)
    assert all("\n" not in a.error for a in result.attempts)
    assert len(sleeps.delays) == 2


def test_secret_never_in_repr() -> None:
    sink = WebhookSink("webhook:ops", "http://127.0.0.1:1/hook", SECRET)
    assert SECRET.decode() not in repr(sink)


def test_dispatcher_records_each_attempt_and_never_resends(
        store: SqlStore, receiver: Receiver, clock: ManualClock) -> None:
    iv = make_intervention()
    store.save_intervention(iv)
    sink = WebhookSink("webhook:ops", receiver.url, SECRET, clock=clock, sleep=Sleeps())
    dispatcher = Dispatcher([Route(sink)], store, recorder(store), clock=clock)
    doc = intervention_document(iv)

    asyncio.run(dispatcher.dispatch([doc]))
    rows = list(reversed(store.deliveries(sink="webhook:ops")))
    assert [(r.attempt, r.ok, r.http_status) for r in rows] == [(1, False, 500), (2, False, 500),
                                                                (3, True, 200)]
    assert {r.dedup_key for r in rows} == {doc["dedup_key"]}
    assert {r.version for r in rows} == {1}

    # a new dispatcher (a restart) over the same store sends nothing again
    again = Dispatcher([Route(sink)], store, recorder(store), clock=clock)
    assert asyncio.run(again.dispatch([doc])) == []
    assert len(receiver.seen) == 3

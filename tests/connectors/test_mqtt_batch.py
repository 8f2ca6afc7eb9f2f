"""``MqttClient(batch=True)`` and ``on_batch``: every message, in order, after the read; a
raising handler is contained. Against the real Mosquitto on 127.0.0.1:1883."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from andon.connectors.mqtt import MqttClient
from andon.testing import need, topic_prefix

BROKER = "mqtt://127.0.0.1:1883"
N = 2_000

pytestmark = pytest.mark.mosquitto


async def flood(sub: MqttClient, topic: str, done: asyncio.Event) -> None:
    """Subscribe ``sub``, publish 0 .. N-1 on ``topic`` at once, wait (bounded) for ``done``."""
    pub = MqttClient(BROKER)
    await sub.connect()
    await sub.subscribed()
    await pub.connect()
    for i in range(N):
        pub.publish(topic, str(i).encode())
    try:
        await asyncio.wait_for(done.wait(), 20)
    finally:
        await pub.disconnect()
        await sub.disconnect()


def test_batch_delivery_with_qos_1_needs_a_persistent_session_and_one_kind_of_handler(
        ) -> None:
    with pytest.raises(ValueError, match="QoS 1 is for persistent sessions only"):
        MqttClient(BROKER, batch=True, qos=1)
    with pytest.raises(ValueError, match="QoS 1 is for persistent sessions only"):
        MqttClient(BROKER, on_batch=lambda _m: None, qos=1)
    with pytest.raises(ValueError, match="needs a stable client id"):
        MqttClient(BROKER, on_batch=lambda _m: None, qos=1, persistent=True)
    assert MqttClient(BROKER, "intake-1", on_batch=lambda _m: None, qos=1,
                      persistent=True).qos == 1
    with pytest.raises(ValueError, match="not both"):
        MqttClient(BROKER, on_message=lambda _t, _p: None, on_batch=lambda _m: None)


def test_a_flood_arrives_whole_and_in_order_and_a_raising_handler_loses_only_its_message(
        ) -> None:
    need("Mosquitto", "127.0.0.1", 1883)
    topic = topic_prefix("batch")
    got: list[int] = []
    done = asyncio.Event()
    handler_calls: list[int] = []  # calls inside one delivery pass, per pass

    def on_message(_topic: str, payload: bytes) -> None:
        n = int(payload)
        if n == 7:
            raise RuntimeError("handler bug on message 7")
        got.append(n)
        if n == N - 1:
            done.set()

    async def run() -> None:
        sub = MqttClient(BROKER, subscriptions=[topic], on_message=on_message, batch=True)
        original = sub._deliver

        def counted() -> None:
            handler_calls.append(len(sub._inbox))
            original()

        sub._deliver = counted  # type: ignore[method-assign]
        await flood(sub, topic, done)

    with capture_logs() as logs:
        asyncio.run(run())
    assert got == [i for i in range(N) if i != 7]
    failed = [e for e in logs if e["event"] == "message handler failed"]
    assert [e["topic"] for e in failed] == [topic]
    assert sum(handler_calls) >= N  # every message went through a delivery pass ...
    assert max(handler_calls) > 1  # ... and under this flood some passes carried several


def test_on_batch_gets_each_read_as_one_list_and_a_raising_handler_is_contained() -> None:
    """Two bursts, the second sent once the first has arrived: the handler raises on the first
    list of ours, and what follows (the second burst at least) is still delivered whole."""
    need("Mosquitto", "127.0.0.1", 1883)
    topic = topic_prefix("on-batch")
    half = N // 2
    lists: list[list[int]] = []
    sizes: list[int] = []
    raised: list[int] = []  # the index of the list the handler raised on
    first_burst, done = asyncio.Event(), asyncio.Event()

    def on_batch(messages: list[tuple[str, bytes]]) -> None:
        # a late echo of ``subscribed``'s probe may come along: not ours to count
        ours = [int(p) for t, p in messages if t == topic]
        lists.append(ours)
        sizes.append(len(messages))
        if half - 1 in ours:
            first_burst.set()
        if N - 1 in ours:
            done.set()
        if ours and not raised:
            raised.append(len(lists) - 1)
            raise RuntimeError("handler bug in the first list")

    async def run() -> None:
        sub = MqttClient(BROKER, subscriptions=[topic], on_batch=on_batch)
        pub = MqttClient(BROKER)
        await sub.connect()
        await sub.subscribed()
        await pub.connect()
        try:
            for i in range(half):
                pub.publish(topic, str(i).encode())
            await asyncio.wait_for(first_burst.wait(), 20)
            for i in range(half, N):
                pub.publish(topic, str(i).encode())
            await asyncio.wait_for(done.wait(), 20)
        finally:
            await pub.disconnect()
            await sub.disconnect()
        assert sub.received >= N

    with capture_logs() as logs:
        asyncio.run(run())
    assert [n for got in lists for n in got] == list(range(N))  # whole, in order
    assert max(len(got) for got in lists) > 1  # under this flood some reads held several
    failed = [e for e in logs if e["event"] == "batch handler failed"]
    assert len(failed) == 1
    assert failed[0]["messages"] == sizes[raised[0]]
    assert failed[0]["first_topic"] == topic
    after = [n for got in lists[raised[0] + 1:] for n in got]
    assert after[-half:] == list(range(half, N)), "delivered after the handler raised"

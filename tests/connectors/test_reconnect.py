"""The one reconnect policy (immediate, then back-off with jitter, reset after a stable
connection) and the broker list: an MQTT client fails over to the next broker and comes back
after a restart without a fixed wait. The broker tests run on our own Mosquitto processes."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from andon.connectors import MqttClient, ReconnectPolicy, parse_broker_urls
from andon.errors import ConnectorError
from andon.testing import MosquittoProcess, topic_prefix, until
from andon.testing.mosquitto import need_mosquitto_binary


def test_the_first_attempt_is_immediate_then_the_waits_double_with_jitter_up_to_the_cap(
        ) -> None:
    p = ReconnectPolicy(base_s=0.1, cap_s=1.6, rng=random.Random(42))
    delays = [p.next_delay() for _ in range(10)]
    assert delays[0] == 0.0
    for n, d in enumerate(delays[1:], start=1):
        ceiling = min(1.6, 0.1 * 2 ** (n - 1))
        assert ceiling / 2 <= d <= ceiling, (n, d)
    assert delays[1] < delays[3] < delays[5], "the waits grow"
    assert len({round(d, 9) for d in delays[5:]}) == 5, "capped, yet jittered"
    assert list(p.delays) == delays
    assert (p.attempts, p.outages) == (10, 1)
    # the same seed, the same sequence: the jitter comes from the injected generator only
    again = ReconnectPolicy(base_s=0.1, cap_s=1.6, rng=random.Random(42))
    assert [again.next_delay() for _ in range(10)] == delays


def test_a_connection_that_stayed_up_ends_the_outage_and_one_that_flapped_does_not() -> None:
    p = ReconnectPolicy(base_s=0.2, cap_s=10.0, stable_s=5.0, rng=random.Random(1))
    for _ in range(4):
        p.next_delay()
    p.connected(at=100.0)
    assert p.lost(at=101.0) is False, "up 1 s < stable_s: the same outage goes on"
    assert p.next_delay() >= 0.2 * 2**3 / 2, "and its back-off with it"
    p.connected(at=200.0)
    assert p.lost(at=205.0) is True, "up 5 s: a new outage"
    assert p.next_delay() == 0.0, "which starts with an immediate attempt"
    assert p.outages == 2
    p.reset()
    assert p.next_delay() == 0.0


def test_a_policy_refuses_a_base_above_its_cap() -> None:
    with pytest.raises(ValueError, match="0 < base_s <= cap_s"):
        ReconnectPolicy(base_s=5.0, cap_s=1.0)


def test_a_broker_list_is_parsed_in_order_and_a_bad_url_is_named() -> None:
    assert parse_broker_urls("mqtt://a:1883, tcp://b:1884,c") == [
        ("mqtt://a:1883", "a", 1883), ("tcp://b:1884", "b", 1884), ("c", "c", 1883)]
    with pytest.raises(ConnectorError, match=r"'mqtt://b:99999': broker URL has a bad port"):
        parse_broker_urls("mqtt://a:1883,mqtt://b:99999")
    with pytest.raises(ConnectorError, match="'http://b': broker URL must look like mqtt://"):
        MqttClient("mqtt://a:1883,http://b")
    with pytest.raises(ConnectorError, match="no broker URL"):
        parse_broker_urls(" , ")


def test_connect_names_every_broker_it_could_not_reach(tmp_path: Path) -> None:
    down = [MosquittoProcess(tmp_path), MosquittoProcess(tmp_path)]  # never started
    client = MqttClient(f"{down[0].url},{down[1].url}", connect_timeout_s=2.0)
    with pytest.raises(ConnectionError) as info:
        asyncio.run(client.connect())
    message = str(info.value)
    assert message.startswith("cannot reach any MQTT broker: ")
    assert down[0].url in message
    assert down[1].url in message


@pytest.mark.mosquitto
def test_a_persistent_subscriber_fails_over_then_comes_back_after_a_restart_at_once(
        tmp_path: Path) -> None:
    need_mosquitto_binary()
    first, second = MosquittoProcess(tmp_path), MosquittoProcess(tmp_path)
    first.start()
    try:
        second.start()
        asyncio.run(_fail_over_and_back(first, second))
    finally:
        first.stop()
        second.stop()


def _settled_on(client: MqttClient, url: str) -> bool:
    """Connected to ``url`` with that attempt recorded (the CONNACK callback that sets
    ``connected`` runs before the attempt that awaited it is noted: read both)."""
    last = client.attempts[-1] if client.attempts else None
    return (client.connected.is_set() and last is not None and last.error is None
            and last.url == url)


async def _fail_over_and_back(first: MosquittoProcess, second: MosquittoProcess) -> None:
    topic = f"{topic_prefix('failover')}/x"
    got: list[bytes] = []

    def on_message(_topic: str, payload: bytes) -> None:
        got.append(payload)

    # stable_s=0: every connection counts as stable, so each loss starts a new outage
    policy = ReconnectPolicy(base_s=0.1, cap_s=0.4, stable_s=0.0, rng=random.Random(5))
    sub = MqttClient(f"{first.url},{second.url}", "failover-sub", on_message=on_message,
                     subscriptions=[topic], qos=1, persistent=True, reconnect=policy,
                     connect_timeout_s=3.0)
    try:
        await sub.connect()
        await sub.subscribed()
        assert sub.current_url == first.url
        sub.attempts.clear()

        await asyncio.to_thread(first.stop)
        await until(lambda: _settled_on(sub, second.url), "the subscriber on the second broker",
                    20, every_s=0.01)
        failover = list(sub.attempts)
        assert failover[0].url == first.url
        assert failover[0].delay_s == 0.0, "the lost broker is tried again at once"
        assert failover[0].error is not None
        assert failover[-1].url == second.url
        assert failover[-1].error is None
        assert all(a.delay_s <= 0.4 for a in failover)

        await sub.subscribed()  # subscribed again on the second broker
        pub = MqttClient(second.url)
        await pub.connect()
        pub.publish(topic, b"after-failover", qos=1)
        await until(lambda: b"after-failover" in got, "a message via the second broker", 20,
                    every_s=0.01)
        await pub.disconnect()

        # the second broker restarts (the first stays down): the next outage starts with an
        # immediate attempt again, never with a fixed wait
        sub.attempts.clear()
        outages = policy.outages
        await asyncio.to_thread(second.stop)
        await until(lambda: bool(sub.attempts), "a first reconnect attempt", 10, every_s=0.01)
        await asyncio.to_thread(second.start)
        await until(lambda: _settled_on(sub, second.url), "the subscriber back", 20,
                    every_s=0.01)
        restart = list(sub.attempts)
        assert policy.outages == outages + 1
        assert restart[0].delay_s == 0.0
        assert restart[0].url == second.url, "the broker just lost is tried first"
        assert restart[-1].url == second.url
        assert restart[-1].error is None
        delays = list(policy.delays)[-len(restart):]
        assert delays == [a.delay_s for a in restart]
        for n, d in enumerate(delays[1:], start=1):
            assert min(0.4, 0.1 * 2 ** (n - 1)) / 2 <= d <= min(0.4, 0.1 * 2 ** (n - 1))
        assert sub.reconnects == 2
    finally:
        await sub.disconnect()


@pytest.mark.mosquitto
def test_qos1_messages_dropped_by_a_broker_without_our_session_give_their_packet_ids_back(
        tmp_path: Path) -> None:
    """gmqtt empties its queue of unacknowledged QoS 1 publishes when the broker answers
    without our session, but kept their packet ids taken: after ~65,000 of them every QoS 1
    publish of a long-running client raised ``OverflowError``. Now the ids come back and the
    client publishes on."""
    need_mosquitto_binary()
    broker = MosquittoProcess(tmp_path)  # no persistence: a restart forgets every session
    broker.start()
    try:
        asyncio.run(_ids_back_after_a_sessionless_reconnect(broker))
    finally:
        broker.stop()


async def _ids_back_after_a_sessionless_reconnect(broker: MosquittoProcess) -> None:
    topic = f"{topic_prefix('mids')}/x"
    got: list[bytes] = []
    sub = MqttClient(broker.url, on_message=lambda _t, p: got.append(p), subscriptions=[topic],
                     qos=1)
    pub = MqttClient(broker.url, "mids-pub", qos=1, persistent=True,
                     reconnect=ReconnectPolicy(base_s=0.05, cap_s=0.2))
    used = pub._client._package_handler.id_generator._used_ids  # the defect: gmqtt internals
    try:
        await pub.connect()
        await asyncio.to_thread(broker.stop)
        await until(lambda: not pub.connected.is_set(), "the publisher to see the broker go", 10)
        for n in range(3000):  # queued while down: the restarted broker has no session for them
            pub.publish(topic, str(n).encode(), qos=1)
        assert len(used) == 3000
        await asyncio.to_thread(broker.start)
        await until(pub.connected.is_set, "the publisher back", 20)
        await until(lambda: not used, "the dropped messages' packet ids given back", 10)
        await sub.connect()
        await sub.subscribed()
        pub.publish(topic, b"after", qos=1)
        await until(lambda: b"after" in got, "a publish after the reconnect", 10)
        await until(lambda: not used, "its id given back on PUBACK", 10)
    finally:
        await pub.disconnect()
        await sub.disconnect()

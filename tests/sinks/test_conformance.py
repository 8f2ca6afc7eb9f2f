"""The sink conformance suite (``andon.testing.conformance.sinks``) on every built-in sink: it
delivers to a live endpoint, delivers the same version again harmlessly, and against a dead one
reports a failed, one-line result instead of raising. (The example plug-in's sink runs the same
checks in ``tests/test_plugins.py``.)"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from andon.clock import Clock
from andon.connectors.mqtt import MqttClient
from andon.sinks import CmmsSink, Sink, UnsSink, WebhookSink
from andon.testing import free_port, need
from andon.testing.cmms import LocalCmms
from andon.testing.conformance.sinks import (
    SinkFactory,
    check_delivers,
    check_fails_softly,
    check_redelivers,
)
from sinks.receiver import SECRET, Receiver

KINDS = ["webhook", pytest.param("uns", marks=pytest.mark.mosquitto), "cmms"]
#: whether a live delivery of the kind reports an external id (a webhook has none)
EXTERNAL_ID = {"webhook": False, "uns": True, "cmms": True}


def factory(kind: str, *, live: bool) -> SinkFactory:
    """The built-in sink of ``kind`` against a live endpoint or a dead one."""
    @contextlib.asynccontextmanager
    async def sink(clock: Clock) -> AsyncIterator[Sink]:
        dead = f"http://127.0.0.1:{free_port()}"
        if kind == "webhook":
            with contextlib.ExitStack() as stack:
                url = stack.enter_context(Receiver([])).url if live else f"{dead}/hook"
                yield WebhookSink("webhook:c", url, SECRET, clock=clock, max_attempts=2,
                                  sleep=lambda _s: asyncio.sleep(0))
        elif kind == "cmms":
            with contextlib.ExitStack() as stack:
                url = stack.enter_context(LocalCmms()).url if live else dead
                yield CmmsSink("cmms:c", url, clock=clock)
        elif live:
            need("Mosquitto", "127.0.0.1", 1883)
            client = MqttClient("mqtt://127.0.0.1:1883")
            await client.connect()
            try:
                yield UnsSink(client, connected=client.connected, clock=clock, retain=False)
            finally:
                await client.disconnect()
        else:
            client = MqttClient(f"mqtt://127.0.0.1:{free_port()}")  # never connected
            yield UnsSink(client, connected=client.connected, clock=clock, retain=False)

    return sink


@pytest.mark.parametrize("kind", KINDS)
def test_a_live_sink_delivers(kind: str) -> None:
    check_delivers(factory(kind, live=True), external_id=EXTERNAL_ID[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_a_sink_delivers_the_same_version_again_harmlessly(kind: str) -> None:
    check_redelivers(factory(kind, live=True))


@pytest.mark.parametrize("kind", KINDS)
def test_a_dead_endpoint_gives_a_failed_one_line_result(kind: str) -> None:
    check_fails_softly(factory(kind, live=False))

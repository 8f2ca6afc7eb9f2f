"""One conformance suite every sink passes: it delivers to a live endpoint, and against a dead
one it reports a failed, one-line result instead of raising."""

from __future__ import annotations

import asyncio
import secrets
from contextlib import AsyncExitStack, ExitStack
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from andon.connectors.mqtt import MqttClient
from andon.interventions.wire import intervention_document
from andon.sinks import CmmsSink, Outgoing, Sink, UnsSink, WebhookSink
from andon.testing import free_port, need
from andon.testing.cmms import LocalCmms
from factories import make_intervention
from sinks.receiver import SECRET, Receiver

if TYPE_CHECKING:
    from andon.clock import ManualClock

KINDS = ["webhook", pytest.param("uns", marks=pytest.mark.mosquitto), "cmms"]


async def _sink(kind: str, *, live: bool, stack: ExitStack, astack: AsyncExitStack,
                clock: ManualClock) -> Sink:
    dead = f"http://127.0.0.1:{free_port()}"
    if kind == "webhook":
        url = stack.enter_context(Receiver([])).url if live else f"{dead}/hook"
        return WebhookSink("webhook:c", url, SECRET, clock=clock, max_attempts=2,
                           sleep=lambda _s: asyncio.sleep(0))
    if kind == "cmms":
        url = stack.enter_context(LocalCmms()).url if live else dead
        return CmmsSink("cmms:c", url, clock=clock)
    if live:
        need("Mosquitto", "127.0.0.1", 1883)
        client = MqttClient("mqtt://127.0.0.1:1883")
        await client.connect()
        astack.push_async_callback(client.disconnect)
    else:
        client = MqttClient(f"mqtt://127.0.0.1:{free_port()}")  # never connected
    return UnsSink(client, connected=client.connected, clock=clock, retain=False)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("live", [True, False], ids=["live", "dead"])
def test_sink_conformance(kind: str, live: bool, clock: ManualClock) -> None:
    iv = replace(make_intervention(), enterprise=f"t{secrets.token_hex(4)}")
    item = Outgoing.of(intervention_document(iv))

    async def run() -> None:
        with ExitStack() as stack:
            async with AsyncExitStack() as astack:
                sink = await _sink(kind, live=live, stack=stack, astack=astack, clock=clock)
                assert sink.name
                result = await asyncio.wait_for(sink.deliver(item), 30)
                assert result.attempts
                assert result.ok is live
                for attempt in result.attempts:
                    assert attempt.at == clock.now()
                    assert "\n" not in attempt.error
                    assert bool(attempt.error) is not attempt.ok
                if live:
                    assert result.external_id is not None or kind == "webhook"

    asyncio.run(run())

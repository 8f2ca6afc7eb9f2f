"""Publish a simulation onto the UNS, paced to a speed-up factor or as fast as possible."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime

from andon.connectors.mqtt import MqttClient
from andon.namespace import encode_sample
from andon.namespace.sample import Sample
from andon.simulator import PlantSimulator

__all__ = ["publish_simulation", "topic_of"]


def topic_of(s: Sample) -> str:
    """The UNS topic of a sample."""
    return s.address.topic


async def publish_simulation(
    sim: PlantSimulator, client: MqttClient, *, speed: float | None, stop: asyncio.Event,
    until: datetime | None = None, on_step: Callable[[PlantSimulator, int], None] | None = None,
) -> int:
    """Step ``sim`` and publish every sample; returns how many were published.

    ``speed`` is simulated seconds per wall second (60 = one simulated minute per second);
    None publishes as fast as the loop allows, yielding between steps.
    """
    loop = asyncio.get_running_loop()
    wall0, sim0 = loop.time(), sim.now
    published = 0
    while not stop.is_set() and (until is None or sim.now < until):
        for s in sim.step():
            client.publish(topic_of(s), encode_sample(s))
            published += 1
        if on_step is not None:
            on_step(sim, published)
        if speed is None:
            await asyncio.sleep(0)
            continue
        due = wall0 + (sim.now - sim0).total_seconds() / speed - loop.time()
        if due > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), due)
        else:
            await asyncio.sleep(0)
    return published

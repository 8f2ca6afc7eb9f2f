"""Publish a simulation onto the UNS, paced to a speed-up factor or as fast as possible."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime

from andon.connectors.legacy import encode_legacy
from andon.connectors.mqtt import MqttClient
from andon.namespace import encode_sample
from andon.namespace.sample import Sample
from andon.namespace.tagmap import TagMap, site_maps
from andon.simulator import PlantSimulator

__all__ = ["message_of", "publish_simulation", "topic_of"]


def topic_of(s: Sample) -> str:
    """The UNS topic of a sample."""
    return s.address.topic


def message_of(s: Sample, maps: Mapping[str, TagMap]) -> tuple[str, bytes]:
    """Topic and payload a source of the plant sends for ``s``.

    A tag its site's map covers goes out as the legacy source would send it (raw name, raw
    unit, raw scaling; ``andon.connectors.legacy``); any other tag as a canonical UNS sample.
    """
    tag_map = maps.get(s.address.site)
    binding = None if tag_map is None else tag_map.binding_of(s.address)
    if binding is None:
        return s.address.topic, encode_sample(s)
    return encode_legacy(s, binding)


async def publish_simulation(
    sim: PlantSimulator, client: MqttClient, *, speed: float | None, stop: asyncio.Event,
    until: datetime | None = None, on_step: Callable[[PlantSimulator, int], None] | None = None,
    maps: Mapping[str, TagMap] | None = None,
) -> int:
    """Step ``sim`` and publish every sample; returns how many were published.

    ``speed`` is simulated seconds per wall second (60 = one simulated minute per second);
    None publishes as fast as the loop allows, yielding between steps. Sites with a tag map
    (default: the spec's ``site_maps``) publish through it in reverse (``message_of``).
    """
    maps = site_maps(sim.spec) if maps is None else maps
    loop = asyncio.get_running_loop()
    wall0, sim0 = loop.time(), sim.now
    published = 0
    while not stop.is_set() and (until is None or sim.now < until):
        for s in sim.step():
            client.publish(*message_of(s, maps))
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

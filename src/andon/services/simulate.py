"""Publish a simulation onto the UNS, paced to a speed-up factor or as fast as possible.

What the simulator reports is what left it, never what it merely produced (``Publisher``):

* **QoS 0**: a message counts as published when it was written on a connected socket; one
  made while the broker is unreachable is counted as not sent (and not handed to the MQTT
  client, which would only log a warning per message and drop it). A message written just
  before the connection died may still be lost: that is QoS 0.
* **QoS 1**: a message counts once the broker acknowledged it (PUBACK). What is made while the
  broker is unreachable is held by the publisher and sent on reconnect; what was in flight
  when the connection dropped is sent again (also when the broker lost our session, which the
  MQTT client would otherwise discard). A subscriber with a persistent QoS 1 session (and a
  broker keeping its sessions and enough queued messages) then loses nothing end to end; a
  resent message may arrive twice, which the edge counts as an exact duplicate. While more
  than ``hold`` messages wait, the simulation pauses (the simulated clock then catches up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from andon.connectors.legacy import encode_legacy
from andon.connectors.mqtt import MqttClient
from andon.namespace import encode_sample
from andon.namespace.sample import Sample
from andon.namespace.tagmap import TagMap, site_maps
from andon.simulator import PlantSimulator

__all__ = ["Publisher", "message_of", "publish_simulation", "topic_of"]

#: QoS 1 messages written and not yet acknowledged, at most (MQTT has 65,535 packet ids)
MAX_IN_FLIGHT = 10_000
#: QoS 1 messages held while the broker is unreachable, at most (then the simulation pauses)
MAX_HELD = 50_000


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


class _OnePerOutage(logging.Filter):
    """Lets one gmqtt "[TRYING WRITE TO CLOSED SOCKET]" warning through per outage.

    The publisher stops writing once it sees the connection down, but gmqtt notices a dead
    socket a moment before the publisher does; without this, each write of that moment is a
    line of log (the issue saw 19,286 in 60 s before the publisher checked at all).
    """

    def __init__(self) -> None:
        super().__init__()
        self.told = False

    def filter(self, record: logging.LogRecord) -> bool:
        if "CLOSED SOCKET" not in record.msg:
            return True
        if self.told:
            return False
        self.told = True
        return True


_CLOSED_SOCKET = _OnePerOutage()
logging.getLogger("gmqtt.mqtt.protocol").addFilter(_CLOSED_SOCKET)


class _HeldStorage:
    """gmqtt's store of unacknowledged QoS 1 packets that does not forget them.

    gmqtt clears it when the broker comes back without our session (a restarted broker), and
    the packets would be lost (their packet ids stay taken, too); here they are kept, marked
    ``orphaned``, and ``Publisher`` sends them again.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.orphaned = False

    def clear(self) -> None:
        self.orphaned = True  # kept: sent again on this connection (``Publisher._reconnected``)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class Publisher:
    """Publishes messages on ``client`` at ``qos`` and counts what left (module docstring).

    ``published``: acknowledged by the broker (QoS 1) or written on a connected socket
    (QoS 0). ``unsent``: QoS 0 messages made while the broker was unreachable. ``pending``:
    QoS 1 messages held or in flight. ``produced = published + unsent + pending``.
    """

    def __init__(self, client: MqttClient, qos: int = 0, *, max_in_flight: int = MAX_IN_FLIGHT,
                 max_held: int = MAX_HELD) -> None:
        if qos not in {0, 1}:
            raise ValueError(f"qos must be 0 or 1, got {qos}")
        self.client = client
        self.qos = qos
        self.max_in_flight = max_in_flight
        self.max_held = max_held
        self.produced = 0
        self.unsent = 0
        self.outages = 0  # connections lost while publishing
        self._written = 0  # QoS 0: written on a connected socket; QoS 1: handed to gmqtt
        self._held: deque[tuple[str, bytes]] = deque()
        self._up = True  # the connection as last seen
        gmqtt: Any = client._client  # noqa: SLF001 - the one place the simulator reaches in
        self._gmqtt = gmqtt
        self._storage = _HeldStorage(gmqtt._persistent_storage)  # noqa: SLF001
        gmqtt._persistent_storage = self._storage  # noqa: SLF001

    @property
    def in_flight(self) -> int:
        """QoS 1 messages written and not yet acknowledged."""
        return len(self._storage.get_all()) if self.qos else 0

    @property
    def pending(self) -> int:
        """QoS 1 messages not acknowledged yet: held, or in flight."""
        return len(self._held) + self.in_flight

    @property
    def published(self) -> int:
        """Acknowledged by the broker (QoS 1), written on a connected socket (QoS 0)."""
        return self._written - self.in_flight

    def connected(self) -> bool:
        """Whether the connection is up (and notes an outage, or the way back from one)."""
        up = self.client.connected.is_set() and bool(self._gmqtt.is_connected)
        if up != self._up:
            self._up = up
            if up:
                _CLOSED_SOCKET.told = False
                self._reconnected()
            else:
                self.outages += 1
        return up

    def publish(self, topic: str, payload: bytes) -> None:
        """Send one message now, or count it (QoS 0) or hold it (QoS 1) while unreachable."""
        self.produced += 1
        if not self.connected():
            if self.qos:
                self._held.append((topic, payload))
            else:
                self.unsent += 1
            return
        if self._held:
            self._send_held()
        self.client.publish(topic, payload, qos=self.qos)
        self._written += 1

    async def ready(self, stop: asyncio.Event) -> None:
        """Wait while too many QoS 1 messages wait (held, or in flight); returns on ``stop``."""
        while self.qos and not stop.is_set() and (
                len(self._held) >= self.max_held
                or (self.connected() and self.in_flight >= self.max_in_flight)):
            if self._held and self.connected():
                self._send_held()
            with contextlib.suppress(TimeoutError):  # nothing to wait on: PUBACKs are silent
                await asyncio.wait_for(stop.wait(), 0.05)

    async def drain(self, timeout: float) -> None:  # noqa: ASYNC109 - bounds the wait only
        """Wait (at most ``timeout`` s) until every QoS 1 message has been acknowledged."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pending and loop.time() < deadline:
            if self._held and self.connected():
                self._send_held()
            await asyncio.sleep(0.05)  # polled: gmqtt has no event for an acknowledgement

    def _send_held(self) -> None:
        held, self._held = self._held, deque()
        for topic, payload in held:
            self.client.publish(topic, payload, qos=self.qos)
        self._written += len(held)

    def _reconnected(self) -> None:
        """Send again what the broker forgot with our session (gmqtt resends the rest)."""
        if self._storage.orphaned:
            self._storage.orphaned = False
            connection = self._gmqtt._connection  # noqa: SLF001
            for _mid, package in self._storage.get_all():
                connection.send_package(package)
        self._send_held()

    def summary(self) -> str:
        """One line: what was published, and what was not."""
        if self.qos:
            line = f"{self.published} samples published (acknowledged by the broker, QoS 1)"
            if self.pending:
                line += f", {self.pending} not acknowledged (the broker is unreachable)"
            return line
        line = f"{self.published} samples published (QoS 0)"
        if self.unsent:
            line += f", {self.unsent} not sent while the broker was unreachable"
        return line


async def publish_simulation(
    sim: PlantSimulator, client: MqttClient | Publisher, *, speed: float | None,
    stop: asyncio.Event, until: datetime | None = None,
    on_step: Callable[[PlantSimulator, int], None] | None = None,
    maps: Mapping[str, TagMap] | None = None,
) -> int:
    """Step ``sim`` and publish every sample through a ``Publisher``; returns how many it made.

    A bare ``MqttClient`` is wrapped in a QoS 0 ``Publisher``; pass your own to read its
    counts (what was published, what was not).

    ``speed`` is simulated seconds per wall second (60 = one simulated minute per second);
    None publishes as fast as the loop allows, yielding between steps. Sites with a tag map
    (default: the spec's ``site_maps``) publish through it in reverse (``message_of``).
    """
    maps = site_maps(sim.spec) if maps is None else maps
    publisher = client if isinstance(client, Publisher) else Publisher(client)
    loop = asyncio.get_running_loop()
    wall0, sim0 = loop.time(), sim.now
    made = 0
    while not stop.is_set() and (until is None or sim.now < until):
        for s in sim.step():
            publisher.publish(*message_of(s, maps))
            made += 1
        if on_step is not None:
            on_step(sim, made)
        await publisher.ready(stop)
        if speed is None:
            await asyncio.sleep(0)
            continue
        due = wall0 + (sim.now - sim0).total_seconds() / speed - loop.time()
        if due > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), due)
        else:
            await asyncio.sleep(0)
    return made

"""One harness per built-in connector: start its real source, build the connector, feed it.

The conformance suite (``andon.testing.conformance.connectors``, run by ``test_conformance.py``)
only talks to a ``ConnectorHarness``; adding a connector to the suite is one new harness class
and one line in ``HARNESSES``.

Every harness maps the raw name it uses onto ``ADDRESS`` with raw unit degF and (where the
protocol has raw names) ``scale`` 0.1, so the suite also checks that scaling happens.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pysparkplug import DataType, EdgeNode, Metric

from andon.clock import from_ms
from andon.connectors.base import Connector
from andon.connectors.mqtt import MqttClient
from andon.connectors.opcua import OpcUaConnector
from andon.connectors.opcua_security import OpcUaSecurity
from andon.connectors.sparkplug import SparkplugConnector
from andon.connectors.uns import UnsConnector
from andon.namespace.sample import Quality, Sample, encode_sample
from andon.namespace.tagmap import TagBinding, TagMap
from andon.namespace.topics import TagAddress
from andon.testing import need, unique_id, until
from andon.testing.conformance.connectors import ConnectorHarness
from andon.testing.opcua_certs import application_certificate

from .opcua_server import OpcUaTestServer, ServerSecurity

SHARED_BROKER = "mqtt://127.0.0.1:1883"
UNIT = "degF"
SCALE = 0.1
WAIT_S = 20.0


def address(enterprise: str = "acme") -> TagAddress:
    """The canonical tag every harness feeds."""
    return TagAddress(enterprise, "porto", "press", "l1", "p-101", "bearing_temp")


# -- MQTT JSON on the UNS --------------------------------------------------------------------
@dataclass
class UnsHarness:
    """The default protocol: canonical JSON on UNS topics of the shared Mosquitto."""

    kind: str = "mqtt"
    unit: str = UNIT
    enterprise: str = field(default_factory=unique_id)
    source: str = "plc-gw-1"
    seq: int = 0
    _connector: UnsConnector | None = None
    _pub: MqttClient | None = None

    @property
    def address(self) -> TagAddress:
        return address(self.enterprise)

    @property
    def unknown_name(self) -> str:
        return f"andon/v1/{self.enterprise}/porto/press/l1/p-101/_not_a_tag"

    def connector(self) -> Connector:
        if self._connector is None:
            self._connector = UnsConnector(SHARED_BROKER, [f"andon/v1/{self.enterprise}/#"])
        return self._connector

    async def ready(self) -> None:
        assert self._connector is not None
        await asyncio.wait_for(self._connector.ready.wait(), WAIT_S)

    async def send_valid(self, value: float, ts_ms: int) -> None:
        self.seq += 1
        sample = Sample(self.address, value, UNIT, Quality.GOOD, ts_ms, self.seq, self.source)
        self._publisher().publish(self.address.topic, encode_sample(sample))

    async def send_malformed(self) -> None:
        self._publisher().publish(self.address.topic, b'{"v": "hot", "u": 3}')

    async def send_unknown(self) -> None:
        self._publisher().publish(self.unknown_name, b'{"v": 1}')

    def _publisher(self) -> MqttClient:
        assert self._pub is not None
        return self._pub

    @contextlib.asynccontextmanager
    async def running(self, _tmp_path: Path) -> AsyncIterator[UnsHarness]:
        need("Mosquitto", "127.0.0.1", 1883)
        self._pub = MqttClient(SHARED_BROKER)
        await self._pub.connect()
        try:
            yield self
        finally:
            await self._pub.disconnect()


# -- Sparkplug B -----------------------------------------------------------------------------
@dataclass
class SparkplugHarness:
    """A real pysparkplug edge node (paho, its own thread) on the shared Mosquitto."""

    kind: str = "sparkplug"
    unit: str = UNIT
    group: str = field(default_factory=unique_id)
    node_id: str = "press-gw"
    _connector: SparkplugConnector | None = None
    _node: EdgeNode | None = None
    _pub: MqttClient | None = None

    address: TagAddress = field(default_factory=address)
    unknown_name: str = "Mystery/Reading"

    @property
    def source(self) -> str:
        return f"spb:{self.group}/{self.node_id}"

    def connector(self) -> Connector:
        if self._connector is None:
            tagmap = TagMap.of([TagBinding("Press/BearingTemp", self.address, UNIT, SCALE)])
            self._connector = SparkplugConnector(SHARED_BROKER, tagmap,
                                                 host_id=f"h-{self.group}", groups=(self.group,))
        return self._connector

    async def ready(self) -> None:
        assert self._connector is not None
        await asyncio.wait_for(self._connector.ready.wait(), WAIT_S)
        if self._node is None:  # birth after the host listens
            self._node = EdgeNode(self.group, self.node_id, [
                _metric("Press/BearingTemp", 700.0),
                _metric(self.unknown_name, 1.0),
            ])
            self._node.connect("127.0.0.1", port=1883)
            # paho sends the NBIRTH from its own thread once connected; data sent before that
            # would (rightly) be "data before any NBIRTH". Polled: the host's counter has no
            # event.
            stats = self._connector.stats
            await until(lambda: stats.births >= 1, "an NBIRTH", WAIT_S, every_s=0.01)

    async def send_valid(self, value: float, ts_ms: int) -> None:
        assert self._node is not None
        self._node.update([_metric("Press/BearingTemp", value / SCALE, ts_ms)])

    async def send_malformed(self) -> None:
        assert self._pub is not None
        self._pub.publish(f"spBv1.0/{self.group}/NDATA/{self.node_id}", b"\xff\xfe not protobuf")

    async def send_unknown(self) -> None:
        assert self._node is not None
        self._node.update([_metric(self.unknown_name, 2.0)])

    @contextlib.asynccontextmanager
    async def running(self, _tmp_path: Path) -> AsyncIterator[SparkplugHarness]:
        need("Mosquitto", "127.0.0.1", 1883)
        self._pub = MqttClient(SHARED_BROKER)
        await self._pub.connect()
        try:
            yield self
        finally:
            if self._node is not None:
                await asyncio.to_thread(self._node.disconnect)
            await self._pub.disconnect()


def _metric(name: str, value: float, ts_ms: int | None = None) -> Metric:
    return Metric(timestamp=ts_ms, name=name, datatype=DataType.DOUBLE, value=value)


# -- OPC UA ----------------------------------------------------------------------------------
@dataclass
class OpcUaHarness:
    """A real asyncua server started by the test (history in SQLite)."""

    kind: str = "opcua"
    unit: str = UNIT
    server: OpcUaTestServer | None = None
    _connector: OpcUaConnector | None = None

    address: TagAddress = field(default_factory=address)

    @property
    def unknown_name(self) -> str:
        assert self.server is not None
        return self.server.node_id("missing")

    @property
    def source(self) -> str:
        assert self.server is not None
        return f"opcua:127.0.0.1:{self.server.port}"

    async def ready(self) -> None:
        assert self._connector is not None
        await asyncio.wait_for(self._connector.ready.wait(), WAIT_S)

    async def send_valid(self, value: float, ts_ms: int) -> None:
        assert self.server is not None
        await self.server.write("temp", value / SCALE, from_ms(ts_ms))

    async def send_malformed(self) -> None:
        assert self.server is not None
        await self.server.write("label", "not a number", datetime.now(UTC))

    async def send_unknown(self) -> None:
        """Nothing to send: the server refuses to monitor the unknown node at subscribe time."""

    def _security(self) -> OpcUaSecurity | None:
        return None

    def _server_security(self, _tmp_path: Path) -> ServerSecurity | None:
        return None

    def connector(self) -> Connector:
        assert self.server is not None
        if self._connector is None:
            tagmap = TagMap.of([
                TagBinding(self.server.node_id("temp"), self.address, UNIT, SCALE),
                TagBinding(self.server.node_id("label"), self.address, UNIT),
                TagBinding(self.unknown_name, self.address, UNIT),  # the server has no such node
            ])
            self._connector = OpcUaConnector(self.server.url, tagmap, min_backoff_s=0.1,
                                             max_backoff_s=0.5, watchdog_s=0.5,
                                             security=self._security())
        return self._connector

    @contextlib.asynccontextmanager
    async def running(self, tmp_path: Path) -> AsyncIterator[OpcUaHarness]:
        self.server = OpcUaTestServer(str(tmp_path / "history.db"), ["temp", "label"],
                                      strings=("label",),
                                      security=self._server_security(tmp_path))
        await self.server.start()
        try:
            yield self
        finally:
            await self.server.stop()


@dataclass
class SecureOpcUaHarness(OpcUaHarness):
    """The same server offering only Basic256Sha256 SignAndEncrypt; each side trusts the
    other's self-signed certificate (listed as ``opcua-secure``; its kind stays ``opcua``)."""

    _client: OpcUaSecurity | None = None

    def _security(self) -> OpcUaSecurity | None:
        return self._client

    def _server_security(self, tmp_path: Path) -> ServerSecurity | None:
        certs = tmp_path / "certs"
        server = application_certificate(certs, "server", "urn:test:server", role="server")
        client = application_certificate(certs, "andon", "urn:test:andon", role="client")
        self._client = OpcUaSecurity("Basic256Sha256", "SignAndEncrypt", client.cert,
                                     client.key, server.write_to(tmp_path / "client-trusts")
                                     .parent)
        return ServerSecurity(server, client.write_to(tmp_path / "server-trusts").parent)


#: every connector the conformance suite covers (adding one is one line here)
HARNESSES: dict[str, Callable[[], ConnectorHarness]] = {
    "mqtt": UnsHarness,
    "sparkplug": SparkplugHarness,
    "opcua": OpcUaHarness,
    "opcua-secure": SecureOpcUaHarness,
}

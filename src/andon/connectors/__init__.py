"""Connectors: how bytes from the plant's brokers become canonical samples, and back.

Good means: a connector never crashes on what it receives, keeps up with the broker (the hot
path uses gmqtt, the fastest client measured here), and reconnects by itself (at once, then
with back-off: ``reconnect``), over a list of brokers if given one.

Every protocol is a ``Connector`` (``base``) and passes one conformance suite: ``uns`` (MQTT
JSON on the UNS), ``sparkplug`` (Sparkplug B 3.0 host), ``opcua`` (OPC UA client, asyncua),
``historian`` (CSV/Parquet export replay). Import them from their modules: asyncua and protobuf
load only where a connector is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from andon.connectors.base import CollectingSink, Connector, PointSink
    from andon.connectors.broker import EmbeddedBroker, pick_port
    from andon.connectors.mqtt import MqttClient, parse_broker_url, parse_broker_urls
    from andon.connectors.reconnect import ReconnectPolicy

__all__ = ["CollectingSink", "Connector", "EmbeddedBroker", "MqttClient", "PointSink",
           "ReconnectPolicy", "parse_broker_url", "parse_broker_urls", "pick_port"]

#: where each name of ``__all__`` lives: imported on first use, so that importing one
#: connector module (``andon.connectors.plugin`` for ``andon connect --help``) does not load
#: the MQTT client and the embedded broker
_HOME = {"CollectingSink": "base", "Connector": "base", "PointSink": "base",
         "EmbeddedBroker": "broker", "pick_port": "broker", "MqttClient": "mqtt",
         "parse_broker_url": "mqtt", "parse_broker_urls": "mqtt", "ReconnectPolicy": "reconnect"}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value

"""Connectors: how bytes from the plant's brokers become canonical samples, and back.

Good means: a connector never crashes on what it receives, keeps up with the broker (the hot
path uses gmqtt, the fastest client measured here), and reconnects by itself.
"""

from andon.connectors.broker import EmbeddedBroker, pick_port
from andon.connectors.mqtt import MqttClient, parse_broker_url

__all__ = ["EmbeddedBroker", "MqttClient", "parse_broker_url", "pick_port"]

"""The options of every ``andon`` command that securing its MQTT connections takes.

``andon --mqtt-ca ca.pem --mqtt-username edge-1 edge ...`` (or the ``ANDON_MQTT_*``
variables): the root group's callback resolves the ``mqtt_*`` settings before the command
runs and makes them the process's (``andon.connectors.mqtt_security.use_security``), so the
edge, the simulator, the central ingest, the feedback listener, ``andon status --broker`` and
the connectors all connect with them; the command's ``--broker`` says where
(``mqtts://`` for TLS, ``mqtt://user@host`` for a user of its own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    import typer

__all__ = ["mqtt_options"]


def mqtt_options(ctx: typer.Context, mqtt_ca: Path | None, mqtt_cert: Path | None,
                 mqtt_key: Path | None, mqtt_username: str | None,
                 mqtt_password: str | None) -> None:
    """Make the MQTT options this process's, for the command's run (restored after it).

    Called by the root group's callback (``andon.cli.root``), which declares the options.
    """
    from andon.connectors.mqtt_security import MqttSecurity, use_security  # noqa: PLC0415

    previous = use_security(MqttSecurity(ca=mqtt_ca, cert=mqtt_cert, key=mqtt_key,
                                         username=mqtt_username, password=mqtt_password))
    ctx.call_on_close(lambda: use_security(previous))

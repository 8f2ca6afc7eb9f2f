"""The options of every ``andon`` command that securing its MQTT connections takes.

``andon --mqtt-ca ca.pem --mqtt-username edge-1 edge ...`` (or the ``ANDON_MQTT_*``
variables): the root group's callback resolves the ``mqtt_*`` settings before the command
runs and makes them the process's (``andon.connectors.mqtt_security.use_security``), so the
edge, the simulator, the central ingest, the feedback listener, ``andon status --broker`` and
the connectors all connect with them; the command's ``--broker`` says where
(``mqtts://`` for TLS, ``mqtt://user@host`` for a user of its own).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from andon.cli.options import option
from andon.settings import MQTT_CA, MQTT_CERT, MQTT_KEY, MQTT_PASSWORD, MQTT_USERNAME

__all__ = ["mqtt_options"]


def mqtt_options(
    ctx: typer.Context,
    mqtt_ca: Annotated[Path | None, option(MQTT_CA)] = MQTT_CA.default,
    mqtt_cert: Annotated[Path | None, option(MQTT_CERT)] = MQTT_CERT.default,
    mqtt_key: Annotated[Path | None, option(MQTT_KEY)] = MQTT_KEY.default,
    mqtt_username: Annotated[str | None, option(MQTT_USERNAME)] = MQTT_USERNAME.default,
    mqtt_password: Annotated[str | None, option(MQTT_PASSWORD)] = MQTT_PASSWORD.default,
) -> None:
    """Make the MQTT options this process's, for the command's run (restored after it)."""
    from andon.connectors.mqtt_security import MqttSecurity, use_security  # noqa: PLC0415

    previous = use_security(MqttSecurity(ca=mqtt_ca, cert=mqtt_cert, key=mqtt_key,
                                         username=mqtt_username, password=mqtt_password))
    ctx.call_on_close(lambda: use_security(previous))

"""Sink plug-ins: a sink type is a ``SinkPlugin`` named by an ``andon.sinks`` entry point.

The spec's ``sinks:`` entries name their ``type``; the plug-in of that name declares the
pydantic model of the keys the type reads (``config``: validated when the spec loads, errors
reported ``file:line field: reason``) and builds the sink from them (``build``). The built-ins
declare themselves the same way, next to their code: ``andon.sinks.uns.PLUGIN``,
``andon.sinks.webhook.PLUGIN``, ``andon.sinks.cmms.PLUGIN``, listed in Andon's
``pyproject.toml``::

    [project.entry-points."andon.sinks"]
    uns = "andon.sinks.uns:PLUGIN"

``build(config, context)`` returns the ``Sink`` (``andon.sinks.base``), or None when it cannot
run in this process (the UNS sink without a broker). It reads secrets through
``context.secret(variable)``: the spec names the variable, never the value, and a missing one
stops ``andon serve`` with one line naming it. Every sink must pass the conformance suite
(``andon.testing.conformance.sinks``; a plug-in's tests call ``check_sink``): deliver, deliver
again harmlessly, never raise for a failed delivery, name itself. A settings model whose keys
name roles of the spec (the e-mail sink's ``to:``) has ``role_refs()``, returning (key path,
role id) pairs: the spec refuses a role it does not define at that key.

The validators below are for settings models (built-in or not): an http(s) URL without
credentials, an environment variable name, a duration such as ``10s``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from andon.clock import Clock, SystemClock
from andon.errors import SinkError
from andon.plugins import SINKS, Installed, Plugin, installed
from andon.sinks.base import Publisher, Sink
from andon.units import parse_duration_s

__all__ = ["SinkContext", "SinkPlugin", "env_name", "http_url", "optional_env_name", "seconds",
           "sink_plugins"]

_ENV = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")


@dataclass(frozen=True, slots=True)
class SinkContext:
    """What a sink may use besides its settings: its name, the clock, secrets, the broker."""

    name: str  # the sink's name in ``deliveries``: ``type:id``, or ``type``
    clock: Clock = field(default_factory=SystemClock)
    env: Mapping[str, str] = field(default_factory=dict)  # where named secrets are read
    publisher: Publisher | None = None  # the MQTT client (None: no broker)
    connected: Any = None  # an asyncio.Event set while ``publisher`` is connected

    def secret(self, variable: str, holds: str) -> str:
        """The value of environment variable ``variable``; ``SinkError`` if unset or empty.

        ``holds`` says what it is for the message (``the webhook's signing secret``).
        """
        value = self.env.get(variable, "")
        if not value:
            raise SinkError(f"sink {self.name}: environment variable {variable} is not set "
                            f"(it holds {holds})")
        return value


@dataclass(frozen=True, kw_only=True)
class SinkPlugin(Plugin):
    """A sink type: the model of its settings and how to build the sink from them."""

    #: the sink from its validated settings (an instance of ``config``, or None without one)
    build: Callable[[Any, SinkContext], Sink | None]


def sink_plugins() -> Installed[SinkPlugin]:
    """The installed sink types (entry-point group ``andon.sinks``)."""
    return installed(SINKS, SinkPlugin)


# -- validators for settings models -------------------------------------------------------
def http_url(value: str) -> str:
    """An http(s) URL with a host and without credentials."""
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL (e.g. https://host/path)")
    if parts.password:
        raise ValueError("put credentials in an environment variable, not in the URL")
    return value


def env_name(value: str) -> str:
    """An environment variable name (the spec names the variable, never the secret)."""
    if not _ENV.match(value):
        raise ValueError(f"{value!r} is not an environment variable name (e.g. "
                         "ANDON_WEBHOOK_SECRET); the spec names the variable, never the secret")
    return value


def optional_env_name(value: str | None) -> str | None:
    """``env_name``, or None."""
    return None if value is None else env_name(value)


def seconds(value: object) -> float:
    """A positive duration: a number of seconds or text such as ``10s`` or ``1min``."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(  # noqa: TRY004 - pydantic reports only ValueError as a field error
            f"{value!r} is not a duration (e.g. '10s', '1min')")
    parsed = parse_duration_s(value)
    if not math.isfinite(parsed) or parsed <= 0:
        raise ValueError(f"{value!r} must be a positive duration (e.g. '10s', '1min')")
    return parsed

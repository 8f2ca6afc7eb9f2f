"""Connector plug-ins: ``andon connect KIND`` runs the ``ConnectorPlugin`` named KIND.

A protocol is a ``ConnectorPlugin`` named by an entry point of the ``andon.connectors`` group
(``andon.plugins``); ``andon connect KIND`` runs it into the edge runtime.

A plug-in declares its command-line options as a pydantic model (``config``): each field is an
option named after it (``host_id`` → ``--host-id``, a ``bool`` → ``--x/--no-x``, a
``list[str]`` a repeatable option), its ``description`` is the help text, and the fields named
in ``arguments`` are positional instead. ``tag_map`` says whether the connector reads raw
names through a site's tag map (``required``: ``--site`` is required; ``optional``; ``none``).
``build(options, context)`` makes the ``Connector`` (``andon.connectors.base``); a problem with
one option is an ``OptionError`` naming it (shown as a usage error on that option).
``describe`` and ``report`` give the line printed when it starts and the one when it stops.

The built-ins (``uns``, ``sparkplug``, ``opcua``, ``historian``) are declared the same way in
``andon.connectors.builtin`` and Andon's ``pyproject.toml``; their builders import the protocol
libraries (asyncua, protobuf, pyarrow) only when that connector runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from andon.clock import Clock, SystemClock
from andon.plugins import CONNECTORS, Installed, Plugin, installed

if TYPE_CHECKING:
    from andon.connectors.base import Connector
    from andon.namespace.tagmap import TagMap
    from andon.spec.model import PlantSpec

__all__ = ["ConnectorContext", "ConnectorPlugin", "connector_plugins"]


@dataclass(frozen=True, slots=True)
class ConnectorContext:
    """What a connector is built for: the plant, the site and its tag map, the clock."""

    spec: PlantSpec
    site: str | None = None
    tagmap: TagMap | None = None  # the site's tag map (None without a site)
    clock: Clock = field(default_factory=SystemClock)


@dataclass(frozen=True, kw_only=True)
class ConnectorPlugin(Plugin):
    """A protocol: its options, how it is built, what it says when it starts and stops."""

    #: the connector from its validated options (an instance of ``config``, or None)
    build: Callable[[Any, ConnectorContext], Connector]
    #: option fields taken as positional arguments, in order
    arguments: tuple[str, ...] = ()
    #: whether raw names resolve through a site's tag map (``--site``)
    tag_map: Literal["required", "optional", "none"] = "required"
    #: the line printed once it is built (None: nothing)
    describe: Callable[[Any, ConnectorContext], str] | None = None
    #: the line printed once it stopped, e.g. its counters (None: nothing)
    report: Callable[[Any], str] | None = None


def connector_plugins() -> Installed[ConnectorPlugin]:
    """The installed connectors (entry-point group ``andon.connectors``)."""
    return installed(CONNECTORS, ConnectorPlugin)

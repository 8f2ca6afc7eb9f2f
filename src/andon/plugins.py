"""Plug-ins: sinks, connectors and model kinds, found through Python entry points.

Andon has three extension points, one entry-point group each. An entry point names one
declared plug-in object; Andon's own built-ins are declared in its ``pyproject.toml`` and
found exactly like any other distribution's:

=====================  ====================================  ===============================
group                  an entry point names                  used by
=====================  ====================================  ===============================
``andon.sinks``        ``andon.sinks.plugin.SinkPlugin``      the spec's ``sinks:`` entries
                                                             (by ``type``), ``andon serve``
``andon.connectors``   ``andon.connectors.plugin.             ``andon connect KIND``
                       ConnectorPlugin``
``andon.models``       ``andon.scoring.kinds.ModelPlugin``    ``use_cases[].model_kind``,
                                                             training, model loading
=====================  ====================================  ===============================

A third-party distribution adds one by declaring, e.g. in its ``pyproject.toml``::

    [project.entry-points."andon.sinks"]
    jsonl = "andon_example_plugin:JSONL_SINK"

Every declaration is a ``Plugin`` (a name, one line of help, and the pydantic model of its
settings where the spec or the command line configures it); each group's subclass adds what
that extension point needs (a factory, a trainer and loader). The entry point's name must be
the plug-in's ``name``.

Good means: discovery never fails as a whole. A plug-in that does not import, is not the
declared type, or claims a name another one also claims is refused with one line naming the
entry point and its distribution (logged when found, listed by ``andon plugins``), and
everything else keeps working. Two plug-ins with one name are both refused, each naming the
other: which one a spec gets must not depend on the order distributions happen to be found
in, and a plug-in must not silently replace another (a sink sees every intervention).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel

from andon.errors import PluginError

__all__ = [
    "CONNECTORS",
    "GROUPS",
    "MODELS",
    "SINKS",
    "Broken",
    "Installed",
    "Origin",
    "Plugin",
    "installed",
    "refresh",
]

SINKS = "andon.sinks"
CONNECTORS = "andon.connectors"
MODELS = "andon.models"
#: each group and what one of its plug-ins is called in messages
GROUPS: Mapping[str, str] = {SINKS: "sink type", CONNECTORS: "connector", MODELS: "model kind"}

#: a plug-in name: it becomes a spec value, a command name and part of sink names
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")



@dataclass(frozen=True, kw_only=True)
class Plugin:
    """What every plug-in declares; each group's subclass adds its factory."""

    #: the name the spec or the command line uses (``webhook``, ``opcua``, ``pca-spe``)
    name: str
    #: one line saying what it is, shown by ``andon plugins`` and ``andon connect --list``
    summary: str
    #: the pydantic model of its settings (the spec's keys, the command's options); None: none
    config: type[BaseModel] | None = None


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a plug-in comes from: its entry point and the distribution that declares it."""

    group: str
    name: str
    value: str  # ``module:attribute``
    distribution: str  # ``name version``

    def __str__(self) -> str:
        return f"{self.group}:{self.name} ({self.value}, from {self.distribution})"


@dataclass(frozen=True, slots=True)
class Broken:
    """A refused entry point and why."""

    origin: Origin
    reason: str

    def __str__(self) -> str:
        return f"plug-in {self.origin}: {self.reason}"


P = TypeVar("P", bound=Plugin)
P_co = TypeVar("P_co", bound=Plugin, covariant=True)


@dataclass(frozen=True)
class Installed(Generic[P_co]):
    """The usable plug-ins of one group (by name), where each came from, and what was refused."""

    group: str
    plugins: Mapping[str, P_co]
    origins: Mapping[str, Origin]
    broken: tuple[Broken, ...] = ()

    @property
    def what(self) -> str:
        """What one plug-in of the group is called (``sink type``, ``connector``...)."""
        return GROUPS.get(self.group, "plug-in")

    def names(self) -> list[str]:
        """The installed names, sorted."""
        return sorted(self.plugins)

    def get(self, name: str) -> P_co:
        """The plug-in called ``name``; ``PluginError`` listing the installed ones if none is."""
        found = self.plugins.get(name)
        if found is not None:
            return found
        for b in self.broken:
            if b.origin.name == name:
                raise PluginError(self.group, name, f"{self.what} {name!r} is refused: {b}")
        listed = ", ".join(self.names()) or "none"
        raise PluginError(self.group, name, f"unknown {self.what} {name!r} (installed: {listed})")


#: what ``installed`` found, per group and declaration type
_CHECKED: dict[tuple[str, type[Plugin]], Installed[Any]] = {}


def installed(group: str, kind: type[P]) -> Installed[P]:
    """The plug-ins of ``group`` that are ``kind`` declarations (found once per process)."""
    key = (group, cast("type[Plugin]", kind))
    if key not in _CHECKED:
        _CHECKED[key] = _checked(group, kind)
    return cast("Installed[P]", _CHECKED[key])


def refresh() -> None:
    """Forget what was found: the next ``installed`` reads the entry points again."""
    _CHECKED.clear()
    _loaded.cache_clear()


def _checked(group: str, kind: type[P]) -> Installed[P]:
    loaded, broken = _loaded(group)
    refused = list(broken)
    claims: dict[str, list[tuple[Origin, P]]] = {}
    for origin, obj in loaded:
        reason = _malformed(origin, obj, kind)
        if reason is None and isinstance(obj, kind):
            claims.setdefault(origin.name, []).append((origin, obj))
        else:
            refused.append(_refused(origin, reason or "malformed"))
    plugins: dict[str, P] = {}
    origins: dict[str, Origin] = {}
    for name, claimants in claims.items():
        if len(claimants) == 1:
            origins[name], plugins[name] = claimants[0]
            continue
        for origin, _ in claimants:  # neither wins: which one a spec gets must not be chance
            others = "; ".join(str(o) for o, _ in claimants if o is not origin)
            refused.append(_refused(origin, f"the name {name!r} is also claimed by {others} "
                                    "(uninstall one)"))
    return Installed(group, plugins, origins, tuple(refused))


def _refused(origin: Origin, reason: str) -> Broken:
    import structlog  # noqa: PLC0415 - only when a plug-in is refused (keeps --help light)

    structlog.get_logger("andon.plugins").warning("plugin_refused", plugin=str(origin),
                                                  reason=reason)
    return Broken(origin, reason)


@functools.cache
def _loaded(group: str) -> tuple[tuple[tuple[Origin, object], ...], tuple[Broken, ...]]:
    """Every entry point of ``group``, loaded (each failure logged once, as one line)."""
    loaded: list[tuple[Origin, object]] = []
    broken: list[Broken] = []
    for ep in metadata.entry_points(group=group):
        dist = ep.dist
        origin = Origin(group, ep.name, ep.value,
                        "an unknown distribution" if dist is None
                        else f"{dist.metadata['Name']} {dist.version}")
        try:
            obj = ep.load()
        except Exception as exc:  # noqa: BLE001 - third-party code: any failure is one line
            broken.append(_refused(origin, f"failed to load: {type(exc).__name__}: "
                                   f"{_one_line(str(exc))}"))
            continue
        loaded.append((origin, obj))
    return tuple(loaded), tuple(broken)


def _malformed(origin: Origin, obj: object, kind: type[Plugin]) -> str | None:
    """Why ``obj`` is not a usable ``kind`` declaration for its entry point (None: it is)."""
    if not isinstance(obj, kind):
        return (f"malformed: {origin.value} is a {type(obj).__name__}, not a {kind.__name__} "
                f"({kind.__module__}.{kind.__name__})")
    if not isinstance(obj.name, str) or not _NAME.match(obj.name):
        return (f"malformed: name {obj.name!r} is not 1-40 lowercase letters, digits, '-' or "
                "'_' starting with a letter")
    if obj.name != origin.name:
        return f"malformed: the entry point is named {origin.name!r} but the plug-in {obj.name!r}"
    if obj.config is not None and not (isinstance(obj.config, type)
                                       and issubclass(obj.config, BaseModel)):
        return f"malformed: config {obj.config!r} is not a pydantic model class"
    return None


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."

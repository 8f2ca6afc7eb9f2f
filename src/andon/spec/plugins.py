"""Plug-in settings in the spec: a ``type`` (or ``model_kind``) and the keys its plug-in reads.

A sink entry names its ``type`` and a use case its ``model_kind``; the installed plug-in of that
name (``andon.plugins``) declares the pydantic model of its settings. ``check_settings``
validates what the spec wrote against that model and raises the problems as pydantic errors
located at the keys the spec wrote, so that the loader reports them like any other spec error:
``file:line field: reason``, an unknown key with the keys allowed there.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from andon.errors import PluginError
from andon.plugins import Installed, Plugin, installed
from andon.spec.fields import FieldError

__all__ = ["check_settings", "plugin_named"]

_KNOWN_TYPES = frozenset(typing.get_args(ErrorType))


def plugin_named(group: str, name: str, field: str) -> Plugin:
    """The installed plug-in ``name`` of ``group``; a spec error at ``field`` if there is none.

    The error lists the installed names (and says so when ``name`` is installed but refused).
    """
    plugins: Installed[Plugin] = installed(group, Plugin)
    try:
        return plugins.get(name)
    except PluginError as exc:
        raise FieldError(field, str(exc)) from None


def check_settings(plugin: Plugin, settings: Mapping[str, Any], *,
                   at: tuple[str | int, ...] = (), also: Iterable[str] = ()) -> BaseModel | None:
    """Validate ``settings`` with ``plugin.config``; the validated settings (None: no model).

    Problems are raised as one ``ValidationError`` located under ``at`` (relative to the model
    being validated); an unknown key names the keys allowed (the plug-in's, and ``also``: keys
    the entry itself takes, such as ``type`` and ``id``).
    """
    if plugin.config is None:
        if settings:
            unknown = next(iter(settings))
            raise ValidationError.from_exception_data("settings", [_unknown(
                (*at, unknown), settings[unknown], [*also], plugin)])
        return None
    try:
        return plugin.config.model_validate(dict(settings))
    except ValidationError as exc:
        allowed = [*also, *(f.alias or name  # as the spec writes them (``from``)
                            for name, f in plugin.config.model_fields.items())]
        details: list[InitErrorDetails] = []
        for err in exc.errors(include_url=False):
            loc = (*at, *err["loc"])
            if err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
                details.append(_unknown(loc, err["input"], allowed, plugin))
            elif err["type"] in _KNOWN_TYPES:
                detail = InitErrorDetails(type=err["type"], loc=loc, input=err["input"])
                if "ctx" in err:
                    detail["ctx"] = err["ctx"]
                details.append(detail)
            else:  # a plug-in's own PydanticCustomError: keep its type and message
                details.append(InitErrorDetails(
                    type=PydanticCustomError(err["type"], "{reason}", {"reason": err["msg"]}),
                    loc=loc, input=err["input"]))
        raise ValidationError.from_exception_data(exc.title, details) from None


def _unknown(loc: tuple[str | int, ...], value: Any, allowed: list[str],
             plugin: Plugin) -> InitErrorDetails:
    listed = ", ".join(allowed) or "none"
    reason = f"unknown field {loc[-1]!r} for {plugin.name!r} (allowed: {listed})"
    return InitErrorDetails(type=PydanticCustomError("unknown_field", "{reason}",
                                                     {"reason": reason}), loc=loc, input=value)

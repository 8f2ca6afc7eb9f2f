"""``andon connect KIND``: run a plant-protocol connector into an edge runtime.

Each installed connector plug-in (``andon.connectors.plugin``; ``andon connect --list``) is one
command: ``andon connect sparkplug`` is a Sparkplug B 3.0 host application on an MQTT broker,
``andon connect opcua ENDPOINT`` an OPC UA client, ``andon connect historian FILE`` records an
export, ``andon connect uns`` reads UNS topics; a third-party distribution adds its own. The
command's options come from the plug-in's options model. Each reads the site's tag map from the
spec (``--site``) where the protocol has raw names, turns what it receives into canonical
samples, and hands them to the same edge runtime as ``andon edge``: data contracts,
quarantine, recording, windows, scoring and interventions (stored; publishing interventions on
the UNS is ``andon edge``'s job).
"""

from __future__ import annotations

import asyncio
import inspect
import signal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from andon.cli.options import (
    DEFAULT_DB,
    DEFAULT_MODELS,
    DEFAULT_SPEC,
    CreatingDbOpt,
    ModelsOpt,
    SpecOpt,
    option,
)
from andon.cli.terminal import Terminal
from andon.errors import OptionError, PayloadError, PluginError
from andon.settings import SITE, TABLE

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

    from andon.connectors.base import Connector
    from andon.connectors.plugin import ConnectorPlugin
    from andon.edge.stats import EdgeStats
    from andon.namespace.tagmap import TagMap
    from andon.plugins import Installed
    from andon.spec import PlantSpec

__all__ = ["connect_app"]

#: the settings a connector's options may be, by flag (their variables and checks apply)
_SETTINGS = {s.cli_flag: s for s in TABLE}
#: parameters every connector command takes besides its plug-in's options
_COMMON = ("site", "spec", "db", "models_dir")


def _plugins() -> Installed[ConnectorPlugin]:
    # imported here: andon.connectors loads the MQTT client, which other commands do not need
    from andon.connectors.plugin import connector_plugins  # noqa: PLC0415

    return connector_plugins()


class _Connectors(TyperGroup):
    """One command per installed connector plug-in, built when it is asked for.

    (Typer ships its own copy of click, whose classes are private: hence ``Any`` below.)
    """

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted({*super().list_commands(ctx), *_plugins().names()})

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        try:
            plugin = _plugins().get(cmd_name)
        except PluginError as exc:
            raise typer.BadParameter(str(exc), ctx=ctx, param_hint="KIND") from None
        return _command(plugin)


connect_app = typer.Typer(
    cls=_Connectors,
    help="Run a plant-protocol connector (Sparkplug B host, OPC UA client, historian export, "
    "UNS, or a plug-in's) into the edge: raw names resolve through the site's tag map, then "
    "the data contracts and scoring run as for UNS data.",
    no_args_is_help=True,
)

console = Terminal()


@connect_app.callback(invoke_without_command=True)
def connect(
    ctx: typer.Context,
    list_: Annotated[bool, typer.Option(
        "--list", help="List the installed connectors, and plug-ins that failed to load.")]
    = False,
) -> None:
    """Run a plant-protocol connector into the edge."""
    if list_:
        plugins = _plugins()
        for name in plugins.names():
            console.print(f"{name:<12} {plugins.plugins[name].summary} "
                          f"[dim]({plugins.origins[name].distribution})[/]", highlight=False,
                          soft_wrap=True)
        for broken in plugins.broken:
            console.print(f"[red]refused[/]      {broken}", highlight=False, soft_wrap=True)
        raise typer.Exit
    if ctx.invoked_subcommand is None:
        console.print(ctx.get_help())
        raise typer.Exit


def _command(plugin: ConnectorPlugin) -> Any:
    """The ``andon connect NAME`` command of a plug-in: its options, then the common ones."""
    fields: dict[str, FieldInfo] = {} if plugin.config is None else dict(
        plugin.config.model_fields)
    clash = sorted(set(fields) & set(_COMMON))
    unknown = sorted(set(plugin.arguments) - set(fields))
    if clash or unknown:
        what = f"options {clash} clash with the common ones" if clash else (
            f"arguments {unknown} are not options")
        raise typer.BadParameter(f"connector {plugin.name!r} is malformed: {what}",
                                 param_hint="KIND")
    params = [_parameter(name, fields[name], argument=True) for name in plugin.arguments]
    if plugin.tag_map in {"required", "optional"}:  # the SITE setting ("": none given)
        params.append(inspect.Parameter(
            "site", inspect.Parameter.KEYWORD_ONLY, default=SITE.default,
            annotation=Annotated[str, option(SITE, required=plugin.tag_map == "required")]))
    params += [_parameter(name, f) for name, f in fields.items() if name not in plugin.arguments]
    params += [
        inspect.Parameter("spec", inspect.Parameter.KEYWORD_ONLY, annotation=SpecOpt,
                          default=DEFAULT_SPEC),
        inspect.Parameter("db", inspect.Parameter.KEYWORD_ONLY, annotation=CreatingDbOpt,
                          default=DEFAULT_DB),
        inspect.Parameter("models_dir", inspect.Parameter.KEYWORD_ONLY, annotation=ModelsOpt,
                          default=DEFAULT_MODELS),
    ]

    def command(**values: Any) -> None:
        _connect(plugin, values)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = plugin.summary
    one = typer.Typer(add_completion=False)
    one.command(plugin.name)(command)
    return typer.main.get_command(one)


def _parameter(name: str, field: FieldInfo, *, argument: bool = False) -> inspect.Parameter:
    """A Typer parameter for one options field: named after it, its description as help.

    A field that is one of Andon's settings (``--broker``, ``--host-id``, ``--group``...) is
    that setting's option: its ``ANDON_*`` variable works and its value is checked.
    """
    setting = None if argument else _SETTINGS.get(f"--{name.replace('_', '-')}")
    if setting is not None:
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=setting.default,
                                 annotation=Annotated[field.annotation, option(setting)])
    info = (typer.Argument(help=field.description) if argument
            else typer.Option(help=field.description))
    default = inspect.Parameter.empty if field.is_required() else field.default
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[field.annotation, info])


def _hint(plugin: ConnectorPlugin, option: str) -> str:
    """How the command line spells an option: ``ENDPOINT`` or ``--publishing-interval``."""
    if option in plugin.arguments:
        return option.upper()
    return f"--{option.replace('_', '-')}"


def _connect(plugin: ConnectorPlugin, values: dict[str, Any]) -> None:
    """Build the plug-in's connector from the command's values and run it until stopped."""
    from pydantic import ValidationError  # noqa: PLC0415 - keep --help fast

    from andon.connectors.plugin import ConnectorContext  # noqa: PLC0415
    from andon.spec import load_spec  # noqa: PLC0415

    plant = load_spec(values["spec"])
    try:
        options = None if plugin.config is None else plugin.config.model_validate(
            {k: v for k, v in values.items() if k not in _COMMON})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = str(first["loc"][0]) if first["loc"] else ""
        raise typer.BadParameter(str(first["msg"]),
                                 param_hint=_hint(plugin, where) if where else None) from None
    site = values.get("site") or None
    context = ConnectorContext(plant, site, None if site is None else _tag_map(plant, site))
    try:
        connector = plugin.build(options, context)
    except OptionError as exc:
        raise typer.BadParameter(exc.reason, param_hint=_hint(plugin, exc.option)) from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if plugin.describe is not None:
        console.print(plugin.describe(connector, context), highlight=False)
    s = _run(connector, plant, values["db"], values["models_dir"])
    if plugin.report is not None:
        console.print(plugin.report(connector), highlight=False)
    if not s.recorded and not s.duplicates and (s.quarantined or s.rejected):
        # a run that refused everything it was given must not look like a success
        raise PayloadError(_source_name(connector), f"nothing usable: {s.quarantined} "
                           f"quarantined ({s.rejected} undecodable), nothing recorded; "
                           "'andon quarantine list' shows why")


def _tag_map(plant: PlantSpec, site: str) -> TagMap:
    from andon.namespace.tagmap import TagMap  # noqa: PLC0415

    try:
        tagmap = TagMap.of_site(plant, site)
    except KeyError:
        known = ", ".join(s.id for s in plant.sites)
        raise typer.BadParameter(f"no site {site!r} in the spec (sites: {known})",
                                 param_hint="--site") from None
    if not len(tagmap):
        raise typer.BadParameter(f"site {site!r} has no tag map (spec: sites[].tag_map)",
                                 param_hint="--site")
    return tagmap


def _source_name(connector: Connector) -> str:
    """What a connector reads, for a one-line message: its file, or its kind."""
    path = getattr(connector, "path", None)
    return str(path) if path is not None else type(connector).__name__


def _run(connector: Connector, plant: PlantSpec, db: str, models_dir: Path) -> EdgeStats:
    """Run ``connector`` into an edge runtime until SIGINT/SIGTERM (or a finite source ends)."""
    from andon.clock import SystemClock  # noqa: PLC0415
    from andon.edge import build_edge  # noqa: PLC0415
    from andon.edge.runtime import housekeeping  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        edge = build_edge(plant, store, models_dir, clock=SystemClock(),
                    trusted_keys=models_dir.parent / "keys" / "trusted")

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await asyncio.to_thread(edge.reload_models)
            task = asyncio.ensure_future(connector.run(edge, stop))
            try:
                await housekeeping(edge, stop, running=lambda: not task.done())
            finally:
                stop.set()
                try:
                    await task  # a refusal raises here: what was received is written first
                finally:
                    await asyncio.to_thread(partial(edge.write, *edge.take_pending(),
                                                    force=True))

        asyncio.run(main())
        s = edge.stats
        console.print(f"edge: {s.recorded} recorded, {s.quarantined} quarantined ({s.rejected} "
                      f"undecodable), {s.duplicates} duplicates, {s.scored} windows scored, "
                      f"{s.interventions} interventions", highlight=False)
    return s

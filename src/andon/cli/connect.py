"""``andon connect ...``: run a plant-protocol connector into an edge runtime.

``andon connect sparkplug`` is a Sparkplug B 3.0 host application on an MQTT broker;
``andon connect opcua ENDPOINT`` an OPC UA client. Either reads the site's tag map from the
spec (``--site``), turns what it receives into canonical samples, and hands them to the same
edge runtime as ``andon edge``: data contracts, quarantine, recording, windows, scoring and
interventions (stored; publishing interventions on the UNS is ``andon edge``'s job).
"""

from __future__ import annotations

import asyncio
import signal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from andon.cli.options import DEFAULT_DATA, DEFAULT_DB, DEFAULT_SPEC, DbOpt, ModelsOpt, SpecOpt
from andon.spec import load_spec

if TYPE_CHECKING:
    from andon.connectors.base import Connector
    from andon.namespace.tagmap import TagMap
    from andon.spec import PlantSpec

connect_app = typer.Typer(
    help="Run a plant-protocol connector (Sparkplug B host, OPC UA client) into the edge: "
    "raw names resolve through the site's tag map, then the data contracts and scoring run "
    "as for UNS data.",
    no_args_is_help=True,
)

console = Console()

SiteOpt = Annotated[str, typer.Option("--site", help="Site whose tag map names the raw "
                                      "points (spec: sites[].tag_map).")]


@connect_app.command("sparkplug")
def sparkplug(
    site: SiteOpt,
    broker_url: Annotated[str, typer.Option("--broker", help="MQTT broker URL of the Sparkplug "
                                            "infrastructure, mqtt://host:port.")]
    = "mqtt://127.0.0.1:1883",
    host_id: Annotated[str, typer.Option("--host-id", help="Sparkplug host application id "
                                         "(its STATE topic is spBv1.0/STATE/HOST_ID).")]
    = "andon",
    group: Annotated[list[str] | None, typer.Option(
        "--group", help="Only these Sparkplug group ids (repeatable); default: all.")] = None,
    spec: SpecOpt = DEFAULT_SPEC,
    db: DbOpt = DEFAULT_DB,
    models_dir: ModelsOpt = DEFAULT_DATA / "models",
) -> None:
    """Be a Sparkplug B 3.0 host application: births, data, deaths, rebirth requests."""
    from andon.connectors.sparkplug import SparkplugConnector  # noqa: PLC0415

    plant = load_spec(spec)
    connector = SparkplugConnector(broker_url, _tag_map(plant, site), host_id=host_id,
                                   groups=tuple(group or ("+",)))
    console.print(f"Sparkplug host {host_id!r} on {broker_url}, groups "
                  f"{', '.join(connector.groups)}; {len(connector.session.tagmap)} raw names "
                  f"mapped for site {site}", highlight=False)
    _run(connector, plant, db, models_dir)
    s = connector.stats
    console.print(f"host stopped: {s.messages} messages, {s.samples} samples, {s.rejected} "
                  f"rejected, {s.rebirths_requested} rebirth requests, {s.seq_gaps} seq gaps",
                  highlight=False)


@connect_app.command("opcua")
def opcua(
    endpoint: Annotated[str, typer.Argument(help="OPC UA endpoint, opc.tcp://host:4840/path.")],
    site: SiteOpt,
    publishing_interval: Annotated[float, typer.Option(
        help="Subscription publishing interval in milliseconds.")] = 500.0,
    backfill: Annotated[bool, typer.Option(
        help="After a reconnect, read the gap from the server's history.")] = True,
    spec: SpecOpt = DEFAULT_SPEC,
    db: DbOpt = DEFAULT_DB,
    models_dir: ModelsOpt = DEFAULT_DATA / "models",
) -> None:
    """Subscribe to the site's OPC UA node ids; reconnect and back-fill from history."""
    from andon.connectors.opcua import OpcUaConnector  # noqa: PLC0415

    plant = load_spec(spec)
    try:
        connector = OpcUaConnector(endpoint, _tag_map(plant, site),
                                   publishing_interval_ms=publishing_interval, backfill=backfill)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="ENDPOINT") from None
    if not connector.nodes:
        raise typer.BadParameter(f"site {site!r} maps no OPC UA node ids (raw names like "
                                 "ns=2;s=Line1.P101.Vib)", param_hint="--site")
    console.print(f"OPC UA client on {endpoint}: {len(connector.nodes)} nodes", highlight=False)
    _run(connector, plant, db, models_dir)
    s = connector.stats
    console.print(f"client stopped: {s.samples} samples ({s.backfilled} back-filled), "
                  f"{s.rejected} rejected, {s.duplicates} duplicates, {s.connects} connects",
                  highlight=False)


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


def _run(connector: Connector, plant: PlantSpec, db: str, models_dir: Path) -> None:
    """Run ``connector`` into an edge runtime until SIGINT/SIGTERM."""
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
                await task
                await asyncio.to_thread(partial(edge.write, *edge.take_pending(), force=True))

        asyncio.run(main())
        s = edge.stats
        console.print(f"edge: {s.recorded} recorded, {s.quarantined} quarantined ({s.rejected} "
                      f"undecodable), {s.duplicates} duplicates, {s.scored} windows scored, "
                      f"{s.interventions} interventions", highlight=False)


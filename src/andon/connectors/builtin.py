"""The built-in connectors, declared as plug-ins exactly as a third party would declare its own.

``UNS`` (MQTT JSON on the UNS), ``SPARKPLUG`` (Sparkplug B 3.0 host), ``OPCUA`` (OPC UA client)
and ``HISTORIAN`` (CSV / Parquet export), each named by an ``andon.connectors`` entry point in
Andon's ``pyproject.toml``. This module stays light: a connector's protocol library (protobuf,
asyncua, pyarrow) is imported by its builder, when that connector is run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from andon.connectors.plugin import ConnectorContext, ConnectorPlugin
from andon.errors import OptionError
from andon.namespace.topics import PREFIX
from andon.settings import BACKFILL, BROKER, GROUPS, HOST_ID, PUBLISHING_INTERVAL
from andon.text import redact_url

if TYPE_CHECKING:
    from andon.connectors.base import Connector
    from andon.namespace.tagmap import TagMap

__all__ = ["HISTORIAN", "OPCUA", "SPARKPLUG", "UNS"]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _tagmap(context: ConnectorContext) -> TagMap:
    if context.tagmap is None:  # the command makes --site required for these
        raise OptionError("site", "this connector needs a site's tag map (--site)")
    return context.tagmap


# -- MQTT JSON on the UNS -------------------------------------------------------------------
class UnsOptions(_Options):
    """Options of ``andon connect uns``."""

    broker: str = Field(default=BROKER.default,
                        description="MQTT broker URL of the UNS, mqtt://host:port.")
    subscription: list[str] | None = Field(
        default=None, description="Topic filter to read (repeatable); default: every tag of "
        f"every line ({PREFIX}/+/+/+/+/+/+/+).")


def _uns(options: UnsOptions, _context: ConnectorContext) -> Connector:
    from andon.connectors.uns import UnsConnector  # noqa: PLC0415 - loaded when run

    if options.subscription:
        return UnsConnector(options.broker, options.subscription)
    return UnsConnector(options.broker)


def _uns_line(connector: Any, _context: ConnectorContext) -> str:
    return f"UNS on {redact_url(connector.broker_url)}: {', '.join(connector.subscriptions)}"


UNS = ConnectorPlugin(
    name="uns",
    summary="Read canonical samples from UNS topics on an MQTT broker (the edge's own "
    "subscription does this faster; this is the same decoder behind the connector interface).",
    config=UnsOptions, build=_uns, tag_map="none", describe=_uns_line,
)


# -- Sparkplug B host -----------------------------------------------------------------------
class SparkplugOptions(_Options):
    """Options of ``andon connect sparkplug``."""

    broker: str = Field(default=BROKER.default, description="MQTT broker URL of the "
                        "Sparkplug infrastructure, mqtt://host:port.")
    host_id: str = Field(default=HOST_ID.default, description=HOST_ID.help)
    group: list[str] | None = Field(default=GROUPS.default, description=GROUPS.help)


def _sparkplug(options: SparkplugOptions, context: ConnectorContext) -> Connector:
    from andon.connectors.sparkplug import SparkplugConnector  # noqa: PLC0415 - protobuf

    try:
        return SparkplugConnector(options.broker, _tagmap(context), host_id=options.host_id,
                                  groups=tuple(options.group or ("+",)))
    except ValueError as exc:
        raise OptionError("host_id", str(exc)) from None


def _sparkplug_line(connector: Any, context: ConnectorContext) -> str:
    return (f"Sparkplug host {connector.host_id!r} on {redact_url(connector.broker_url)}, groups "
            f"{', '.join(connector.groups)}; {len(connector.session.tagmap)} raw names "
            f"mapped for site {context.site}")


def _sparkplug_report(connector: Any) -> str:
    s = connector.stats
    return (f"host stopped: {s.messages} messages, {s.samples} samples, {s.rejected} "
            f"rejected, {s.rebirths_requested} rebirth requests, {s.seq_gaps} seq gaps")


SPARKPLUG = ConnectorPlugin(
    name="sparkplug",
    summary="Be a Sparkplug B 3.0 host application: births, data, deaths, rebirth requests.",
    config=SparkplugOptions, build=_sparkplug, describe=_sparkplug_line,
    report=_sparkplug_report,
)


# -- OPC UA client --------------------------------------------------------------------------
class OpcUaOptions(_Options):
    """Options of ``andon connect opcua``."""

    endpoint: str = Field(description="OPC UA endpoint, opc.tcp://host:4840/path.")
    publishing_interval: float = Field(default=PUBLISHING_INTERVAL.default, gt=0,
                                       description=PUBLISHING_INTERVAL.help)
    backfill: bool = Field(default=BACKFILL.default, description=BACKFILL.help)
    #: (opcua_security.POLICIES, spelled out here: this module does not import asyncua)
    security_policy: Literal["None", "Basic256Sha256", "Aes128_Sha256_RsaOaep",
                             "Aes256_Sha256_RsaPss"] = Field(
        default="None", description="Security policy of the secure channel (None: no "
        "signing, no encryption); the server must offer it with --security-mode.")
    security_mode: Literal["Sign", "SignAndEncrypt"] = Field(
        default="SignAndEncrypt", description="Message security mode with a security policy "
        "other than None: Sign, or SignAndEncrypt.")
    certificate: Path | None = Field(
        default=None, description="Andon's application instance certificate (PEM or DER); "
        "its URI subject alternative name is the application URI Andon announces. The "
        "server must trust it.")
    private_key: Path | None = Field(
        default=None, description="The certificate's RSA private key (PEM or DER, "
        "unencrypted; keep it mode 600).")
    trust_list: Path | None = Field(
        default=None, description="Folder of trusted certificates (.der, .pem, .crt, .cer): "
        "the server's own, or the CA that issued it; another server is refused.")
    username: str | None = Field(default=None, description="User name of the session "
                                 "(default: anonymous); the password comes from "
                                 "--password-env.")
    password_env: str | None = Field(
        default=None, description="Name of the environment variable holding the user's "
        "password (never the password itself).")


def _opcua(options: OpcUaOptions, context: ConnectorContext) -> Connector:
    from andon.connectors.opcua import OpcUaConnector  # noqa: PLC0415 - asyncua
    from andon.connectors.opcua_security import OpcUaSecurity  # noqa: PLC0415 - asyncua

    if urlsplit(options.endpoint).password is not None:
        raise OptionError("endpoint", "put no password in the endpoint: --username and "
                          "--password-env")
    password = None
    if options.password_env is not None:
        password = os.environ.get(options.password_env)
        if not password:
            raise OptionError("password_env", f"environment variable {options.password_env} "
                              "is not set (it holds the OPC UA user's password)")
    security = OpcUaSecurity(options.security_policy, options.security_mode,
                             options.certificate, options.private_key, options.trust_list,
                             options.username, password)
    try:
        connector = OpcUaConnector(options.endpoint, _tagmap(context),
                                   publishing_interval_ms=options.publishing_interval,
                                   backfill=options.backfill, security=security)
    except ValueError as exc:
        raise OptionError("endpoint", str(exc)) from None
    if not connector.nodes:
        raise OptionError("site", f"site {context.site!r} maps no OPC UA node ids (raw names "
                          "like ns=2;s=Line1.P101.Vib)")
    return connector


def _opcua_line(connector: Any, _context: ConnectorContext) -> str:
    return (f"OPC UA client on {connector.url}, {connector.security.describe()}: "
            f"{len(connector.nodes)} nodes")


def _opcua_report(connector: Any) -> str:
    s = connector.stats
    return (f"client stopped: {s.samples} samples ({s.backfilled} back-filled), "
            f"{s.rejected} rejected, {s.duplicates} duplicates, {s.connects} connects")


OPCUA = ConnectorPlugin(
    name="opcua",
    summary="Subscribe to the site's OPC UA node ids; reconnect and back-fill from history.",
    config=OpcUaOptions, build=_opcua, arguments=("endpoint",), describe=_opcua_line,
    report=_opcua_report,
)


# -- historian export -----------------------------------------------------------------------
class HistorianOptions(_Options):
    """Options of ``andon connect historian``."""

    file: Path = Field(description="Historian export: .csv or .parquet, long (timestamp, tag, "
                       "value[, unit][, quality]) or wide (timestamp + one column per tag).")
    timezone: str | None = Field(default=None, description="IANA time zone (e.g. "
                                 "Europe/Brussels, or UTC) of timestamps written without an "
                                 "offset; without it such timestamps are refused.")
    layout: Literal["auto", "long", "wide"] = Field(default="auto", description="File layout.")
    source: str | None = Field(default=None, description="Producer id given to the samples; "
                               "default historian:FILE.")


def _historian(options: HistorianOptions, context: ConnectorContext) -> Connector:
    from andon.connectors.historian import HistorianExport  # noqa: PLC0415
    from andon.errors import HistorianError  # noqa: PLC0415

    if not options.file.is_file():
        raise OptionError("file", f"{options.file}: no such file")
    try:
        return HistorianExport(options.file, tagmap=context.tagmap, spec=context.spec,
                               timezone=options.timezone, source=options.source,
                               layout=options.layout)
    except HistorianError as exc:
        raise OptionError("timezone", str(exc)) from None


def _historian_line(connector: Any, _context: ConnectorContext) -> str:
    return f"historian export {connector.path}: read to its end, then stop"


def _historian_report(connector: Any) -> str:
    s = connector.stats
    return (f"export read: {s.rows} rows, {s.samples} samples, {s.rejected} rejected, "
            f"{s.out_of_order} out of order")


HISTORIAN = ConnectorPlugin(
    name="historian",
    summary="Record a historian export (CSV / Parquet) through the edge's contracts into the "
    "store, then stop (for a backtest that records nothing: andon replay).",
    config=HistorianOptions, build=_historian, arguments=("file",), tag_map="optional",
    describe=_historian_line, report=_historian_report,
)

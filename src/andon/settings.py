"""Andon's runtime settings: one declared table, loaded defaults < environment < flags.

Each ``Setting`` has a name, a kind (how the text of an environment variable becomes a
value), a default, its environment variable ``ANDON_<NAME>``, the CLI flag that sets it, a
help text and a ``secret`` flag. ``TABLE`` declares every setting once; the ``andon``
commands take their options' flags, defaults and help from it (``andon.cli.options``), and
``docs/reference/settings.md`` is generated from it.

A value is resolved in one place (``resolve``): the default, replaced by the environment
variable when it is set (an empty variable counts as unset), replaced by the flag when one is
given on the command line. Every resolved value is checked before a command starts; a bad one
raises a one-line ``SettingsError`` naming the key, where the value came from (flag,
variable or default) and the value itself, masked for secrets. Secrets are masked in
``repr``/``str`` of ``Settings`` too, and this module never logs anything.

>>> resolve(HEARTBEAT, environ={"ANDON_HEARTBEAT": "2.5"})
2.5
>>> resolve(HEARTBEAT, given=1.0, environ={"ANDON_HEARTBEAT": "2.5"})
1.0
>>> resolve(HEARTBEAT, environ={"ANDON_HEARTBEAT": "-1"})
Traceback (most recent call last):
...
andon.errors.SettingsError: ANDON_HEARTBEAT=-1: must be greater than 0 (setting heartbeat, ...)
>>> load(["token", "seed"], environ={"ANDON_TOKEN": "s3cret"})
Settings(token='***', seed=7)
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Generic, TypeVar
from urllib.parse import urlsplit

from andon.errors import SettingsError
from andon.text import redact_url

__all__ = [
    "BACKFILL",
    "BOOLEAN",
    "BROKER",
    "BROKER_ACL_FILE",
    "BROKER_PASSWORD_FILE",
    "BROKER_PORT",
    "CENTRAL",
    "DATA_DIR",
    "DB",
    "DEMO_SPEED",
    "EDGE_ID",
    "FORWARD",
    "FRAME_ANCESTORS",
    "GROUPS",
    "HEARTBEAT",
    "HOST",
    "HOST_ID",
    "INTEGER",
    "KEYS_DIR",
    "LEDGER",
    "LINES",
    "LIST",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "MISSING",
    "MODELS_DIR",
    "MQTT_CA",
    "MQTT_CERT",
    "MQTT_FEEDBACK",
    "MQTT_KEY",
    "MQTT_PASSWORD",
    "MQTT_USERNAME",
    "NUMBER",
    "OUTBOX",
    "OUTBOX_CAPACITY",
    "PATH",
    "PORT",
    "PUBLISHING_INTERVAL",
    "PULL_EVERY",
    "QOS",
    "RECORD",
    "SCENARIO",
    "SCORING_STALL",
    "SECRET_MASK",
    "SEED",
    "SESSION_TTL",
    "SITE",
    "SPEC",
    "SPEED",
    "TABLE",
    "TEXT",
    "TOKEN",
    "TOKEN_FILE",
    "TRUSTED_KEYS",
    "UPLINK_BROKER",
    "Check",
    "Kind",
    "Setting",
    "Settings",
    "by_name",
    "load",
    "resolve",
]

T_co = TypeVar("T_co", covariant=True)
V = TypeVar("V")

#: how a secret value is shown anywhere (repr, errors, the settings table)
SECRET_MASK: Final = "***"  # noqa: S105 - the mask, not a secret


class _Missing:
    """The type of ``MISSING``: no value given."""

    def __repr__(self) -> str:
        return "MISSING"


#: "not given" (``None`` is a value: an optional setting left unset)
MISSING: Final = _Missing()


# -- kinds: text -> value ----------------------------------------------------------------
@dataclass(frozen=True)
class Kind(Generic[T_co]):
    """How the text of an environment variable becomes a value; ``parse`` raises ValueError."""

    name: str  # as the reference shows it: "number", "path", ...
    parse: Callable[[str], T_co]


def _integer(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError("not an integer") from None


def _number(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise ValueError("not a boolean (true/false, yes/no, on/off, 1/0)")


def _list(text: str) -> list[str]:
    return [item for item in text.replace(",", " ").split() if item]


TEXT: Final = Kind[str]("text", str)
INTEGER: Final = Kind[int]("integer", _integer)
NUMBER: Final = Kind[float]("number", _number)
BOOLEAN: Final = Kind[bool]("boolean", _boolean)
PATH: Final = Kind[Path]("path", Path)
#: repeatable on the command line; comma- or space-separated in the environment
LIST: Final = Kind[list[str]]("list", _list)


# -- checks: value -> reason it is bad, or None -------------------------------------------
@dataclass(frozen=True)
class Check:
    """A rule a value must follow; ``test`` answers the reason it breaks it, or None."""

    rule: str  # as the reference shows it: "> 0", "mqtt://host:port", ...
    test: Callable[[Any], str | None]


def _greater_than(low: float) -> Check:
    return Check(f"> {low:g}", lambda v: None if v > low else f"must be greater than {low:g}")


def _at_least(low: float) -> Check:
    return Check(f">= {low:g}", lambda v: None if v >= low else f"must be at least {low:g}")


def _port(value: int) -> str | None:
    return None if 1 <= value <= 65535 else "must be a TCP port, 1 to 65535"  # noqa: PLR2004


def _url(schemes: frozenset[str], form: str, *, bare: bool = False) -> Check:
    """URLs with one of ``schemes``, a host and a valid port (``bare``: host:port too)."""

    def test(value: str) -> str | None:
        try:
            parts = urlsplit(value if "://" in value or not bare
                             else f"{form.partition(':')[0]}://{value}")
            parts.port  # noqa: B018 - raises ValueError for a port that is not 0..65535
        except ValueError:
            return f"not a URL with a valid port; expected {form}"
        if parts.scheme not in schemes:
            return f"expected {form}"
        if not parts.hostname:
            return f"no host; expected {form}"
        return None

    return Check(form, test)


def _url_list(one: Check) -> Check:
    """Comma-separated values that each pass ``one``; the reason names the bad one."""

    def test(value: str) -> str | None:
        items = [v.strip() for v in value.split(",")]
        if not any(items):
            return f"no URL; expected {one.rule}"
        for item in items:
            if not item:
                return f"an empty entry in the list; expected {one.rule}[,{one.rule}...]"
            reason = one.test(item)
            if reason is not None:
                return f"{item!r}: {reason}" if len(items) > 1 else reason
        return None

    return Check(f"{one.rule}[,{one.rule}...]", test)


def _store_url(value: str) -> str | None:
    scheme, sep, rest = value.partition("://")
    if sep and scheme.lower() in {"sqlite", "sqlite+pysqlite"}:
        if rest.startswith("/") and rest[1:] not in {"", ":memory:"}:
            return None
        return "expected sqlite:///path/to/andon.db (a file: in-memory is not supported)"
    if sep and scheme.lower() in {"postgresql", "postgres", "postgresql+psycopg"}:
        return None
    return "expected sqlite:///path/to/andon.db or postgresql://user@host:5432/db"


def _existing_file(value: Path) -> str | None:
    if value.is_file():
        return None
    return "no such file" if not value.exists() else "not a file"


def _topic_level(value: str) -> str | None:
    """One MQTT topic level: not empty, no separator, wildcard or control character."""
    if not value:
        return "must not be empty"
    bad = sorted({c for c in value if c in "/+#" or ord(c) < 0x20 or ord(c) == 0x7F})  # noqa: PLR2004
    return f"must not contain {' '.join(repr(c) for c in bad)}" if bad else None


def _worker(value: str) -> str | None:
    """``I/N``: worker I of N (``andon.services.central.Partition``)."""
    head, sep, tail = value.strip().partition("/")
    if not (sep and head.isdigit() and tail.isdigit()):
        return "must be I/N, e.g. 2/3 (worker 2 of 3)"
    if not 1 <= int(head) <= int(tail):
        return f"worker number must be 1 to {max(int(tail), 1)}"
    return None


def _scenario(value: str) -> str | None:
    if value in {"demo", "none"}:
        return None
    return None if Path(value).is_file() else "expected demo, none or an existing YAML file"


POSITIVE: Final = _greater_than(0)
NON_NEGATIVE: Final = _at_least(0)
PORT_RANGE: Final = Check("1-65535", _port)
#: ``mqtt://`` (plain TCP) or ``mqtts://`` (TLS): ``andon.connectors.mqtt_security``
MQTT_URL: Final = _url(frozenset({"mqtt", "tcp", "mqtts"}), "mqtt://host:port", bare=True)
#: one broker, or a failover list (``andon.connectors.mqtt``)
MQTT_URLS: Final = _url_list(MQTT_URL)
HTTP_URL: Final = _url(frozenset({"http", "https"}), "http://host:port")
STORE_URL: Final = Check("sqlite:///file or postgresql://...", _store_url)
EXISTING_FILE: Final = Check("an existing file", _existing_file)
TOPIC_LEVEL: Final = Check("no / + # or control characters", _topic_level)
SCENARIO_FILE: Final = Check("demo, none or a YAML file", _scenario)
NOT_EMPTY: Final = Check("not empty", lambda v: None if v.strip() else "must not be empty")
WORKER: Final = Check("I/N, 1 <= I <= N", _worker)
QOS_LEVEL: Final = Check("0 or 1", lambda v: None if v in {0, 1} else "must be 0 or 1")


def _one_of(*choices: str) -> Check:
    """One of ``choices``, as written."""
    words = ", ".join(choices)
    return Check(" | ".join(choices),
                 lambda v: None if v in choices else f"must be one of {words}")


#: what a browser's origin looks like: scheme://host[:port], nothing a CSP could misread
_ORIGIN_FORM = "scheme://host[:port], e.g. https://hmi.plant.example:8088"
_ORIGIN_NETLOC = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
                            r"(:[0-9]{1,5})?")


def _origin(value: str) -> str | None:
    """An http(s) origin: no path, query, user, wildcard or separator."""
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in {"http", "https"}:
        return f"expected an http:// or https:// origin, {_ORIGIN_FORM}"
    if not _ORIGIN_NETLOC.fullmatch(rest):
        return f"expected only {_ORIGIN_FORM} (no path, query, user or wildcard)"
    try:
        urlsplit(value).port  # noqa: B018 - raises ValueError for a port beyond 65535
    except ValueError:
        return f"not a valid port; expected {_ORIGIN_FORM}"
    return None


LOG_LEVELS: Final = ("debug", "info", "warning", "error")
LOG_FORMATS: Final = ("console", "json")
ORIGIN: Final = Check("scheme://host[:port]", _origin)


# -- the setting --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Setting(Generic[V]):
    """One runtime setting: its key, kind, default, help, flag, variable and checks.

    ``flag`` defaults to ``--<name with dashes>``; the environment variable is always
    ``ANDON_<NAME>``. A setting whose default is None (or "" for text) is optional: unset,
    it is that (a command that cannot do without it says so with ``required``).
    """

    name: str
    kind: Kind[V]
    default: V
    help: str
    flag: str = ""
    secret: bool = False
    checks: tuple[Check, ...] = ()

    @property
    def env(self) -> str:
        """The environment variable that sets it: ``ANDON_<NAME>``."""
        return f"ANDON_{self.name.upper()}"

    @property
    def cli_flag(self) -> str:
        """The command-line flag that sets it."""
        return self.flag or f"--{self.name.replace('_', '-')}"

    def show(self, value: object) -> str:
        """``value`` as it may be shown: a secret masked, a URL's password masked."""
        if value is None or value == "":
            return "not set"
        if self.secret:
            return SECRET_MASK
        if isinstance(value, (list, tuple)):
            return ",".join(str(v) for v in value)
        return redact_url(str(value))

    def parse(self, text: str) -> V:
        """The value of the environment variable's ``text``; ``SettingsError`` if unusable."""
        try:
            return self.kind.parse(text)
        except ValueError as exc:
            raise self._error("env", text, str(exc)) from None

    def check(self, value: V, source: str = "flag", *, required: bool = False,
              text: str | None = None) -> V:
        """``value`` if it follows every rule (None or "": unset, fine unless ``required``).

        ``text`` is what the user wrote, shown in the error instead of the parsed value.
        """
        if value is None or value == "":
            if required:
                raise self._error(source, None, "no value")
            return value
        items = value if isinstance(value, (list, tuple)) else [value]
        for rule in self.checks:
            for item in items:
                reason = rule.test(item)
                if reason is not None:
                    raise self._error(source, value if text is None else text, reason)
        return value

    def _error(self, source: str, value: object, reason: str) -> SettingsError:
        shown = "" if value is None else (
            SECRET_MASK if self.secret else shlex.quote(
                redact_url(value) if isinstance(value, str) else self.show(value)))
        return SettingsError(self.name, source, shown, reason, flag=self.cli_flag,
                             env=self.env)


def resolve(setting: Setting[V], *, given: V | _Missing = MISSING,
            default: V | _Missing = MISSING, environ: Mapping[str, str],
            required: bool = False) -> V:
    """The value of ``setting``: ``default`` < its environment variable < ``given``.

    ``default`` replaces the table's (a command for which the setting is optional passes
    None); ``given`` is the command-line value when a flag was given. The result is checked;
    ``required``: None (no value from anywhere) is an error too.
    """
    return _resolve(setting, given, default, environ, required=required)[0]


def _resolve(setting: Setting[V], given: V | _Missing, default: V | _Missing,
             environ: Mapping[str, str], *, required: bool = False) -> tuple[V, str]:
    """``resolve``, also saying where the value came from: flag, env or default."""
    if not isinstance(given, _Missing):
        return setting.check(given, "flag", required=required), "flag"
    text = environ.get(setting.env, "")
    if text:
        value = setting.parse(text)
        return setting.check(value, "env", required=required, text=text), "env"
    value = setting.default if isinstance(default, _Missing) else default
    return setting.check(value, "default", required=required), "default"


# -- the table ----------------------------------------------------------------------------
_DATA = Path("andon-data")
#: the example plant of the checkout (the default spec of every command)
_EXAMPLE_SPEC = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"

SPEC: Final = Setting[Path]("spec", PATH, _EXAMPLE_SPEC, "Plant spec YAML file.",
                            checks=(EXISTING_FILE,))
DB: Final = Setting[str](
    "db", TEXT, f"sqlite:///{_DATA / 'andon.db'}",
    "Store URL: sqlite:///file.db or postgresql://user@host:5432/db (a password in it is "
    "masked when shown).", checks=(STORE_URL,))
DATA_DIR: Final = Setting[Path]("data_dir", PATH, _DATA, "Where the demo keeps its database, "
                                "models, keys and logs (wiped at start).")
MODELS_DIR: Final = Setting[Path]("models_dir", PATH, _DATA / "models",
                                  "Directory of model artifacts.")
KEYS_DIR: Final = Setting[Path]("keys_dir", PATH, _DATA / "keys", "Where signing key pairs "
                                "(NAME.key, NAME.pub) are written.", flag="--dir")
TRUSTED_KEYS: Final = Setting[Path | None](
    "trusted_keys", PATH, None, "Directory of trusted public keys (*.pub); only production "
    "models signed by one of them are served. Default: MODELS_DIR/../keys/trusted.")
BROKER: Final = Setting[str](
    "broker", TEXT, "mqtt://127.0.0.1:1883",
    "MQTT broker URL, mqtt://host:port (mqtts://host:port for TLS, port 8883 by default; "
    "mqtt://user@host:port to log in as user); or several, comma-separated, for failover (the "
    "client connects to the first that answers and, when it loses it, tries it again at once, "
    "then the others in turn: docs/brokers.md).", checks=(MQTT_URLS,))
UPLINK_BROKER: Final = Setting[str | None](
    "uplink_broker", TEXT, None, "MQTT broker of the central side (site -> enterprise), "
    "mqtt://host:port: what the edge sends the central ingest (forwarded samples and events, "
    "interventions, heartbeats) goes there, while it reads samples from and delivers "
    "interventions on --broker (the site's); while the uplink is down it keeps scoring and "
    "queues for the central side. Default: --broker.", checks=(MQTT_URLS,))
MQTT_CA: Final = Setting[Path | None](
    "mqtt_ca", PATH, None, "CA certificates (PEM) that an mqtts:// broker's certificate must "
    "chain to; its host name is checked too. Default: the system's trust store.",
    checks=(EXISTING_FILE,))
MQTT_CERT: Final = Setting[Path | None](
    "mqtt_cert", PATH, None, "Client certificate (PEM) for mqtts:// brokers that require one "
    "(mutual TLS); its key in --mqtt-key or in the same file.", checks=(EXISTING_FILE,))
MQTT_KEY: Final = Setting[Path | None](
    "mqtt_key", PATH, None, "Private key (PEM, unencrypted) of --mqtt-cert.",
    checks=(EXISTING_FILE,))
MQTT_USERNAME: Final = Setting[str | None](
    "mqtt_username", TEXT, None, "User name Andon's MQTT clients log in with; a user in the "
    "broker URL (mqtt://user@host) takes its place for that broker.", checks=(NOT_EMPTY,))
MQTT_PASSWORD: Final = Setting[str | None](
    "mqtt_password", TEXT, None, "Password of the MQTT user; prefer the environment variable "
    "(a flag shows in the process list, and so does a password in the broker URL, which "
    "takes its place for that broker). Never shown.", secret=True, checks=(NOT_EMPTY,))
BROKER_PORT: Final = Setting[int | None](
    "broker_port", INTEGER, None, "Port of the embedded MQTT broker; default 1883 or the next "
    "free one.", flag="--port", checks=(PORT_RANGE,))
BROKER_PASSWORD_FILE: Final = Setting[Path | None](
    "broker_password_file", PATH, None, "Password file of the embedded MQTT broker (user:hash "
    "lines; andon broker-passwd writes them, Mosquitto 2's mosquitto_passwd files are read too): "
    "only its users may connect. Default: anonymous clients (docs/brokers.md).",
    flag="--password-file", checks=(EXISTING_FILE,))
BROKER_ACL_FILE: Final = Setting[Path | None](
    "broker_acl_file", PATH, None, "Topic ACL of the embedded MQTT broker (Mosquitto's acl_file "
    "syntax: user, topic read|write|readwrite, pattern with %u and %c): each client publishes, "
    "subscribes and receives only where it grants. Needs --password-file.",
    flag="--acl-file", checks=(EXISTING_FILE,))
LINES: Final = Setting[list[str] | None](
    "lines", LIST, None, "Only these line ids (repeatable; comma-separated in the "
    "environment); default: all.", flag="--line")
RECORD: Final = Setting[bool]("record", BOOLEAN, True, "Store every received sample.")  # noqa: FBT003
EDGE_ID: Final = Setting[str | None](
    "edge_id", TEXT, None, "Name of this edge on andon/v1/ENT/_andon/edge/EDGE_ID/...; "
    "default: edge-LINES (or edge-all).", checks=(TOPIC_LEVEL,))
OUTBOX: Final = Setting[Path | None](
    "outbox", PATH, None, "Store-and-forward outbox file (SQLite); default: "
    "MODELS_DIR/../EDGE_ID-outbox.db.")
OUTBOX_CAPACITY: Final = Setting[int](
    "outbox_capacity", INTEGER, 10_000, "Outbox bound in items; when full the oldest "
    "non-intervention items are dropped (counted), interventions never.", checks=(POSITIVE,))
HEARTBEAT: Final = Setting[float]("heartbeat", NUMBER, 10.0, "Seconds between heartbeats.",
                                  checks=(POSITIVE,))
SCORING_STALL: Final = Setting[float](
    "scoring_stall", NUMBER, 60.0, "Score on a worker thread and restart it when one window "
    "takes longer than this many seconds (a hung model); 0 = score inline, no watchdog.",
    checks=(NON_NEGATIVE,))
CENTRAL: Final = Setting[str | None](
    "central", TEXT, None, "Central Andon URL (http://host:port) to pull production models "
    "from into MODELS_DIR (the cache; verified before use). Down at start: the cache serves.",
    checks=(HTTP_URL,))
TOKEN_FILE: Final = Setting[Path | None](
    "token_file", PATH, None, "File holding the API token for --central (a viewer token).",
    checks=(EXISTING_FILE,))
TOKEN: Final = Setting[str | None](
    "token", TEXT, None, "The API token for --central itself, instead of --token-file; "
    "prefer the environment variable (a flag shows in the process list). Never shown.",
    secret=True, checks=(NOT_EMPTY,))
PULL_EVERY: Final = Setting[float]("pull_every", NUMBER, 60.0,
                                   "Seconds between model pulls from --central.",
                                   checks=(_at_least(1.0),))
FORWARD: Final = Setting[bool](
    "forward", BOOLEAN, False,  # noqa: FBT003
    "Forward recorded samples and events to the central side through the outbox "
    "(andon serve --broker ingests them).")
HOST: Final = Setting[str]("host", TEXT, "127.0.0.1", "Interface the HTTP server listens on.",
                           checks=(NOT_EMPTY,))
PORT: Final = Setting[int]("port", INTEGER, 8080, "HTTP port of the inbox and the API.",
                           checks=(PORT_RANGE,))
SESSION_TTL: Final = Setting[float]("session_ttl", NUMBER, 12 * 3600.0,
                                    "Seconds a browser session lasts after signing in.",
                                    checks=(POSITIVE,))
TLS_CERT: Final = Setting[Path | None](
    "tls_cert", PATH, None, "Serve HTTPS with this certificate (PEM, the chain after it); "
    "needs --tls-key. Session cookies are then Secure.", checks=(EXISTING_FILE,))
TLS_KEY: Final = Setting[Path | None](
    "tls_key", PATH, None, "The private key (PEM) of --tls-cert; keep it mode 0600.",
    checks=(EXISTING_FILE,))
TRUSTED_PROXIES: Final = Setting[str](
    "trusted_proxies", TEXT, "", "Comma-separated addresses of reverse proxies whose "
    "X-Forwarded-For and X-Forwarded-Proto are believed (a proxy ending TLS in front of "
    "Andon: cookies are Secure when it says https); empty: none.")
FRAME_ANCESTORS: Final = Setting[list[str] | None](
    "frame_ancestors", LIST, None, "Origins allowed to show Andon's pages in a frame, e.g. an "
    "HMI (https://hmi.plant.example:8088; repeatable, comma-separated in the environment): "
    "pages then answer Content-Security-Policy frame-ancestors 'self' and these, without "
    "X-Frame-Options. Default: no framing at all (X-Frame-Options DENY).",
    flag="--frame-ancestor", checks=(ORIGIN,))
LOG_LEVEL: Final = Setting[str](
    "log_level", TEXT, "info", "Lowest level of log line written (debug, info, warning or "
    "error) to standard error; libraries' own lines from warning up, all with debug.",
    checks=(_one_of(*LOG_LEVELS),))
LOG_FORMAT: Final = Setting[str](
    "log_format", TEXT, "console", "How log lines look: console (for people) or json (one "
    "JSON object per line, for a log collector); secrets are masked in both.",
    checks=(_one_of(*LOG_FORMATS),))
AUDIT_KEY: Final = Setting[Path | None](
    "audit_key", PATH, None, "Ed25519 private key (PEM, andon registry keygen) with which the "
    "server signs the audit trail's newest entry periodically (andon audit verify then sees "
    "the newest entries deleted); keep it readable by the server only.",
    checks=(EXISTING_FILE,))
AUDIT_ANCHOR_EVERY: Final = Setting[float](
    "audit_anchor_every", NUMBER, 3600.0, "Seconds between two anchors of the audit trail "
    "(with --audit-key).", checks=(POSITIVE,))
LEDGER: Final = Setting[Path | None]("ledger", PATH, None, "The central ingest's order ledger "
                                     "(SQLite); default: next to MODELS_DIR.")
INGEST_WORKER: Final = Setting[str](
    "ingest_worker", TEXT, "1/1", "This central ingest's share of the edges, I/N: worker I of "
    "N handles the outboxes whose epoch hashes to it, with its own persistent session and "
    "ledger (N workers on one PostgreSQL store, no duplicates: docs/brokers.md).",
    flag="--worker", checks=(WORKER,))
INGEST: Final = Setting[bool](
    "ingest", BOOLEAN, True,  # noqa: FBT003
    "With --broker, also run the central ingest; --no-ingest leaves it to andon ingest "
    "workers (this process then serves the API, the sinks and escalation only).")
MQTT_FEEDBACK: Final = Setting[bool](
    "mqtt_feedback", BOOLEAN, False,  # noqa: FBT003
    "With --broker, also take feedback from panels on andon/v1/ENT/_andon/feedback/+. The "
    "broker is the only check of who sends it (the 'by' person is not authenticated): turn it "
    "on only with broker ACLs that let each panel publish on its own feedback topic alone.")
SPEED: Final = Setting[float]("speed", NUMBER, 60.0, "Simulated seconds per wall second; 0 = "
                              "as fast as possible.", checks=(NON_NEGATIVE,))
DEMO_SPEED: Final = Setting[float]("demo_speed", NUMBER, 900.0, "Simulated seconds per wall "
                                   "second of the demo.", flag="--speed", checks=(POSITIVE,))
SEED: Final = Setting[int]("seed", INTEGER, 7, "Simulator seed; same seed, same data.")
QOS: Final = Setting[int]("qos", INTEGER, 0, "MQTT QoS the simulator publishes with: 0 counts "
                          "what was written while connected (the rest is reported as not "
                          "sent); 1 counts what the broker acknowledged and holds what is made "
                          "while the broker is unreachable until it is back.",
                          checks=(QOS_LEVEL,))
SCENARIO: Final = Setting[str]("scenario", TEXT, "none", "Fault scenario: 'demo', 'none' or a "
                               "YAML file.", checks=(SCENARIO_FILE,))
SITE: Final = Setting[str]("site", TEXT, "", "Site whose tag map names the raw points "
                                  "(spec: sites[].tag_map).")
HOST_ID: Final = Setting[str]("host_id", TEXT, "andon", "Sparkplug host application id (its "
                              "STATE topic is spBv1.0/STATE/HOST_ID).", checks=(TOPIC_LEVEL,))
GROUPS: Final = Setting[list[str] | None](
    "groups", LIST, None, "Only these Sparkplug group ids (repeatable; comma-separated in the "
    "environment); default: all.", flag="--group", checks=(TOPIC_LEVEL,))
PUBLISHING_INTERVAL: Final = Setting[float]("publishing_interval", NUMBER, 500.0,
                                            "OPC UA subscription publishing interval in "
                                            "milliseconds.", checks=(POSITIVE,))
BACKFILL: Final = Setting[bool]("backfill", BOOLEAN, True,  # noqa: FBT003
                                "After an OPC UA reconnect, read the gap from the server's "
                                "history.")

#: every setting, once; in the order the reference lists them
TABLE: Final[tuple[Setting[Any], ...]] = (
    SPEC, DB, DATA_DIR, MODELS_DIR, KEYS_DIR, TRUSTED_KEYS, BROKER, UPLINK_BROKER, MQTT_CA,
    MQTT_CERT, MQTT_KEY, MQTT_USERNAME, MQTT_PASSWORD, BROKER_PORT,
    BROKER_PASSWORD_FILE, BROKER_ACL_FILE,
    LINES, RECORD, EDGE_ID, OUTBOX, OUTBOX_CAPACITY, HEARTBEAT, SCORING_STALL, CENTRAL,
    TOKEN_FILE, TOKEN, PULL_EVERY, FORWARD, HOST, PORT, SESSION_TTL, TLS_CERT, TLS_KEY,
    TRUSTED_PROXIES, FRAME_ANCESTORS, AUDIT_KEY, AUDIT_ANCHOR_EVERY, LEDGER, INGEST_WORKER,
    INGEST, MQTT_FEEDBACK, SPEED,
    DEMO_SPEED, SEED, QOS, SCENARIO, SITE, HOST_ID, GROUPS, PUBLISHING_INTERVAL, BACKFILL,
    LOG_LEVEL, LOG_FORMAT,
)
_BY_NAME: Final = {s.name: s for s in TABLE}


def by_name(name: str) -> Setting[Any]:
    """The setting called ``name``; KeyError naming the known ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no setting {name!r} (known: {', '.join(_BY_NAME)})") from None


# -- loaded settings ----------------------------------------------------------------------
class Settings(Mapping[str, Any]):
    """Resolved values by setting name, with where each came from; secrets masked when shown."""

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str]) -> None:
        self._values = dict(values)
        self._sources = dict(sources)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def source(self, name: str) -> str:
        """Where the value of ``name`` came from: ``flag``, ``env`` or ``default``."""
        return self._sources[name]

    def shown(self, name: str) -> str:
        """The value of ``name`` as it may be shown (secrets masked)."""
        return _BY_NAME[name].show(self._values[name])

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={self._shown_repr(n)}" for n in self._values)
        return f"Settings({inner})"

    __str__ = __repr__

    def _shown_repr(self, name: str) -> str:
        value = self._values[name]
        setting = _BY_NAME[name]
        if setting.secret and value is not None:
            return repr(SECRET_MASK)
        if isinstance(value, str):
            return repr(redact_url(value))
        return repr(value)


def load(names: Iterable[str] | None = None, *, given: Mapping[str, Any] | None = None,
         environ: Mapping[str, str]) -> Settings:
    """Resolve the named settings (default: all of ``TABLE``); ``given`` are explicit flags.

    Every value is checked; the first bad one raises ``SettingsError``.
    """
    given = given or {}
    chosen = [by_name(n) for n in names] if names is not None else list(TABLE)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for s in chosen:
        values[s.name], sources[s.name] = _resolve(s, given.get(s.name, MISSING), MISSING,
                                                   environ)
    return Settings(values, sources)

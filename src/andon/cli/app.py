"""``andon`` commands (Typer + Rich)."""

from __future__ import annotations

import contextlib
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from andon.cli.errors import error_line
from andon.cli.group import RootGroup, lazy_group, lazy_module
from andon.cli.interventions import (
    ivs_ack,
    ivs_defer,
    ivs_dismiss,
    ivs_done,
    ivs_outcome,
    ivs_shelve,
    ivs_start,
)
from andon.cli.options import (
    DEFAULT_BROKER,
    DEFAULT_DB,
    DEFAULT_MODELS,
    DEFAULT_SPEC,
    WHEN_HELP,
    BrokerOpt,
    CreatingDbOpt,
    DbOpt,
    ModelsOpt,
    SpecOpt,
    option,
    parse_time,
    refuse_missing_db,
)
from andon.cli.plugins import plugins
from andon.cli.replay import replay
from andon.cli.root import root_options
from andon.cli.settings import show_settings
from andon.cli.signing import spec_apply, spec_sign
from andon.cli.terminal import Terminal
from andon.cli.users import (
    users_delete,
    users_disable,
    users_enable,
    users_list,
    users_passwd,
    users_revoke,
    users_tokens,
)
from andon.settings import (
    AUDIT_ANCHOR_EVERY,
    AUDIT_KEY,
    BROKER,
    BROKER_ACL_FILE,
    BROKER_PASSWORD_FILE,
    BROKER_PORT,
    CENTRAL,
    DATA_DIR,
    DB,
    DEMO_SPEED,
    EDGE_ID,
    FORWARD,
    FRAME_ANCESTORS,
    HEARTBEAT,
    HOST,
    INGEST,
    INGEST_WORKER,
    LEDGER,
    LINES,
    MQTT_FEEDBACK,
    OUTBOX,
    OUTBOX_CAPACITY,
    PORT,
    PULL_EVERY,
    QOS,
    RECORD,
    SCENARIO,
    SCORING_STALL,
    SEED,
    SESSION_TTL,
    SPEED,
    TLS_CERT,
    TLS_KEY,
    TOKEN,
    TOKEN_FILE,
    TRUSTED_KEYS,
    TRUSTED_PROXIES,
    UPLINK_BROKER,
)
from andon.text import printable, redact_url

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from andon.edge import Edge
    from andon.edge.pull import PullResult
    from andon.services.central import HttpsOptions
    from andon.spec import PlantSpec

if not TYPE_CHECKING:  # loaded when a command first uses it: not for --help (~30 ms)
    asyncio = lazy_module("asyncio")

app = typer.Typer(
    name="andon",
    help="Andon turns an industrial AI model into an operated production system: plant data "
    "in over a Unified Namespace, a concrete owned action out, feedback back.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
    # AndonError / OSError -> one "error:" line and the error's exit code; the groups below
    # built only when used (fast --help); deprecated option spellings; --create (cli/group.py)
    cls=RootGroup,
)
# --version, --log-level, --log-format, --mqtt-ca, ...: options of every command (andon.cli.root)
app.callback()(root_options)
spec_app = typer.Typer(help="Check and show plant spec files.", no_args_is_help=True)
users_app = typer.Typer(help="Manage logins and API tokens.", no_args_is_help=True)
interventions_app = typer.Typer(help="List interventions and answer them (acknowledge, start, "
                                "done, defer, dismiss, shelve, outcome).", no_args_is_help=True)
# the command groups: each built only when used, so --help stays fast (cli/group.py)
lazy_group("spec", "andon.cli.app:spec_app")
lazy_group("users", "andon.cli.app:users_app")
lazy_group("interventions", "andon.cli.app:interventions_app")
# the pre-0.2 name of the same group, kept for one release (hidden from --help; see CHANGELOG)
lazy_group("recommendations", "andon.cli.app:interventions_app", hidden=True, deprecated=True,
           help="The pre-0.2 name of 'andon interventions' (removed in 0.3).")
lazy_group("registry", "andon.cli.registry:registry_app")
lazy_group("quarantine", "andon.cli.quarantine:quarantine_app")
lazy_group("connect", "andon.cli.connect:connect_app")
lazy_group("import", "andon.cli.replay:import_app")
lazy_group("dq", "andon.cli.dq:dq_app")
lazy_group("drift", "andon.cli.drift:drift_app")
lazy_group("audit", "andon.cli.audit:audit_app")
lazy_group("report", "andon.cli.report:report_app")
lazy_group("rollout", "andon.cli.rollout:rollout_app")
lazy_group("labels", "andon.cli.labels:labels_app")
lazy_group("deliveries", "andon.cli.deliveries:deliveries_app")
lazy_group("triage", "andon.cli.triage:triage_app")
lazy_group("db", "andon.cli.db:db_app")
lazy_group("evaluate", "andon.cli.evaluate:evaluate_app")

console = Terminal()


def load_spec(path: Path) -> PlantSpec:
    """``andon.spec.load_spec``, imported when a command runs (``--help`` stays fast)."""
    from andon.spec import load_spec as load  # noqa: PLC0415 - pydantic and pint: ~0.3 s

    return load(path)


def main() -> None:
    """Entry point: run the CLI (``AndonGroup`` turns errors into lines and exit codes)."""
    app(prog_name="andon")


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


# -- spec ---------------------------------------------------------------------------------
@spec_app.command("check")
def spec_check(path: Annotated[Path, typer.Argument(help="Spec file to validate.")]) -> None:
    """Validate a plant spec; print one line per problem (file:line field: reason)."""
    spec = load_spec(path)
    console.print(f"[green]ok[/] {path}: {len(spec.sites)} sites, {len(spec.lines())} lines, "
                  f"{len(spec.assets())} assets, {spec.tag_count()} tags, "
                  f"{len(spec.use_cases)} use cases, {len(spec.people)} people, "
                  f"{sum(len(s.tag_map) for s in spec.sites)} raw names in tag maps")


@spec_app.command("show")
def spec_show(path: Annotated[Path, typer.Argument(help="Spec file.")]) -> None:
    """Show the plant hierarchy as a table."""
    spec = load_spec(path)
    table = Table(title=Text(f"{spec.enterprise.name} ({path})"))
    for col in ("site", "area", "line", "asset", "kind", "tags"):
        table.add_column(col)
    for s, a, ln, x in spec.assets():  # Text: "[degC]" is a unit, not Rich markup
        table.add_row(s.id, a.id, ln.id, Text(f"{x.id} {x.name}"), Text(x.kind),
                      Text(", ".join(f"{t.name} [{t.unit}]" for t in x.tags)))
    console.print(table)


# -- broker -------------------------------------------------------------------------------
#: where ``andon broker-passwd`` takes the new password from, instead of asking for it
BROKER_PASSWORD_ENV = "ANDON_BROKER_NEW_PASSWORD"  # noqa: S105 - a variable's name


@app.command()
def broker(
    port: Annotated[int | None, option(BROKER_PORT)] = BROKER_PORT.default,
    password_file: Annotated[Path | None, option(BROKER_PASSWORD_FILE)]
    = BROKER_PASSWORD_FILE.default,
    acl_file: Annotated[Path | None, option(BROKER_ACL_FILE)] = BROKER_ACL_FILE.default,
) -> None:
    """Run the embedded MQTT broker on 127.0.0.1 until Ctrl-C.

    Anonymous by default; with --password-file only its users connect, with --acl-file each
    only where the ACL grants (docs/brokers.md). andon broker-passwd FILE USER adds a login.
    """
    from andon.connectors.broker import EmbeddedBroker  # noqa: PLC0415

    async def run() -> None:
        stop = _stop_event()
        embedded = EmbeddedBroker(port, password_file=password_file, acl_file=acl_file)
        async with embedded as b:
            console.print(f"embedded broker listening on [bold]{b.url}[/]", highlight=False)
            if b.logins is not None:
                console.print(f"logins: {len(b.logins.hashes)} user(s) from {password_file}; "
                              "anonymous clients refused", highlight=False)
            if b.acl is not None:
                console.print(f"topic ACL: {acl_file}", highlight=False)
            await stop.wait()

    asyncio.run(run())


@app.command("broker-passwd")
def broker_passwd(
    file: Annotated[Path, typer.Argument(help="Password file (created if missing).",
                                         dir_okay=False)],
    user: Annotated[str, typer.Argument(help="User name of the login.")],
) -> None:
    """Add a login to the embedded broker's password file, or set its password (argon2id).

    The password is asked for (hidden, twice), or taken from ANDON_BROKER_NEW_PASSWORD; it
    must pass Andon's password policy. Other lines of the file stay as they are.
    """
    from andon.auth.passwords import password_problems  # noqa: PLC0415
    from andon.connectors.broker_passwd import set_password, username_problem  # noqa: PLC0415
    from andon.errors import PasswordRejected  # noqa: PLC0415

    problem = username_problem(user)
    if problem is not None:
        raise typer.BadParameter(problem, param_hint="USER")
    password = os.environ.get(BROKER_PASSWORD_ENV) or typer.prompt(
        f"Password of {user}", hide_input=True, confirmation_prompt=True)
    problems = password_problems(password, username=user)
    if problems:
        raise PasswordRejected(user, problems)
    added = set_password(file, user, password)
    console.print(f"{'added' if added else 'set the password of'} user {printable(user)} "
                  f"{'to' if added else 'in'} {file}", highlight=False)


# -- simulate -----------------------------------------------------------------------------
@app.command()
def simulate(
    spec: SpecOpt = DEFAULT_SPEC,
    broker_url: BrokerOpt = DEFAULT_BROKER,
    speed: Annotated[float, option(SPEED)] = SPEED.default,
    seed: Annotated[int, option(SEED)] = SEED.default,
    qos: Annotated[int, option(QOS)] = QOS.default,
    start: Annotated[str | None, typer.Option(help="Simulated start time (ISO 8601, UTC if no "
                                              "offset); default: this hour.")] = None,
    hours: Annotated[float | None, typer.Option(min=0.0, help="Stop after this many simulated "
                                                "hours.")] = None,
    scenario: Annotated[str, option(SCENARIO)] = SCENARIO.default,
    line: Annotated[list[str] | None, option(LINES)] = LINES.default,
    publish_from: Annotated[str | None, typer.Option(help="Simulate silently up to this time "
                                                     "(ISO 8601), then publish; for continuing "
                                                     "a backfilled history.")] = None,
    backfill: Annotated[bool, typer.Option(
        "--backfill", help="Write the period --since .. --until straight to the store (--db) "
        "through the edge's contracts and quarantine, instead of publishing; running it again "
        "adds nothing.")] = False,
    since: Annotated[str | None, typer.Option(
        "--since", help="With --backfill: start of the period; default 14 days before "
        "--until. " + WHEN_HELP)] = None,
    until: Annotated[str | None, typer.Option(
        "--until", help="With --backfill: end of the period; default now.")] = None,
    score: Annotated[bool, typer.Option(
        "--score", help="With --backfill: also score the windows with the production models "
        "and raise interventions, as the edge does (a dry run of a fault scenario).")] = False,
    db: CreatingDbOpt = DEFAULT_DB,
    models_dir: ModelsOpt = DEFAULT_MODELS,
    trusted_keys: Annotated[Path | None, option(TRUSTED_KEYS)] = TRUSTED_KEYS.default,
) -> None:
    """Publish a seeded simulation of every tag of the spec onto the UNS (or --backfill it).

    Tags of asset kinds the simulator has no physics for behave as their declaration says
    (range, unit, enum, counter, max_rate, stuck_after); the fault scenario format is in
    docs/simulator.md.
    """
    from andon.simulator import Scenario  # noqa: PLC0415

    plant = load_spec(spec)
    scen = (Scenario.demo() if scenario == "demo" else Scenario() if scenario == "none"
            else Scenario.from_file(Path(scenario)))
    if backfill or score:
        from andon.cli.backfill import backfill as run_backfill  # noqa: PLC0415

        if not backfill:
            raise typer.BadParameter("--score needs --backfill", param_hint="--score")
        run_backfill(plant, scen, db=db, since=since, until=until, seed=seed,
                     lines=_lines(plant, line), score=score, models_dir=models_dir,
                     trusted_keys=trusted_keys)
        return
    from andon.connectors.mqtt import MqttClient  # noqa: PLC0415
    from andon.services.simulate import Publisher, publish_simulation  # noqa: PLC0415
    from andon.simulator import PlantSimulator  # noqa: PLC0415

    t0 = _parse_start(start)
    sim = PlantSimulator(plant, seed=seed, start=t0, scenario=scen, lines=_lines(plant, line))
    end = t0 + timedelta(hours=hours) if hours is not None else None
    if publish_from is not None:
        for _ in sim.run_until(_parse_start(publish_from)):
            pass

    async def run() -> None:
        stop = _stop_event()
        client = MqttClient(broker_url, f"andon-sim-{seed}")
        await client.connect()
        console.print(f"simulating {plant.tag_count()} tags from {sim.now.isoformat()} at "
                      f"{speed:g}x onto {redact_url(broker_url)} ({len(scen.faults)} faults)",
                      highlight=False)
        publisher = Publisher(client, qos)
        await publish_simulation(sim, publisher, speed=speed or None, stop=stop, until=end)
        if qos:  # what is in flight or held still goes out, if the broker lets it (bounded)
            await publisher.drain(10.0 if not stop.is_set() else 2.0)
        await client.disconnect()
        console.print(f"{publisher.summary()}, simulated up to {sim.now.isoformat()}",
                      highlight=False)

    asyncio.run(run())


def _lines(plant: PlantSpec, line: list[str] | None) -> set[str] | None:
    """The ``--line`` ids as a set (None: every line); an id the spec lacks is refused."""
    if not line:
        return None
    known = [ln.id for _site, _area, ln in plant.lines()]
    unknown = [x for x in line if x not in known]
    if unknown:
        raise typer.BadParameter(f"no line {unknown[0]!r} in the spec (lines: "
                                 f"{', '.join(known)})", param_hint="--line")
    return set(line)


def _parse_start(start: str | None) -> datetime:
    if start is None:
        return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    try:
        t = datetime.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter(f"{start!r} is not an ISO 8601 time",
                                 param_hint="--start") from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


# -- edge ---------------------------------------------------------------------------------
@app.command()
def edge(
    spec: SpecOpt = DEFAULT_SPEC,
    db: CreatingDbOpt = DEFAULT_DB,
    models_dir: ModelsOpt = DEFAULT_MODELS,
    broker_url: BrokerOpt = DEFAULT_BROKER,
    line: Annotated[list[str] | None, option(LINES)] = LINES.default,
    record: Annotated[bool, option(RECORD)] = RECORD.default,
    trusted_keys: Annotated[Path | None, option(TRUSTED_KEYS)] = TRUSTED_KEYS.default,
    edge_id: Annotated[str | None, option(EDGE_ID)] = EDGE_ID.default,
    outbox: Annotated[Path | None, option(OUTBOX)] = OUTBOX.default,
    outbox_capacity: Annotated[int, option(OUTBOX_CAPACITY)] = OUTBOX_CAPACITY.default,
    heartbeat: Annotated[float, option(HEARTBEAT)] = HEARTBEAT.default,
    scoring_stall: Annotated[float, option(SCORING_STALL)] = SCORING_STALL.default,
    central: Annotated[str | None, option(CENTRAL)] = CENTRAL.default,
    token_file: Annotated[Path | None, option(TOKEN_FILE)] = TOKEN_FILE.default,
    token: Annotated[str | None, option(TOKEN)] = TOKEN.default,
    pull_every_s: Annotated[float, option(PULL_EVERY)] = PULL_EVERY.default,
    forward: Annotated[bool, option(FORWARD)] = FORWARD.default,
    uplink_broker: Annotated[str | None, option(UPLINK_BROKER)] = UPLINK_BROKER.default,
) -> None:
    """Run the edge: subscribe to the lines, score windows, publish and store interventions.

    It serves, per use case, the production model version whose signature verifies against
    the trusted keys; anything else is refused (kept as a model_refused event). What it
    publishes goes through a durable outbox, so a broker outage loses nothing: it keeps
    scoring, buffers, and replays in order once the broker is back.
    """
    from andon.clock import SystemClock  # noqa: PLC0415
    from andon.edge import (  # noqa: PLC0415
        Outbox,
        build_edge,
        config_hash,
        default_edge_id,
        run_edge,
    )
    from andon.store import open_store  # noqa: PLC0415

    plant = load_spec(spec)
    lines = _lines(plant, line)
    api_token = _token(central, token, token_file)  # before anything starts
    store = open_store(db)
    keys = trusted_keys if trusted_keys is not None else models_dir.parent / "keys" / "trusted"
    runtime = build_edge(plant, store, models_dir, clock=SystemClock(), trusted_keys=keys,
                         lines=lines, record=record, write_behind=True)
    name = edge_id or default_edge_id(runtime)
    box_path = outbox or models_dir.parent / f"{name}-outbox.db"
    box = Outbox(box_path, capacity=outbox_capacity)
    # with a separate uplink broker, the interventions for the site's UNS have their own outbox
    split = uplink_broker is not None and uplink_broker != broker_url
    site_box = (Outbox(box_path.with_name(f"{box_path.stem}-site{box_path.suffix}"),
                       capacity=outbox_capacity) if split else None)
    digest = config_hash(spec.read_text(encoding="utf-8"), {
        "lines": sorted(line or []), "record": record, "edge_id": name,
        "heartbeat": heartbeat, "outbox_capacity": outbox_capacity,
        "scoring_stall": scoring_stall, "central": central, "forward": forward,
        "uplink_broker": uplink_broker})
    pull = _edge_pull(runtime, central, api_token, keys)

    async def run() -> None:
        stop = _stop_event()
        console.print(f"edge watching {len(runtime.watched_assets())} assets on "
                      f"{', '.join(runtime.subscriptions())} via {redact_url(broker_url)}"
                      + (f" (uplink to the central side via {redact_url(uplink_broker)})"
                         if uplink_broker is not None and split else "")
                      + f"; trusted keys {keys}", highlight=False)
        pulling = None
        if pull is not None:
            from andon.edge.pull import pull_every  # noqa: PLC0415
            await asyncio.to_thread(pull)
            pulling = asyncio.ensure_future(pull_every(pull, stop, pull_every_s))
        await run_edge(runtime, broker_url, stop, edge_id=name, outbox=box,
                       heartbeat_s=heartbeat, config_hash=digest,
                       scoring_stall_s=scoring_stall or None, forward=forward,
                       uplink_url=uplink_broker, site_outbox=site_box)
        if pulling is not None:
            await pulling

    try:
        asyncio.run(run())
    finally:
        s = runtime.stats
        console.print(f"edge stopped: {s.received} received, {s.rejected} rejected, "
                      f"{s.recorded} recorded, {s.scored} windows scored, "
                      f"{s.interventions} interventions; {s.link.buffer_depth} items left "
                      f"in the outbox", highlight=False)
        if s.store.failures:
            console.print(f"{s.store.failures} store writes failed and were retried; "
                          f"{s.store.backlog} items not written, dropped {s.store.dropped or 0}"
                          f" (last error: {s.store.last_error})", highlight=False)
        if s.failed:
            console.print(f"[red]{s.failed} messages failed on an Andon bug[/red] (logged with "
                          "their topics as 'message handling failed'; please report it)")
        box.close()
        if site_box is not None:
            site_box.close()
        store.close()


def _token(central: str | None, token: str | None, token_file: Path | None) -> str:
    """The API token for ``--central``: ``--token`` (ANDON_TOKEN), else the token file's."""
    if central is None:
        return ""
    if token is not None:
        return token.strip()
    if token_file is None:
        raise typer.BadParameter("--central needs --token-file or ANDON_TOKEN (an API token)",
                                 param_hint="--central")
    try:
        text = token_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a text file"
        raise typer.BadParameter(f"{token_file}: cannot read the token file ({reason})",
                                 param_hint="--token-file") from None
    if not text:
        raise typer.BadParameter(f"{token_file}: the token file is empty",
                                 param_hint="--token-file")
    return text


def _edge_pull(runtime: Edge, central: str | None, token: str,
               keys: Path) -> Callable[[], PullResult] | None:
    """The model pull of ``andon edge --central`` (None without it); prints its outcome."""
    if central is None:
        return None
    from andon.edge.pull import pull_models  # noqa: PLC0415

    names = sorted({uc.model for uc in runtime.spec.use_cases})

    def pull() -> PullResult:
        result = pull_models(central, token, names, runtime.models.models_dir, keys,
                             now=runtime.clock.now(), record=runtime.keep_event)
        for label in result.pulled:
            console.print(f"pulled {label} from {central} (signature verified)", highlight=False)
        for label, reason in result.refused:
            error_line(f"refused {label}: {reason}")
        if result.offline:
            console.print(f"no model pull ({result.offline}); serving from the cache",
                          highlight=False)
        return result

    return pull


# -- status -------------------------------------------------------------------------------
@app.command()
def status(
    broker_url: Annotated[str | None, option(
        BROKER, usage="Read the edges' retained state and heartbeat topics on it instead of "
        "the store.")] = None,
    db: Annotated[str, option(DB, existing=False, usage="Read without --broker; it must "
                              "exist.")] = DEFAULT_DB,
    enterprise: Annotated[str, typer.Option(help="Enterprise id; '+' = every one (broker "
                                            "only).")] = "+",
) -> None:
    """Show every edge: link state, outbox depth, dropped items, models, last heartbeat.

    An edge whose last heartbeat is older than three heartbeat intervals is marked stale.
    """
    from andon.edge.status import (  # noqa: PLC0415
        edge_statuses_from_broker,
        edge_statuses_from_store,
    )

    if broker_url is not None:
        edges = asyncio.run(edge_statuses_from_broker(broker_url, enterprise))
        source = redact_url(broker_url)
    else:
        from andon.store import open_store  # noqa: PLC0415

        refuse_missing_db(db)
        with open_store(db) as store:
            edges = edge_statuses_from_store(store)
        source = db
    if not edges:
        console.print(f"no edge has reported on {source}", highlight=False)
        return
    now = datetime.now(UTC)
    table = Table(title=f"Edges ({source})")
    for col in ("edge", "serves", "status", "link", "buffer", "dropped", "blocked", "models",
                "scoring restarts", "samples", "last heartbeat"):
        table.add_column(col, overflow="fold")
    for e in edges:
        stale = e.stale(now)
        seen = "never" if e.last_seen is None else (
            f"{e.last_seen:%Y-%m-%d %H:%M:%S} UTC ({(now - e.last_seen).total_seconds():.0f} s "
            "ago)")
        table.add_row(
            Text(printable(e.edge_id)),  # from the broker: anyone's retained message
            Text(printable(", ".join(e.lines) or "all lines")),
            Text(e.status, style="green" if e.status == "online" else "red"),
            e.link + (f" (site {e.site_link})" if e.site_link else ""), str(e.buffer_depth) + (
                f" (unacknowledged {e.unacked}, oldest {e.oldest_unacked_s:.0f} s)"
                if e.unacked else ""),
            ", ".join(f"{k} {n}" for k, n in sorted(e.dropped.items())) or "0",
            str(e.blocked),
            Text(printable("\n".join(f"{uc}: {label}" for uc, label in sorted(e.models.items()))
                           or "-", keep="\n")),
            str(e.watchdog_restarts),
            sample_counts(e.counts),
            Text.assemble(seen, ("  stale", "bold red") if stale else ""),
        )
    console.print(table)


def sample_counts(c: dict[str, int]) -> str:
    """An edge's sample counts as the sum they make (``EdgeStats.counts``); "-" if none.

    >>> sample_counts({"received": 120, "recorded": 100, "quarantined": 15, "conflicting": 1,
    ...                "duplicates": 5, "retained_repeats": 2})
    'received 120 = recorded 100 + quarantined 15 (1 conflicting) + duplicates 5 (2 retained)'
    """
    if not c:
        return "-"
    left = f"received {c.get('received', 0)}" + (
        f" + filled {c['filled']}" if c.get("filled") else "")
    parts = [f"recorded {c.get('recorded', 0)}",
             f"quarantined {c.get('quarantined', 0)}" + (
                 f" ({c['conflicting']} conflicting)" if c.get("conflicting") else ""),
             f"duplicates {c.get('duplicates', 0)}" + (
                 f" ({c['retained_repeats']} retained)" if c.get("retained_repeats") else "")]
    parts += [f"{name} {c[name]}" for name in ("foreign", "failed", "dropped", "pending")
              if c.get(name)]
    return f"{left} = {' + '.join(parts)}"


# -- train --------------------------------------------------------------------------------
@app.command()
def train(
    use_case: Annotated[str, typer.Option("--use-case", help="Use case id from the spec.")],
    since: Annotated[str, typer.Option(help="Start of the healthy period. " + WHEN_HELP)],
    until: Annotated[str, typer.Option(help="End of the healthy period.")],
    spec: SpecOpt = DEFAULT_SPEC,
    db: DbOpt = DEFAULT_DB,
    models_dir: ModelsOpt = DEFAULT_MODELS,
) -> None:
    """Train a use case's anomaly model on a healthy period of recorded data."""
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from andon.clock import SystemClock  # noqa: PLC0415
    from andon.services.training import TRAINING_STEPS, train_use_case  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    now = datetime.now(UTC)
    start, end = parse_time(since, "--since", now=now), parse_time(until, "--until", now=now)
    plant = load_spec(spec)
    bar = Progress(TextColumn(f"training {use_case}: {{task.description}}"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), console=Terminal(stderr=True),
                   transient=True)
    with open_store(db) as store, bar:
        task = bar.add_task(TRAINING_STEPS[0], total=len(TRAINING_STEPS))
        done = [0]

        def step(name: str) -> None:
            bar.update(task, description=name, completed=done[0])
            done[0] += 1

        meta = train_use_case(plant, store, models_dir, use_case, start=start, end=end,
                              clock=SystemClock(), progress=step)
        bar.update(task, completed=len(TRAINING_STEPS))
    console.print(f"[green]saved[/] {meta.label}: {meta.train_windows} windows from "
                  f"{', '.join(meta.train_assets)}; {len(meta.features)} features; threshold "
                  f"{meta.threshold:.4g}; artifact {models_dir / meta.name / f'v{meta.version}'}",
                  highlight=False)
    console.print(f"next: andon registry register {meta.name} {meta.version} --key KEY, then "
                  f"andon registry promote {meta.name} {meta.version} --reason ... (edges serve "
                  "only signed production versions)", highlight=False)


# -- serve --------------------------------------------------------------------------------
@app.command()
def serve(
    spec: SpecOpt = DEFAULT_SPEC,
    db: CreatingDbOpt = DEFAULT_DB,
    host: Annotated[str, option(HOST)] = HOST.default,
    port: Annotated[int, option(PORT)] = PORT.default,
    models_dir: ModelsOpt = DEFAULT_MODELS,
    broker_url: Annotated[str | None, option(
        BROKER, usage="Also ingest what edges forward (andon edge --forward) from this broker "
        "into the store: samples, interventions, events, heartbeats; publish interventions on "
        ".../{asset}/_andon/intervention (the spec's sinks.uns).")] = None,
    ledger: Annotated[Path | None, option(LEDGER)] = LEDGER.default,
    run_ingest: Annotated[bool, option(INGEST)] = INGEST.default,
    mqtt_feedback: Annotated[bool, option(MQTT_FEEDBACK)] = MQTT_FEEDBACK.default,
    session_ttl: Annotated[float, option(SESSION_TTL)] = SESSION_TTL.default,
    trusted_keys: Annotated[Path | None, option(
        TRUSTED_KEYS, usage="A version is promoted only once it verifies against them.")]
    = TRUSTED_KEYS.default,
    tls_cert: Annotated[Path | None, option(TLS_CERT)] = TLS_CERT.default,
    tls_key: Annotated[Path | None, option(TLS_KEY)] = TLS_KEY.default,
    trusted_proxies: Annotated[str, option(TRUSTED_PROXIES)] = TRUSTED_PROXIES.default,
    audit_key: Annotated[Path | None, option(AUDIT_KEY)] = AUDIT_KEY.default,
    audit_anchor_every: Annotated[float, option(AUDIT_ANCHOR_EVERY)]
    = AUDIT_ANCHOR_EVERY.default,
    frame_ancestor: Annotated[list[str] | None, option(FRAME_ANCESTORS)]
    = FRAME_ANCESTORS.default,
) -> None:
    """Serve the inbox (web page) and the JSON API; with --broker, the central ingest too.

    The plant spec served is the newer of SPEC and the newest version stored in the store
    (PUT /api/spec); the file is stored as a new version when it is the newer, so GET
    /api/spec always shows the spec that runs. The first line printed says which and why.

    Edges pull production models from MODELS_DIR (GET /api/models/{name}/{version}/artifact);
    a promotion is verified against the trusted keys first, as every edge will verify it.

    GET /metrics serves Prometheus (with a viewer's token), GET /healthz and /readyz answer
    probes without one, /api/docs shows the API (docs/operations.md).
    """
    from andon.api import create_app  # noqa: PLC0415
    from andon.app import Context  # noqa: PLC0415
    from andon.app.spec import start_spec  # noqa: PLC0415
    from andon.clock import SystemClock  # noqa: PLC0415
    from andon.services.anchoring import AnchorService, serve_with_anchors  # noqa: PLC0415
    from andon.services.central import CentralIngest, Sequencer, serve_with_ingest  # noqa: PLC0415
    from andon.services.delivery import serve_with_sinks  # noqa: PLC0415
    from andon.services.escalation import (  # noqa: PLC0415
        EscalationService,
        serve_with_escalation,
    )
    from andon.services.metrics import Metrics  # noqa: PLC0415
    from andon.services.readiness import Readiness  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    if mqtt_feedback and broker_url is None:
        raise typer.BadParameter("--mqtt-feedback needs --broker (the MQTT broker the panels "
                                 "publish to)", param_hint="--mqtt-feedback")
    https = _https(tls_cert, tls_key, trusted_proxies)
    _check_port(host, port)  # before the URL is printed or anything is stored
    store = open_store(db)
    try:
        # the newer of the file and the newest stored version (PUT /api/spec), stored if new
        chosen = start_spec(Context(store, SystemClock()), spec).record
    except BaseException:
        store.close()
        raise
    plant = chosen.spec
    console.print(chosen.reason, highlight=False, markup=False, soft_wrap=True)  # one line
    ingest = None if broker_url is None or not run_ingest else CentralIngest(
        store, SystemClock(), sequencer=Sequencer(ledger or models_dir.parent / "ingest.db"))
    scheme = "https" if https.cert is not None else "http"
    console.print(f"inbox on {scheme}://{host}:{port}/inbox"
                  + ("" if ingest is None or broker_url is None
                     else f"; ingesting edges from {redact_url(broker_url)}"),
                  highlight=False)
    try:
        keys = trusted_keys if trusted_keys is not None else models_dir.parent / "keys" / "trusted"
        # GET /metrics and GET /readyz see the ingest too (andon.services.metrics, .readiness)
        listening = asyncio.Event() if ingest is not None else None
        subscribed = None if listening is None else listening.is_set
        metrics = Metrics(store, SystemClock(), ingest=ingest, ingest_connected=subscribed)
        web_app = create_app(store, plant, models_dir=models_dir, trusted_keys=keys,
                             session_ttl_s=session_ttl, metrics=metrics,
                             readiness=Readiness(store, broker=subscribed),
                             frame_ancestors=frame_ancestor or ())
        serving = serve_with_ingest(web_app, host, port, ingest, broker_url,
                                    enterprise=plant.enterprise.id, https=https,
                                    connected=listening)
        # the sinks (UNS, webhooks, CMMS) and, with --mqtt-feedback, MQTT feedback beside it
        serving = serve_with_sinks(serving, store, plant, broker_url, feedback=mqtt_feedback)
        # the escalation service runs beside the server (andon.services.escalation)
        escalation = EscalationService.for_spec(store, plant, SystemClock())
        serving = serve_with_escalation(serving, escalation)
        # with --audit-key, the audit trail is signed periodically (andon.services.anchoring)
        anchors = None if audit_key is None else AnchorService(
            store, SystemClock(), audit_key, every_s=audit_anchor_every)
        asyncio.run(serve_with_anchors(serving, anchors))
    finally:
        store.close()


def _check_port(host: str, port: int) -> None:
    """Refuse, in one line, a host and port ``serve`` could not listen on (uvicorn's way).

    Checked by binding (with ``SO_REUSEADDR``, as uvicorn does) and closing again: a port
    another process holds is refused before the URL is printed.
    """
    import socket  # noqa: PLC0415

    from andon.errors import ServiceError  # noqa: PLC0415

    if port == 0:
        return
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ServiceError(f"cannot listen on {host}:{port}: {reason} (is another server on "
                           "it? choose another with --port)") from None


def _https(cert: Path | None, key: Path | None, proxies: str) -> HttpsOptions:
    """``serve``'s HTTPS options, the certificate and key checked to load together."""
    import ssl  # noqa: PLC0415

    from andon.services.central import HttpsOptions  # noqa: PLC0415

    if (cert is None) != (key is None):
        raise typer.BadParameter("--tls-cert and --tls-key go together (the certificate and "
                                 "its private key)", param_hint="--tls-cert/--tls-key")
    if cert is not None and key is not None:
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
        except (ssl.SSLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
            raise typer.BadParameter(f"{cert} with {key}: cannot be used for HTTPS ({reason})",
                                     param_hint="--tls-cert/--tls-key") from None
    return HttpsOptions(cert, key, ",".join(p.strip() for p in proxies.split(",")
                                            if p.strip()))


# -- ingest -------------------------------------------------------------------------------
@app.command()
def ingest(
    spec: SpecOpt = DEFAULT_SPEC,
    db: CreatingDbOpt = DEFAULT_DB,
    broker_url: BrokerOpt = DEFAULT_BROKER,
    worker: Annotated[str, option(INGEST_WORKER)] = INGEST_WORKER.default,
    ledger: Annotated[Path | None, option(LEDGER, usage="Default: ingest-WORKER.db next to "
                                          "the store (SQLite) or in the current directory.")]
    = LEDGER.default,
) -> None:
    """Run a central ingest worker alone: what edges forward, into the store (no API).

    To share the load, run N of them on one PostgreSQL store (--worker 1/N ... N/N) beside
    one `andon serve --broker URL --no-ingest` for the API, the sinks and escalation. Each
    worker keeps its own persistent session (andon-central-ENT-IofN) and ledger. Stops on
    SIGINT / SIGTERM after writing and acknowledging what it received.
    """
    from andon.clock import SystemClock  # noqa: PLC0415
    from andon.services.central import (  # noqa: PLC0415
        CentralIngest,
        Partition,
        Sequencer,
        run_central,
    )
    from andon.settings import DB  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    try:
        part = Partition.parse(worker)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--worker") from None
    plant = load_spec(spec)
    name = f"ingest{part.suffix}.db"
    path = ledger or (Path(db.removeprefix("sqlite:///")).parent / name
                      if db.startswith("sqlite:///") else Path(name))
    store = open_store(db)
    central = CentralIngest(store, SystemClock(), sequencer=Sequencer(path), partition=part)
    session = f"andon-central-{plant.enterprise.id}"[:52] + part.suffix
    console.print(f"ingest worker {part.index}/{part.count}: edges from "
                  f"{redact_url(broker_url)} into "
                  f"{printable(DB.show(db))}; session {session}, "
                  f"ledger {path}", highlight=False)

    async def run() -> None:
        await run_central(central, broker_url, _stop_event(), enterprise=plant.enterprise.id,
                          session=session)

    try:
        asyncio.run(run())
    finally:
        central.sequencer.close()
        store.close()
    st = central.stats
    console.print(f"stopped: {st.messages} messages, {st.samples} samples and "
                  f"{st.interventions} intervention versions written, {st.duplicates} "
                  f"duplicates skipped, {st.foreign} for other workers, {st.rejected} "
                  "quarantined", highlight=False)


# -- demo ---------------------------------------------------------------------------------
@app.command()
def demo(
    spec: SpecOpt = DEFAULT_SPEC,
    data_dir: Annotated[Path, option(DATA_DIR)] = DATA_DIR.default,
    speed: Annotated[float, option(DEMO_SPEED)] = DEMO_SPEED.default,
    seed: Annotated[int, option(SEED)] = SEED.default,
    port: Annotated[int, option(PORT, usage="The demo takes the next free one if it is "
                                "taken.")] = PORT.default,
    broker_url: Annotated[str | None, option(BROKER, usage="The demo uses it instead of its "
                                             "embedded broker.")] = None,
    timeout: Annotated[float | None, typer.Option(min=0.0, help="Stop after this many "
                                                  "seconds.")] = None,
    exit_on_intervention: Annotated[bool, typer.Option(help="Stop once the first "
                                                         "intervention is raised.")] = False,
) -> None:
    """Run the demo plant end to end: broker, simulator, training, edge and inbox."""
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    from andon.services.demo import DemoConfig, run_demo  # noqa: PLC0415

    plant = load_spec(spec)
    config = DemoConfig(spec_path=spec, data_dir=data_dir, speed=speed, seed=seed,
                        http_port=port, broker=broker_url, timeout_s=timeout,
                        exit_on_intervention=exit_on_intervention)
    console.rule("[bold]Andon demo")
    console.print(f"{plant.enterprise.name}: {len(plant.sites)} sites, {len(plant.assets())} "
                  f"assets, {plant.tag_count()} tags; injected fault: bearing wear on P-101")

    def say(text: str) -> None:
        console.print(f"[dim]{datetime.now().astimezone():%H:%M:%S}[/] {text}", highlight=False,
                      soft_wrap=True)

    bar = Progress(TextColumn("[dim]warm-up[/]  backfilling 48 h of healthy history"),
                   BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), console=console,
                   transient=True)
    task_id = bar.add_task("backfill", total=1.0)

    def progress(done: float) -> None:
        bar.update(task_id, completed=done)
        if done >= 1.0:
            bar.stop()

    async def run() -> None:
        bar.start()
        task = asyncio.ensure_future(run_demo(config, plant, say, progress))
        stop = _stop_event()
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if task not in done:
            say("Stopping ...")
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        else:
            stopper.cancel()
            task.result()

    try:
        asyncio.run(run())
    finally:
        bar.stop()
    say("Demo stopped.")


# -- users --------------------------------------------------------------------------------
app.command("replay")(replay)  # after the loop's own commands in --help
app.command("plugins")(plugins)
app.command("settings")(show_settings)


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name (a person id of the spec).")],
    role: Annotated[str, typer.Option(help="Role id from the spec.")],
    spec: SpecOpt = DEFAULT_SPEC,
    db: DbOpt = DEFAULT_DB,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True,
                                          help="Password; asked for (hidden) when not given.")]
    = "",
) -> None:
    """Create or replace a login with a role of the spec."""
    from andon.app import add_user  # noqa: PLC0415
    from andon.cli.actor import cli_actor, cli_context  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    plant = load_spec(spec)
    if role not in {x.id for x in plant.roles}:
        raise typer.BadParameter(f"unknown role {role!r} (known: "
                                 f"{', '.join(x.id for x in plant.roles)})",
                                 param_hint="--role")
    with open_store(db) as store:
        user = add_user(cli_context(store, plant), cli_actor(), username, role, password).record
    console.print(f"user {username} saved with role {user.role} ({user.access} access)",
                  highlight=False)


@users_app.command("token")
def users_token(
    username: Annotated[str, typer.Argument(help="Existing login.")],
    db: DbOpt = DEFAULT_DB,
    days: Annotated[float, typer.Option(min=0.0, help="Validity in days.")] = 90.0,
) -> None:
    """Issue an API token for a login (printed once; only its hash is stored)."""
    from andon.app import issue_token  # noqa: PLC0415
    from andon.cli.actor import cli_actor, cli_context  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        if store.get_user(username) is None:
            raise typer.BadParameter(f"no user {username!r}; create it with 'andon users add'")
        issued = issue_token(cli_context(store), cli_actor(), username, timedelta(days=days),
                             kind="api token (CLI)").record
    console.print(issued.token, highlight=False)


spec_app.command("sign")(spec_sign)
spec_app.command("apply")(spec_apply)
users_app.command("list")(users_list)
users_app.command("passwd")(users_passwd)
users_app.command("disable")(users_disable)
users_app.command("enable")(users_enable)
users_app.command("delete")(users_delete)
users_app.command("revoke")(users_revoke)
users_app.command("tokens")(users_tokens)


# -- interventions ------------------------------------------------------------------------
@interventions_app.command("list")
def ivs_list(
    db: DbOpt = DEFAULT_DB,
    all_: Annotated[bool, typer.Option("--all", help="Include closed ones.")] = False,
) -> None:
    """List interventions, newest first, with the id the answering commands take."""
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        ivs = store.list_interventions(open_only=not all_)
    table = Table(title="Interventions")
    table.add_column("id", no_wrap=True)  # whole: 'andon interventions ack ID' takes it
    for col in ("asset", "action", "deadline", "owner", "state", "priority", "why"):
        table.add_column(col, overflow="fold")
    for r in ivs:
        early, late = r.failure_window
        failure = (f"stopped {r.stopped_at:%Y-%m-%d %H:%M} UTC: corrective" if r.stopped_at
                   else f"failure {early:%m-%d %H:%M}" + (f" to {late:%m-%d %H:%M}"
                                                         if early < late else "") + " UTC")
        deadline = f"{r.deadline:%Y-%m-%d %H:%M} UTC\n{r.deadline_label}\n{failure}"
        owner = r.owner_role + (f" ({r.assignee})" if r.assignee else "")
        table.add_row(Text(r.id), Text(r.asset_name), Text(r.action), deadline, Text(owner),
                      r.state.value, r.priority.value,
                      Text("\n".join(c.describe() for c in r.why)))
    console.print(table)
    if not ivs:
        console.print("no interventions" + ("" if all_ else " open (--all lists closed ones)"),
                      highlight=False)


interventions_app.command("ack")(ivs_ack)
interventions_app.command("start")(ivs_start)
interventions_app.command("done")(ivs_done)
interventions_app.command("defer")(ivs_defer)
interventions_app.command("dismiss")(ivs_dismiss)
interventions_app.command("shelve")(ivs_shelve)
interventions_app.command("outcome")(ivs_outcome)

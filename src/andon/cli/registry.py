"""``andon registry ...``: keys, signing, stages of model versions (Typer + Rich)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from andon.audit import Meaning
from andon.cli.options import (
    DEFAULT_DB,
    DEFAULT_MODELS,
    DEFAULT_SPEC,
    DbOpt,
    MeaningOpt,
    ModelsOpt,
    SpecOpt,
    UserOpt,
    VersionArg,
    option,
)
from andon.cli.terminal import Terminal
from andon.settings import KEYS_DIR, TRUSTED_KEYS

if TYPE_CHECKING:
    from andon.app import Actor, Change, Context
    from andon.app.signatures import SignatureIn
    from andon.registry import ModelRecord, Registry

registry_app = typer.Typer(
    help="Model registry: sign model versions, promote them to production, archive them. "
    "Edges serve only the production version whose signature a trusted key verifies.",
    no_args_is_help=True,
)

console = Terminal()

NameArg = Annotated[str, typer.Argument(help="Model name, e.g. pump-bearing.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept on record; required).")]


@contextmanager
def _registry(db: str, models_dir: Path | None = None) -> Iterator[Registry]:
    """Yield a registry over the store at ``db`` (for reading), closing the store afterwards."""
    from andon.clock import SystemClock  # noqa: PLC0415
    from andon.registry import Registry  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        yield Registry(store, SystemClock(), models_dir)


@contextmanager
def _context(db: str, models_dir: Path | None = None,
             trusted_keys: Path | None = None, spec: Path | None = None) -> Iterator[Context]:
    """Yield the application context over the store at ``db``, closing it afterwards.

    With ``spec``, the context carries the spec in force (the newest stored one, else that
    file), whose ``governance`` says who must sign.
    """
    from andon.cli.actor import cli_context, spec_in_force  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    with open_store(db) as store:
        plant = None if spec is None else spec_in_force(store, spec)
        yield cli_context(store, plant, models_dir=models_dir, trusted_keys=trusted_keys)


def _say(verb: str, r: ModelRecord) -> None:
    console.print(f"[green]{verb}[/] {r.label}: stage {r.stage.value}, signed by "
                  f"{r.signer or '-'} (key {r.key_id or '-'})", highlight=False)


@registry_app.command("keygen")
def keygen(
    key_dir: Annotated[Path, option(KEYS_DIR)] = KEYS_DIR.default,
    name: Annotated[str, typer.Option(help="Key file name (without extension).")] = "plant",
    trust: Annotated[bool, typer.Option(help="Also copy NAME.pub into DIR/trusted/, the "
                                        "directory edges check signatures against.")] = False,
) -> None:
    """Create an Ed25519 signing key pair (private key mode 0600; never leaves this host)."""
    from andon.registry import generate_keypair  # noqa: PLC0415

    key, pub, key_id = generate_keypair(key_dir, name)
    console.print(f"[green]key pair[/] {key_id}: private {key}, public {pub}", highlight=False)
    if trust:
        (key_dir / "trusted").mkdir(exist_ok=True)
        shutil.copyfile(pub, key_dir / "trusted" / pub.name)
        console.print(f"trusted: {key_dir / 'trusted' / pub.name}", highlight=False)
    else:
        console.print(f"to trust it on an edge, copy {pub} into its --trusted-keys directory",
                      highlight=False)


@registry_app.command("register")
def register(
    name: NameArg,
    version: VersionArg,
    key: Annotated[Path, typer.Option("--key", help="Private signing key (NAME.key).")],
    models_dir: ModelsOpt = DEFAULT_MODELS,
    db: DbOpt = DEFAULT_DB,
    user: UserOpt = None,
) -> None:
    """Check and sign a trained model version; record it as a candidate."""
    from andon.app import register_model  # noqa: PLC0415
    from andon.cli.actor import cli_signer  # noqa: PLC0415

    with _context(db) as ctx:
        actor, _ = cli_signer(ctx, user, meaning="authored", reason="")
        record = register_model(ctx, actor, name, version, key=key,
                                models_dir=models_dir).record
    _say("registered", record)


@registry_app.command("list")
def list_(db: DbOpt = DEFAULT_DB) -> None:
    """List every model version with its stage, signer and lineage."""
    with _registry(db) as registry:
        records = registry.list()
    table = Table(title="Model registry")
    for col in ("name", "version", "stage", "signer key id", "training window", "threshold",
                "created"):
        table.add_column(col)
    for r in records:
        m = r.meta
        table.add_row(m.name, f"v{m.version}", r.stage.value, r.key_id or "unsigned",
                      f"{m.train_start:%Y-%m-%d %H:%M} .. {m.train_end:%Y-%m-%d %H:%M} UTC",
                      f"{m.threshold:.4g}", f"{m.created_at:%Y-%m-%d %H:%M} UTC")
    console.print(table)


@registry_app.command("show")
def show(name: NameArg, version: VersionArg, db: DbOpt = DEFAULT_DB) -> None:
    """Show one version: stage, signer, and the lineage in its metadata."""
    from andon.store import open_store  # noqa: PLC0415

    with _registry(db) as registry:
        r = registry.show(name, version)
    with open_store(db) as store:
        signatures = store.signatures_for("model", record_id=r.label)
    m = r.meta
    rows = [
        ("stage", r.stage.value), ("signed by", f"{r.signer or '-'} (key {r.key_id or '-'})"),
        ("use case", m.use_case), ("asset kind", m.asset_kind),
        ("training window", f"{m.train_start.isoformat()} .. {m.train_end.isoformat()}"),
        ("trained on", f"{m.train_windows} windows of {', '.join(m.train_assets)}"),
        ("data sha256", m.data_sha256), ("artifact sha256", m.artifact_sha256),
        ("threshold", f"{m.threshold:.6g}"), ("features", ", ".join(m.features)),
        ("params", str(m.params)), ("metrics", str(m.metrics)),
        ("created", m.created_at.isoformat()), ("code version", m.code_version),
        *(("electronic signature", s.manifest()) for s in signatures),
    ]
    table = Table(title=m.label, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _change_stage(verb: str, change: Callable[[Context, Actor, SignatureIn | None],
                                               Change[ModelRecord]],
                  db: str, user: str | None, *, meaning: str, reason: str, spec: Path,
                  models_dir: Path | None = None, trusted_keys: Path | None = None) -> None:
    """Apply one stage change (an ``andon.app`` use case) and report the record it left."""
    from andon.cli.actor import cli_signer, signed_lines  # noqa: PLC0415

    with _context(db, models_dir, trusted_keys, spec) as ctx:
        actor, signature = cli_signer(ctx, user, meaning=meaning, reason=reason)
        change_ = change(ctx, actor, signature)
    _say(verb, change_.record)
    for line in signed_lines(change_.events):
        console.print(line, highlight=False)


@registry_app.command("promote")
def promote(name: NameArg, version: VersionArg, reason: ReasonOpt,
            db: DbOpt = DEFAULT_DB, user: UserOpt = None, meaning: MeaningOpt = Meaning.APPROVED,
            spec: SpecOpt = DEFAULT_SPEC, models_dir: ModelsOpt = DEFAULT_MODELS,
            trusted_keys: Annotated[Path | None, option(
                TRUSTED_KEYS, usage="The version is promoted only once it verifies against "
                "them, as every edge will verify it.")] = TRUSTED_KEYS.default) -> None:
    """Make a signed version production; the previous production version is archived.

    The artifact is verified against the trusted keys first; a version every edge would refuse
    (altered after signing, signed by an untrusted key) is not promoted. Where the spec's
    governance asks for it, promote as yourself (--user) and sign; under the two-person rule
    somebody else signs the version first (andon registry sign).
    """
    from andon.app import promote_model  # noqa: PLC0415

    keys = trusted_keys if trusted_keys is not None else models_dir.parent / "keys" / "trusted"
    _change_stage("promoted", lambda c, a, s: promote_model(c, a, name, version, reason,
                                                             signature=s),
                  db, user, meaning=meaning, reason=reason, spec=spec, models_dir=models_dir,
                  trusted_keys=keys)


@registry_app.command("archive")
def archive(name: NameArg, version: VersionArg, reason: ReasonOpt, db: DbOpt = DEFAULT_DB,
            user: UserOpt = None, meaning: MeaningOpt = Meaning.APPROVED,
            spec: SpecOpt = DEFAULT_SPEC) -> None:
    """Archive a version: no edge loads it again (promote another one to replace it)."""
    from andon.app import archive_model  # noqa: PLC0415

    _change_stage("archived", lambda c, a, s: archive_model(c, a, name, version, reason,
                                                             signature=s),
                  db, user, meaning=meaning, reason=reason, spec=spec)


@registry_app.command("requalify")
def requalify(name: NameArg, version: VersionArg, reason: ReasonOpt, db: DbOpt = DEFAULT_DB,
              user: UserOpt = None, meaning: MeaningOpt = Meaning.APPROVED,
              spec: SpecOpt = DEFAULT_SPEC) -> None:
    """Bring an archived version back as a candidate (rollback: requalify, then promote)."""
    from andon.app import requalify_model  # noqa: PLC0415

    _change_stage("requalified", lambda c, a, s: requalify_model(c, a, name, version, reason,
                                                                  signature=s),
                  db, user, meaning=meaning, reason=reason, spec=spec)


@registry_app.command("sign")
def sign(name: NameArg, version: VersionArg,
         user: Annotated[str, typer.Option("--user", envvar="ANDON_USER",
                                           help="Sign as this login (password asked for, "
                                           "hidden, or read from ANDON_PASSWORD).")],
         meaning: MeaningOpt = Meaning.REVIEWED,
         reason: Annotated[str, typer.Option(help="What you checked (kept with the "
                                             "signature).")] = "",
         db: DbOpt = DEFAULT_DB, spec: SpecOpt = DEFAULT_SPEC) -> None:
    """Sign a version without changing it: the author or a reviewer, before a promotion."""
    from andon.app import sign_model  # noqa: PLC0415
    from andon.cli.actor import cli_signer  # noqa: PLC0415

    with _context(db, spec=spec) as ctx:
        actor, signature = cli_signer(ctx, user, meaning=meaning, reason=reason)
        assert signature is not None  # noqa: S101 - a --user always signs
        signed = sign_model(ctx, actor, name, version, signature).record
    console.print(f"signed {name} v{version}: {signed.manifest()}", highlight=False)

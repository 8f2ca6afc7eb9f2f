"""``andon spec sign|apply``: a plant spec change under the spec's governance, from a terminal.

``sign`` puts the signer's electronic signature on a spec text without changing anything (its
author or a reviewer, for the two-person rule); ``apply`` replaces the spec in force with the
file, signed where governance asks. Both act as a login of Andon (``--user``): the password is
asked for, hidden, or read from ``ANDON_PASSWORD``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from andon.audit import Meaning
from andon.cli.options import DEFAULT_DB, DEFAULT_SPEC, DbOpt, MeaningOpt, UserOpt
from andon.cli.terminal import Terminal
from andon.text import printable

__all__ = ["spec_apply", "spec_sign"]

console = Terminal()

FileArg = Annotated[Path, typer.Argument(help="The spec file to sign or put in force.")]
ReasonOpt = Annotated[str, typer.Option(help="Why (kept with the signature).")]


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"{path}: cannot read the spec file ({exc})",
                                 param_hint="FILE") from None


def spec_sign(
    path: FileArg,
    user: Annotated[str, typer.Option("--user", envvar="ANDON_USER",
                                      help="Sign as this login.")],
    meaning: MeaningOpt = Meaning.REVIEWED,
    reason: ReasonOpt = "",
    db: DbOpt = DEFAULT_DB,
    spec: Annotated[Path, typer.Option(help="The spec in force when none is stored yet.")]
    = DEFAULT_SPEC,
) -> None:
    """Sign a spec file's text (author or reviewer) without putting it in force."""
    from andon.app.spec import sign_spec  # noqa: PLC0415
    from andon.cli.actor import cli_context, cli_signer, spec_in_force  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    text = _text(path)
    with open_store(db) as store:
        ctx = cli_context(store, spec_in_force(store, spec, required=False))
        actor, signature = cli_signer(ctx, user, meaning=meaning, reason=reason)
        assert signature is not None  # noqa: S101 - a --user always signs
        signed = sign_spec(ctx, actor, text, signature, filename=path.name,
                           base_dir=path.parent).record
    console.print(f"signed {printable(str(path))}: {printable(signed.manifest())}",
                  highlight=False)


def spec_apply(
    path: FileArg,
    reason: Annotated[str, typer.Option(help="Why (kept on record; required).")],
    user: UserOpt = None,
    meaning: MeaningOpt = Meaning.APPROVED,
    db: DbOpt = DEFAULT_DB,
    spec: Annotated[Path, typer.Option(help="The spec in force when none is stored yet.")]
    = DEFAULT_SPEC,
) -> None:
    """Put a spec file in force (a new stored version), signed where governance asks.

    A running server picks the new version up at its next start; ``PUT /api/spec`` changes
    a running server at once.
    """
    from andon.app import replace_spec  # noqa: PLC0415
    from andon.cli.actor import cli_context, cli_signer, signed_lines, spec_in_force  # noqa: PLC0415
    from andon.store import open_store  # noqa: PLC0415

    if not reason.strip():
        raise typer.BadParameter("say why the spec changes", param_hint="--reason")
    text = _text(path)
    with open_store(db) as store:
        ctx = cli_context(store, spec_in_force(store, spec, required=False))
        actor, signature = cli_signer(ctx, user, meaning=meaning, reason=reason)
        done = replace_spec(ctx, actor, text, path.name, base_dir=path.parent,
                            signature=signature)
    console.print(f"plant spec v{done.record.version} in force ({printable(str(path))})",
                  highlight=False)
    for line in signed_lines(done.events):
        console.print(line, highlight=False)

"""Who the CLI acts as, and the application context it acts on."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, overload

from andon.app.context import Actor, Context, PlantRef
from andon.audit import Event, EventKind
from andon.clock import SystemClock
from andon.feedback.answers import Via

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from andon.app.signatures import SignatureIn
    from andon.spec.model import PlantSpec
    from andon.store.base import Store

#: the variable a script puts a signer's password in (never a flag: flags show in ``ps``)
PASSWORD_ENV = "ANDON_PASSWORD"  # noqa: S105 - a variable's name

__all__ = ["PASSWORD_ENV", "cli_actor", "cli_context", "cli_login", "cli_signer",
           "signed_lines", "spec_in_force"]


def cli_actor(by: str | None = None) -> Actor:
    """The person at the terminal: ``by`` or the OS user, with administrator access.

    Whoever can run ``andon`` on this host can already read and write its database file, so
    the CLI does not pretend otherwise; the name is kept on every record it changes.
    """
    return Actor(by or getpass.getuser(), "cli", "admin", Via.CLI)


def cli_context(store: Store, spec: PlantSpec | None = None, *, models_dir: Path | None = None,
                trusted_keys: Path | None = None) -> Context:
    """The application context over ``store`` on the wall clock (with ``spec`` if given)."""
    return Context(store, SystemClock(), None if spec is None else PlantRef(spec),
                   models_dir=models_dir, trusted_keys=trusted_keys)


@overload
def spec_in_force(store: Store, spec_path: Path) -> PlantSpec: ...


@overload
def spec_in_force(store: Store, spec_path: Path, *, required: bool) -> PlantSpec | None: ...


def spec_in_force(store: Store, spec_path: Path, *, required: bool = True) -> PlantSpec | None:
    """The spec in force: the newest stored version, else the file (nothing stored yet).

    With ``required=False``, None when nothing is stored and the file does not exist.

    Governance (who must sign what) comes from here, never from a file given on the command
    line alone: a file without ``governance`` cannot switch the plant's rules off.
    """
    from andon.spec.loader import load_spec, load_spec_text  # noqa: PLC0415

    stored = store.current_spec()
    if stored is None:
        return load_spec(spec_path) if required or spec_path.exists() else None
    return load_spec_text(stored.text, f"stored spec v{stored.version}",
                          base_dir=spec_path.parent)


def cli_signer(ctx: Context, user: str | None, *, meaning: str,
               reason: str) -> tuple[Actor, SignatureIn | None]:
    """Who acts and their signature: login ``user`` once its password checks, else the OS user.

    The OS user signs nothing. The password comes from ``ANDON_PASSWORD`` (for automation) or
    is asked for, hidden. It is checked like a sign-in (back-off, recorded) and is the
    signature's re-entered password: one command is one signing (Part 11 §11.200(a)(1)).
    """
    if user is None:
        return cli_actor(), None
    import os  # noqa: PLC0415
    import socket  # noqa: PLC0415

    import typer  # noqa: PLC0415

    from andon.app import access_of, sign_in  # noqa: PLC0415
    from andon.app.signatures import SignatureIn  # noqa: PLC0415
    from andon.audit import Meaning  # noqa: PLC0415

    password = os.environ.get(PASSWORD_ENV) or typer.prompt(
        f"Password of {user} (your electronic signature)", hide_input=True)
    where = f"cli {getpass.getuser()}@{socket.gethostname()}"
    signed = sign_in(ctx, user, password, address=where).record
    if ctx.plant is not None:
        signed = access_of(ctx.spec, signed)
    return Actor.of(signed, Via.CLI), SignatureIn(password, Meaning(meaning), reason)


def cli_login(ctx: Context, user: str | None) -> Actor:
    """Who acts: login ``user`` once its password checks (nothing signed), else the OS user.

    The password comes from ``ANDON_PASSWORD`` or is asked for, hidden, and is checked like a
    sign-in (back-off, recorded); the login's role (from the spec in force) must grant what
    the command does.
    """
    if user is None:
        return cli_actor()
    import os  # noqa: PLC0415
    import socket  # noqa: PLC0415

    import typer  # noqa: PLC0415

    from andon.app import access_of, sign_in  # noqa: PLC0415

    password = os.environ.get(PASSWORD_ENV) or typer.prompt(f"Password of {user}",
                                                           hide_input=True)
    where = f"cli {getpass.getuser()}@{socket.gethostname()}"
    signed = sign_in(ctx, user, password, address=where).record
    if ctx.plant is not None:
        signed = access_of(ctx.spec, signed)
    return Actor.of(signed, Via.CLI)


def signed_lines(events: Iterable[Event]) -> list[str]:
    """``signed: approved by ...`` for each electronic signature among a change's events."""
    from andon.text import printable  # noqa: PLC0415

    return [f"signed: {printable(e.detail)}" for e in events if e.kind == EventKind.SIGNATURE]

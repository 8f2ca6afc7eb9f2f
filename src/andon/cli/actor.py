"""Who the CLI acts as, and the application context it acts on."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

from andon.app.context import Actor, Context, PlantRef
from andon.clock import SystemClock
from andon.feedback.answers import Via

if TYPE_CHECKING:
    from pathlib import Path

    from andon.spec.model import PlantSpec
    from andon.store.base import Store

__all__ = ["cli_actor", "cli_context"]


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

"""Replacing the plant spec."""

from __future__ import annotations

from typing import TYPE_CHECKING

from andon.app.context import Change
from andon.audit import Event, EventKind
from andon.auth.access import Permission
from andon.spec.loader import load_spec_text

if TYPE_CHECKING:
    from andon.app.context import Actor, Context
    from andon.store.base import SpecVersion

__all__ = ["SPEC_FILENAME", "replace_spec"]

#: file name used in spec problems reported for a text that came without one (HTTP, MQTT)
SPEC_FILENAME = "plant.yaml"


def replace_spec(ctx: Context, actor: Actor, text: str,
                 filename: str = SPEC_FILENAME) -> Change[SpecVersion]:
    """Validate and store a new plant spec text and put it in force.

    ``SpecErrors`` (one ``file:line field: reason`` per problem) if it is not valid; nothing
    is stored then.
    """
    actor.require(Permission.CHANGE_SPEC)
    spec = load_spec_text(text, filename)
    saved = ctx.store.save_spec(text, actor.name, ctx.clock.now())
    event = Event(EventKind.SPEC, f"v{saved.version}",
                  f"plant spec replaced ({spec.tag_count()} tags)", saved.at, actor.name)
    ctx.store.add_event(event)
    if ctx.plant is not None:
        ctx.plant.set(spec)
    return Change(saved, (event,))

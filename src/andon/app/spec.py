"""Replacing the plant spec, and choosing the one a server starts with.

The store keeps every accepted spec text as a numbered version (``spec_versions``); the newest
is the spec in force, the one ``GET /api/spec`` shows. ``start_spec`` keeps it so across a
restart: a server given a spec file serves the newer of the two, and stores the file as a
new version when the file wins, so what the API calls current is always what runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from andon.app.context import Actor, Change
from andon.app.signatures import SignatureIn, approve, sign_record, spec_record_hash
from andon.audit import Event, EventKind
from andon.auth.access import Permission
from andon.errors import SpecError, SpecErrors
from andon.feedback.answers import Via
from andon.spec.loader import load_spec_text

if TYPE_CHECKING:
    from pathlib import Path

    from andon.app.context import Context
    from andon.audit import Signature
    from andon.spec.model import PlantSpec
    from andon.store.base import SpecVersion

__all__ = ["SPEC_FILENAME", "STARTED_BY", "StartSpec", "replace_spec", "start_spec"]

#: file name used in spec problems reported for a text that came without one (HTTP, MQTT)
SPEC_FILENAME = "plant.yaml"
#: who stores a spec file a server starts with (``SpecVersion.by``)
STARTED_BY = "andon serve"


def replace_spec(ctx: Context, actor: Actor, text: str,
                 filename: str = SPEC_FILENAME, *, base_dir: Path | None = None,
                 signature: SignatureIn | None = None) -> Change[SpecVersion]:
    """Validate and store a new plant spec text and put it in force.

    ``SpecErrors`` (one ``file:line field: reason`` per problem) if it is not valid; nothing
    is stored then. ``base_dir`` is where a site's ``tag_map_file`` is read from (None: the
    maps must be inline, as for a text sent over HTTP). Where the spec in force asks for
    electronic signatures (``governance``), ``signature`` is checked first and stored, bound
    to the new text's hash, once the text is stored; under its two-person rule somebody else
    must have signed the same text before (``sign_spec``).
    """
    actor.require(Permission.CHANGE_SPEC)
    spec = load_spec_text(text, filename, base_dir=base_dir)
    hash_hex = spec_record_hash(text)
    approval = approve(ctx, actor, action="replacing the plant spec", kind="spec",
                       record_id=f"spec {hash_hex[:12]}", hash_hex=hash_hex, given=signature,
                       two_person=True)
    saved, event = _save(ctx, actor, text, spec)
    signed = approval.record(ctx, "spec", f"v{saved.version}", hash_hex)
    return Change(saved, (event, *signed))


def sign_spec(ctx: Context, actor: Actor, text: str, signature: SignatureIn, *,
              filename: str = SPEC_FILENAME, base_dir: Path | None = None) -> Change[Signature]:
    """Sign a spec text without putting it in force: its author or a reviewer.

    The text must be a valid spec (``SpecErrors`` otherwise): nobody signs what cannot run.
    """
    load_spec_text(text, filename, base_dir=base_dir)
    hash_hex = spec_record_hash(text)
    return sign_record(ctx, actor, kind="spec", record_id=f"spec {hash_hex[:12]}",
                       hash_hex=hash_hex, given=signature)


def _save(ctx: Context, actor: Actor, text: str, spec: PlantSpec) -> tuple[SpecVersion, Event]:
    saved = ctx.store.save_spec(text, actor.name, ctx.clock.now())
    event = Event(EventKind.SPEC, f"v{saved.version}",
                  f"plant spec replaced ({spec.tag_count()} tags)", saved.at, actor.name,
                  record=spec_record_hash(text))
    ctx.store.add_event(event)
    if ctx.plant is not None:
        ctx.plant.set(spec)
    return saved, event


@dataclass(frozen=True, slots=True)
class StartSpec:
    """The plant spec a server starts with: the spec, the stored version it is, and why."""

    spec: PlantSpec
    version: SpecVersion
    reason: str = ""  # one line for the start-up log: which spec and why that one


def start_spec(ctx: Context, path: Path) -> Change[StartSpec]:
    """Choose the plant spec a server starts with: the newer of ``path`` and the stored one.

    - Nothing stored yet: the file, stored as version 1.
    - The newest stored version has the file's text: that version (nothing stored).
    - The newest stored version was stored after the file was last changed (it came through
      ``PUT /api/spec``): that version; the file is not read as a spec until it changes again.
    - The file changed after the newest stored version: the file, stored as a new version.

    Either way the newest stored version is the spec served, so ``GET /api/spec`` shows what
    runs; ``ctx.plant``, if given, is set to it. ``SpecErrors`` if the spec chosen does not
    load (a stored version is named ``stored spec vN`` in the problems); a site's
    ``tag_map_file`` is read next to ``path``.
    """
    text = _read(path)
    changed = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    stored = ctx.store.current_spec()
    events: tuple[Event, ...] = ()
    if stored is not None and stored.text == text:
        spec = load_spec_text(text, path.name, base_dir=path.parent)
        version, reason = stored, f"plant spec v{stored.version}: {path} (stored as it is)"
    elif stored is not None and stored.at >= changed:
        spec = load_spec_text(stored.text, f"stored spec v{stored.version}",
                              base_dir=path.parent)
        version, reason = stored, (
            f"plant spec v{stored.version}: stored {_when(stored.at)} by {stored.by}, after "
            f"{path} last changed ({_when(changed)}); the file is ignored until it changes")
    elif stored is not None and (kept := load_spec_text(
            stored.text, f"stored spec v{stored.version}",
            base_dir=path.parent)).governance.esignatures:
        spec, version = kept, stored
        reason = (f"plant spec v{stored.version}: stored {_when(stored.at)} by {stored.by}; "
                  f"{path} changed since but the spec in force asks for electronic signatures: "
                  "replace it through a signed change (PUT /api/spec), not by editing the file")
    else:
        spec = load_spec_text(text, path.name, base_dir=path.parent)
        version, event = _save(ctx, Actor.system(STARTED_BY, Via.SYSTEM), text, spec)
        why = ("no spec was stored" if stored is None else
               f"it changed ({_when(changed)}) after stored v{stored.version} was saved "
               f"({_when(stored.at)})")
        events = (event,)
        reason = f"plant spec v{version.version}: {path}, stored now ({why})"
    if ctx.plant is not None:
        ctx.plant.set(spec)
    return Change(StartSpec(spec, version, reason), events)


def _read(path: Path) -> str:
    """The text of a spec file; ``SpecErrors`` naming the file if it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecErrors([SpecError(str(path), None, "", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise SpecErrors([SpecError(str(path), None, "",
                                    f"not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        raise SpecErrors([SpecError(str(path), None, "", exc.strerror or str(exc))]) from None


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

"""The audit chain: every event linked to the one before it by a SHA-256 hash.

Each entry's ``hash`` covers its position ``seq``, its content (kind, subject, detail, time,
actor, the hash of the record it is about) and ``prev_hash``, the hash of the entry before it.
Editing an entry breaks its own hash; deleting one breaks the next entry's link and leaves a
gap in ``seq``; reordering breaks both. Deleting the newest entries leaves a shorter chain that
is still whole: that is what signed anchors are for (``anchor_message``: a checkpoint "entry
``seq`` had ``hash``" signed with a key the verifier trusts; a chain shorter than its newest
anchor, or different at an anchor, is broken).

``verify_chain`` walks entries in ``seq`` order and names the first break, in words an
inspector can act on. Pure: no store, no clock; the store hands it rows.

>>> from dataclasses import replace
>>> from andon.clock import utc
>>> from andon.audit.events import Event, EventKind
>>> a = ChainEntry.first(Event(EventKind.USER, "ana", "saved", utc(2026, 1, 1), "admin"))
>>> b = a.next(Event(EventKind.TOKEN, "ana", "issued", utc(2026, 1, 1, 0, 5), "admin"))
>>> verify_chain([a, b]).ok
True
>>> print(verify_chain([a, replace(b, detail="revoked")]).problem)  # doctest: +ELLIPSIS
entry 2 (token ana, 2026-01-01 00:05:00 UTC, by admin) was changed after it was written: ...
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from andon.audit.events import Event

__all__ = [
    "GENESIS",
    "Anchor",
    "ChainEntry",
    "Verification",
    "anchor_message",
    "entry_hash",
    "record_hash",
    "verify_chain",
]

#: the ``prev_hash`` of the first entry
GENESIS = "0" * 64


def _when(at: datetime) -> str:
    """A time as the chain hashes it: UTC, microseconds, fixed width."""
    if at.tzinfo is None:
        raise ValueError(f"audit times must be timezone-aware, got {at!r}")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(fields: tuple[int, str, str, str, datetime, str, str | None, str]) -> str:
    """SHA-256 (hex) of one entry's canonical JSON, the time as fixed-width UTC text.

    ``fields`` is ``(seq, kind, subject, detail, at, by, record, prev_hash)``.
    """
    seq, kind, subject, detail, at, by, record, prev_hash = fields
    doc = [seq, str(kind), subject, detail, _when(at), by, record, prev_hash]
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def record_hash(fields: dict[str, object]) -> str:
    """SHA-256 (hex) of a record (a user row...) as canonical JSON: what an entry is about.

    >>> record_hash({"b": 1, "a": "x"}) == record_hash({"a": "x", "b": 1})
    True
    """
    text = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainEntry:
    """One link of the chain: an event with its position, link and hash."""

    seq: int
    kind: str
    subject: str
    detail: str
    at: datetime
    by: str
    record: str | None  # hash of the record the entry is about, if it names one
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, event: Event, *, seq: int, prev_hash: str) -> ChainEntry:
        """``event`` as the entry at ``seq``, after the entry whose hash is ``prev_hash``."""
        kind = str(event.kind)
        fields = (seq, kind, event.subject, event.detail, event.at, event.by, event.record,
                  prev_hash)
        return cls(*fields[:7], prev_hash, entry_hash(fields))

    @classmethod
    def first(cls, event: Event) -> ChainEntry:
        """``event`` as the first entry of a chain."""
        return cls.of(event, seq=1, prev_hash=GENESIS)

    def next(self, event: Event) -> ChainEntry:
        """``event`` as the entry that follows this one."""
        return self.of(event, seq=self.seq + 1, prev_hash=self.hash)

    def computed_hash(self) -> str:
        """The hash this entry's content gives now (differs from ``hash`` once edited)."""
        return entry_hash((self.seq, self.kind, self.subject, self.detail, self.at, self.by,
                           self.record, self.prev_hash))

    def describe(self) -> str:
        """``entry 7 (user ana, 2026-01-01 00:00:00 UTC, by admin)``: how a report names it."""
        when = self.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"entry {self.seq} ({self.kind} {self.subject}, {when}, by {self.by})"


@dataclass(frozen=True, slots=True)
class Anchor:
    """A signed checkpoint: entry ``seq`` had ``hash`` at ``at``; ``valid`` = signature checks."""

    seq: int
    hash: str
    at: datetime
    key_id: str
    valid: bool


def anchor_message(seq: int, hash_hex: str, at: datetime) -> bytes:
    """The bytes an anchor's signature covers."""
    return f"andon-audit-anchor\n{seq}\n{hash_hex}\n{_when(at)}\n".encode()


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of walking the chain."""

    entries: int  # chained entries walked
    problem: str | None = None  # the first break, in words; None = whole
    broken_at: int | None = None  # seq of the first entry that does not hold
    anchors: int = 0  # anchors checked
    newest_anchor: int | None = None  # seq of the newest valid anchor

    @property
    def ok(self) -> bool:
        """True when no break was found."""
        return self.problem is None


def verify_chain(entries: Iterable[ChainEntry], anchors: Iterable[Anchor] = ()) -> Verification:
    """Walk ``entries`` (in ``seq`` order) and ``anchors``; name the first break.

    Checks, entry by entry: the position follows the one before (a gap is deleted entries),
    the link is the hash of the entry before (else deleted or reordered), the hash is the
    content's (else edited). Then every anchor: its signature is valid, the chain reaches it
    (else its newest entries were deleted), and the entry there has the anchored hash.
    """
    anchored = sorted(anchors, key=lambda a: a.seq)
    wanted = {a.seq for a in anchored}
    seen: dict[int, str] = {}
    count = 0
    prev: ChainEntry | None = None
    for entry in entries:
        count += 1
        problem = _link_problem(prev, entry)
        if problem is not None:
            return Verification(count, problem[1], problem[0])
        if entry.seq in wanted:
            seen[entry.seq] = entry.hash
        prev = entry
    last = 0 if prev is None else prev.seq
    newest: int | None = None
    for anchor in anchored:
        problem = _anchor_problem(anchor, seen, last)
        if problem is not None:
            return Verification(count, problem[1], problem[0], len(anchored), newest)
        newest = anchor.seq
    return Verification(count, None, None, len(anchored), newest)


def _link_problem(prev: ChainEntry | None, entry: ChainEntry) -> tuple[int, str] | None:
    """Where and how ``entry`` fails to follow ``prev``, or None."""
    expected_seq = 1 if prev is None else prev.seq + 1
    if entry.seq < expected_seq:
        return entry.seq, (f"{entry.describe()} repeats a position already taken: the chain "
                           "was rewritten")
    if entry.seq > expected_seq:
        missing = (f"entries {expected_seq} to {entry.seq - 1} are"
                   if entry.seq - 1 > expected_seq else f"entry {expected_seq} is")
        return expected_seq, f"{missing} missing before {entry.describe()}: deleted from the trail"
    if entry.prev_hash != (GENESIS if prev is None else prev.hash):
        return entry.seq, (f"{entry.describe()} does not link to the entry before it: an entry "
                           "was replaced, reordered or deleted")
    if entry.computed_hash() != entry.hash:
        return entry.seq, (f"{entry.describe()} was changed after it was written: its hash does "
                           "not match its content")
    return None


def _anchor_problem(anchor: Anchor, seen: dict[int, str], last: int) -> tuple[int, str] | None:
    """Where and how the chain (ending at ``last``) fails ``anchor``, or None."""
    when = f"{anchor.at.astimezone(UTC):%Y-%m-%d %H:%M UTC}"
    if not anchor.valid:
        return anchor.seq, (f"the anchor at entry {anchor.seq} ({when}) has a signature that "
                            f"does not verify with key {anchor.key_id}")
    if anchor.seq not in seen:
        return last + 1, (f"the trail ends at entry {last} but entry {anchor.seq} was anchored "
                          f"(signed) on {when}: the newest entries were deleted")
    if seen[anchor.seq] != anchor.hash:
        return anchor.seq, (f"entry {anchor.seq} differs from the one anchored (signed) on "
                            f"{when}: the trail was rewritten from there")
    return None

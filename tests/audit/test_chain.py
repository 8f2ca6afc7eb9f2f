"""The hash chain names the first entry edited, deleted, reordered or cut off after an anchor."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from andon.audit import Anchor, ChainEntry, Event, EventKind, verify_chain
from andon.clock import utc

T0 = utc(2026, 12, 7, 8)
texts = st.text(max_size=30)


def chain(n: int, texts_: list[str] | None = None) -> list[ChainEntry]:
    out: list[ChainEntry] = []
    for i in range(n):
        detail = texts_[i % len(texts_)] if texts_ else f"change {i}"
        event = Event(EventKind.USER, f"user-{i % 3}", detail, T0 + timedelta(seconds=i),
                      "admin")
        out.append(ChainEntry.first(event) if not out else out[-1].next(event))
    return out


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 40), data=st.data(), details=st.lists(texts, min_size=1, max_size=5))
def test_any_edit_is_named_at_its_entry(n: int, data: st.DataObject, details: list[str]) -> None:
    entries = chain(n, details)
    assert verify_chain(entries).ok
    i = data.draw(st.integers(0, n - 1))
    field = data.draw(st.sampled_from(["kind", "subject", "detail", "by", "at", "record"]))
    e = entries[i]
    changed: dict[str, Any] = {
        "kind": "login", "subject": e.subject + "x", "detail": e.detail + "!", "by": e.by + "2",
        "at": e.at + timedelta(microseconds=1), "record": "0" * 64}
    entries[i] = replace(e, **{field: changed[field]})
    found = verify_chain(entries)
    assert not found.ok
    assert found.broken_at == e.seq
    assert f"entry {e.seq} " in (found.problem or "")
    assert "changed after it was written" in (found.problem or "")


@settings(max_examples=40, deadline=None)
@given(n=st.integers(3, 40), data=st.data())
def test_a_deleted_entry_is_named_by_its_position(n: int, data: st.DataObject) -> None:
    entries = chain(n)
    i = data.draw(st.integers(0, n - 2))  # not the newest: that needs an anchor
    del entries[i]
    found = verify_chain(entries)
    assert found.broken_at == i + 1
    assert f"entry {i + 1} is missing" in (found.problem or "")


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link() -> None:
    entries = chain(5)
    forged = entries[2]
    forged = ChainEntry.of(Event(forged.kind, forged.subject, "quietly rewritten", forged.at,
                                 forged.by), seq=forged.seq, prev_hash=forged.prev_hash)
    entries[2] = forged
    found = verify_chain(entries)
    assert found.broken_at == 4
    assert "does not link to the entry before it" in (found.problem or "")


def test_swapped_entries_are_caught() -> None:
    entries = chain(6)
    entries[2], entries[3] = entries[3], entries[2]
    found = verify_chain(entries)
    assert found.broken_at == 3
    assert not found.ok


def test_cutting_the_newest_entries_shows_only_against_an_anchor() -> None:
    entries = chain(10)
    anchor = Anchor(8, entries[7].hash, T0 + timedelta(hours=1), "k1", valid=True)
    assert verify_chain(entries, [anchor]).ok
    assert verify_chain(entries, [anchor]).newest_anchor == 8
    cut = entries[:6]
    assert verify_chain(cut).ok  # without an anchor, a shorter chain is a whole chain
    found = verify_chain(cut, [anchor])
    assert not found.ok
    assert "ends at entry 6 but entry 8 was anchored" in (found.problem or "")
    forged = Anchor(8, "f" * 64, anchor.at, "k1", valid=True)
    assert "differs from the one anchored" in (verify_chain(entries, [forged]).problem or "")
    bad_signature = replace(anchor, valid=False)
    assert "does not verify with key k1" in (verify_chain(entries, [bad_signature]).problem
                                            or "")


def test_an_empty_chain_is_whole() -> None:
    found = verify_chain([])
    assert found.ok
    assert found.entries == 0

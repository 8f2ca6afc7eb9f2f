"""Replay quarantined messages through the current decoder and contracts.

After a fix (a corrected spec range or unit, a producer fixed, a counter declared
``monotonic: false``), ``replay_quarantined`` runs the chosen items, oldest first, through
``decode_sample`` and a ``ContractChecker`` of the current spec again. An item that now passes
(or is only flagged) is stored as a sample and marked replayed; the others stay quarantined.
Stateful rules see the tag's stored history: before each item the checker is primed with the
tag's last stored sample from the hour before it, and staleness is judged at the original
receive time.

Items quarantined as ``future`` (a source time implausibly far ahead, e.g. year 2100) are
judged against their source's recent samples, which a replay no longer has: a bulk replay
keeps them quarantined; replaying one by id (``--id``) is the operator's decision to store it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from andon.app.context import Change
from andon.audit import Event, EventKind
from andon.auth.access import Permission
from andon.clock import to_ms
from andon.connectors.legacy import LEGACY_PREFIX, LegacyDecoder
from andon.contracts import ContractChecker
from andon.contracts.rules import Rule
from andon.errors import PayloadError
from andon.namespace import decode_sample

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from andon.app.context import Actor, Context
    from andon.contracts import Quarantined
    from andon.namespace import Sample
    from andon.store.base import Store

__all__ = ["QuarantinePage", "ReplayProgress", "ReplayResult", "quarantine_page",
           "replay_quarantined"]

_LOOKBACK_MS = 3_600_000
_MAX_ITEMS = 100_000
#: items a page of the quarantine looks through at most (newest first) to filter and count
MAX_SCANNED = 10_000


@dataclass(frozen=True, slots=True)
class QuarantinePage:
    """One page of quarantined messages (newest first) and how many matched."""

    items: list[Quarantined]
    page: int  # 1-based
    per_page: int
    matched: int  # among the newest ``MAX_SCANNED`` of the rule / period
    scanned_all: bool  # False: more than ``MAX_SCANNED`` were there; older ones not looked at
    by_rule: dict[str, int]  # rule -> items (replayed ones included), every item stored

    @property
    def pages(self) -> int:
        """How many pages the matches fill (at least one)."""
        return max(1, -(-self.matched // self.per_page))


def quarantine_page(ctx: Context, *, rule: str | None = None, text: str | None = None,
                    since: datetime | None = None, until: datetime | None = None,
                    replayed: bool | None = None, page: int = 1,
                    per_page: int = 50) -> QuarantinePage:
    """Quarantined messages received in ``[since, until)``, newest first, one page of them.

    ``rule`` keeps one rule code; ``text`` the items whose topic, tag or source contains it
    (case-insensitive); ``replayed`` True / False only replayed / not yet replayed ones.
    """
    store = ctx.store
    scanned = store.quarantined(rule=rule, since=since, replayed=replayed, limit=MAX_SCANNED)
    needle = (text or "").strip().casefold()
    matched = [q for q in scanned
               if (until is None or q.received_at < until)
               and (not needle or needle in q.topic.casefold()
                    or needle in (q.tag or "").casefold()
                    or needle in (q.source or "").casefold())]
    first = (max(page, 1) - 1) * per_page
    return QuarantinePage(matched[first:first + per_page], max(page, 1), per_page,
                          len(matched), len(scanned) < MAX_SCANNED,
                          store.count_quarantined_by_rule())


@dataclass(frozen=True, slots=True)
class ReplayProgress:
    """How far a replay is: items ``done`` of ``total``, how many pass, how many are refused."""

    done: int
    total: int
    passing: int  # pass so far (stored when the replay ends)
    still: dict[str, int]  # rule -> items still refused so far


@dataclass
class ReplayResult:
    """What a replay did."""

    checked: int = 0  # items run through decode + contracts
    stored: int = 0  # items that passed and were stored as samples (marked replayed)
    still: Counter[str] = field(default_factory=Counter)  # rule -> items still refused


def replay_quarantined(ctx: Context, actor: Actor, *, rule: str | None = None,
                       item_id: int | None = None,
                       progress: Callable[[ReplayProgress], None] | None = None,
                       ) -> Change[ReplayResult]:
    """Replay not-yet-replayed items (one by id, or all, optionally of one rule).

    Needs ``manage_models`` (engineer access): what it stores becomes training data.
    ``progress`` is told how far the replay is once the items are chosen and after each
    item (the web page's progress bar; the passing ones are stored at the end).
    """
    actor.require(Permission.MANAGE_MODELS)
    store, spec, clock = ctx.store, ctx.spec, ctx.clock
    if item_id is not None:
        items = [store.get_quarantined(item_id)]
    else:
        items = store.quarantined(rule=rule, replayed=False, limit=_MAX_ITEMS)
    items = sorted((q for q in items if q.replayed_at is None),
                   key=lambda q: (q.received_at, q.id or 0))
    checker = ContractChecker(spec)
    legacy = LegacyDecoder(spec)  # legacy raw topics decode through the current tag maps
    result = ReplayResult(checked=len(items))
    passed: list[Sample] = []
    ids: list[int] = []
    if progress is not None:
        progress(ReplayProgress(0, len(items), 0, {}))
    for done, item in enumerate(items, 1):
        if item.rule is Rule.FUTURE and item_id is None:
            result.still[Rule.FUTURE] += 1
        else:
            sample = _recheck(store, checker, legacy, item, result)
            if sample is not None and item.id is not None:
                passed.append(sample)
                ids.append(item.id)
        if progress is not None:
            progress(ReplayProgress(done, len(items), len(passed), dict(result.still)))
    now = clock.now()
    if passed:
        store.add_samples(passed, to_ms(now))
        result.stored = store.mark_replayed(ids, now)
    if not items:
        return Change(result)
    still = ", ".join(f"{r} {n}" for r, n in sorted(result.still.items())) or "none"
    subject = rule or (str(item_id) if item_id else "all")
    event = Event(EventKind.QUARANTINE_REPLAYED, subject, f"{result.checked} checked, "
                  f"{result.stored} stored; still quarantined: {still}", now, actor.name)
    store.add_event(event)
    return Change(result, (event,))


def _recheck(store: Store, checker: ContractChecker, legacy: LegacyDecoder, item: Quarantined,
             result: ReplayResult) -> Sample | None:
    try:
        sample = (legacy.decode(item.topic, item.payload)
                  if item.topic.startswith(LEGACY_PREFIX)
                  else decode_sample(item.topic, item.payload))
    except PayloadError:
        result.still["malformed"] += 1
        return None
    a = sample.address
    before = [s for s in store.samples(assets=[a.asset], start_ms=sample.ts_ms - _LOOKBACK_MS,
                                       end_ms=sample.ts_ms)
              if s.address == a]
    if before:
        checker.prime(before[-1])
    verdict = checker.check(sample, to_ms(item.received_at))
    if verdict.sample is None:
        result.still[verdict.violations[0].rule] += 1
    return verdict.sample

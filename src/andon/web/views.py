"""What the inbox shows of an intervention: preformatted, in the site's local time.

Times are said against the **plant's clock** (``plant_time``): the newer of the server's
clock and the newest sample of the asset, so a deadline the plant has passed reads
"overdue" even when the data runs ahead of the wall clock (a replay, the demo's fast
simulation). Numbers go through ``andon.text`` (engineering format, units).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from andon.auth.access import User
from andon.interventions.lifecycle import InterventionState
from andon.interventions.record import Intervention
from andon.spec.model import PlantSpec
from andon.text import eng, times

__all__ = [
    "RecView",
    "UserView",
    "due_text",
    "failure_text",
    "iv_view",
    "local_time",
    "plant_time",
    "record_text",
    "user_view",
    "watched_assets",
]

_NEAR = timedelta(hours=2)  # deadlines closer than this are highlighted as "soon"


@dataclass(frozen=True, slots=True)
class UserView:
    """The signed-in user, as the page header shows them."""

    username: str
    display_name: str
    role_name: str
    access: str


@dataclass(frozen=True, slots=True)
class RecView:
    """One intervention card."""

    id: str
    asset: str
    asset_name: str
    where: tuple[str, ...]  # ("Ghent water treatment", "Cooling water loop")
    action: str
    status: str  # the lifecycle state's value
    deferred: bool
    state_text: str  # "Acknowledged by ana", "Escalated (level 2)", "Shelved until ..."
    priority: str
    assignee: str
    escalation_level: int
    moves: tuple[tuple[str, str, bool], ...]  # (target state, button text, needs a reason)
    history: tuple[str, ...]  # "Mon 02 Mar 08:04 CET · ana: new → acknowledged (why)"
    outcome: str
    needs_outcome: bool
    deadline_iso: str
    deadline_local: str  # "Tue 24 Nov 05:30 CET"
    deadline_label: str
    deadline_now: bool
    urgency: str  # "now", "overdue", "soon" or "later": drives the highlight
    due: str  # "in 3 h 05 min", "overdue by 20 min"; empty for "now" deadlines
    detected_local: str
    owner_role: str
    owner_role_name: str
    detections: int
    score: str
    threshold: str
    ratio: str  # score / threshold, e.g. "1.4"
    model: str
    why: tuple[str, ...]
    record: str = ""  # the model's track record on this line: "Right 7 of 9 times here ..."
    failure_iso: str = ""  # the earliest predicted failure (ISO 8601)
    failure: str = ""  # "between Mon 23 Nov 22:30 and Tue 24 Nov 18:30 CET (3 h to 24 h ...)"
    corrective: bool = False  # the asset stopped while this was open: a corrective action
    stopped_local: str = ""  # when it was seen stopped, in the site's zone


def _role_name(spec: PlantSpec, role_id: str) -> str:
    """The role's display name from the spec, or its id when the spec does not know it."""
    try:
        return spec.role(role_id).name
    except KeyError:
        return role_id


def user_view(user: User, spec: PlantSpec) -> UserView:
    """Build the header view of ``user`` (role display name from the spec when known)."""
    return UserView(username=user.username, display_name=user.display_name or user.username,
                    role_name=_role_name(spec, user.role), access=user.access)


def local_time(when: datetime, tz: ZoneInfo) -> str:
    """``Tue 24 Nov 05:30 CET``: short, unambiguous for a shift, in the site's zone."""
    return when.astimezone(tz).strftime("%a %d %b %H:%M %Z")


def plant_time(now: datetime, newest_ms: Mapping[str, int] | None, asset: str) -> datetime:
    """The plant's clock for ``asset``: ``now``, or its newest sample's time if that is later.

    >>> from andon.clock import utc
    >>> plant_time(utc(2026, 1, 1, 8), {"p-101": 1767279600000}, "p-101").isoformat()
    '2026-01-01T15:00:00+00:00'
    >>> plant_time(utc(2026, 1, 1, 8), {}, "p-101").isoformat()
    '2026-01-01T08:00:00+00:00'
    """
    ms = (newest_ms or {}).get(asset)
    if ms is None:
        return now
    return max(now, datetime.fromtimestamp(ms / 1000, tz=UTC))


def failure_text(iv: Intervention, tz: ZoneInfo, now: datetime) -> str:
    """When the failure is expected: the band (or instant), its distance from detection and now.

    >>> from andon.testing.factories import make_intervention
    >>> from dataclasses import replace
    >>> iv = make_intervention()
    >>> iv = replace(iv, failure_earliest=iv.detected_at + timedelta(hours=3),
    ...              predicted_failure=iv.detected_at + timedelta(hours=24))
    >>> failure_text(iv, ZoneInfo("Europe/Brussels"), iv.detected_at).split(", ")
    ['between Mon 02 Mar 10:55 CET and Tue 03 Mar 07:55 CET (3 h to 24 h after detection)', \
'in 3 h 00 min']
    """
    early, late = iv.failure_window
    after = (f"{_hours(early - iv.detected_at)} to {_hours(late - iv.detected_at)}"
             if early < late else _hours(late - iv.detected_at))
    when = (f"between {local_time(early, tz)} and {local_time(late, tz)}" if early < late
            else f"by {local_time(late, tz)}")
    if iv.stopped_at is not None:
        rel = f"the asset stopped by {local_time(iv.stopped_at, tz)}"
    elif now >= late:
        rel = "the predicted time has passed"
    elif now >= early:
        rel = "the earliest has passed: it may fail any time now"
    else:
        rel = f"in {_span(early - now)}"
    return f"{when} ({after} after detection), {rel}"


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{eng(hours)} h" if hours >= 1 else f"{eng(hours * 60)} min"


def due_text(deadline: datetime, now: datetime, *, is_now: bool) -> tuple[str, str]:
    """Say how far away a deadline is, and its urgency (now / overdue / soon / later).

    >>> from andon.clock import utc
    >>> due_text(utc(2026, 1, 1, 8, 5), utc(2026, 1, 1, 5, 0), is_now=False)
    ('in 3 h 05 min', 'later')
    >>> due_text(utc(2026, 1, 1, 4, 40), utc(2026, 1, 1, 5, 0), is_now=False)
    ('overdue by 20 min', 'overdue')
    """
    if is_now:
        return "", "now"
    delta = deadline - now
    if delta < timedelta(0):
        return f"overdue by {_span(-delta)}", "overdue"
    return f"in {_span(delta)}", "soon" if delta <= _NEAR else "later"


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min"


def record_text(confirmed: int, false_alarms: int, median_lead: timedelta | None,
                days: int) -> str:
    """The model's record on a line, as the inbox says it.

    >>> record_text(7, 2, timedelta(hours=31), 90)
    'Right 7 of 9 times on this line (90 days), median 31 h warning'
    >>> record_text(0, 0, None, 90)
    'No outcome on this line yet (90 days)'
    """
    judged = confirmed + false_alarms
    if not judged:
        return f"No outcome on this line yet ({days} days)"
    lead = ("" if median_lead is None
            else f", median {median_lead.total_seconds() / 3600:.0f} h warning")
    return f"Right {confirmed} of {judged} times on this line ({days} days){lead}"


def iv_view(iv: Intervention, spec: PlantSpec, now: datetime, record: str = "", *,
            plant: Mapping[str, int] | None = None) -> RecView:
    """Build the card for ``iv``; times in the site's zone (UTC if the site is unknown).

    ``plant`` is the newest sample time (epoch ms) per asset: "due in" and "overdue" are said
    against the plant's clock (``plant_time``).
    """
    now = plant_time(now, plant, iv.asset)
    site = next((s for s in spec.sites if s.id == iv.site), None)
    tz = ZoneInfo(site.timezone if site is not None else "UTC")
    where = [site.name if site is not None else iv.site]
    try:
        where.append(spec.line(iv.site, iv.line)[2].name)
    except KeyError:
        where.append(iv.line)
    due, urgency = due_text(iv.deadline, now, is_now=iv.deadline_is_now)
    ratio = iv.score / iv.threshold if iv.threshold else float("inf")
    legal = iv.legal_moves()
    moves = tuple((s.value, text, s in _NEEDS_REASON) for s, text in _BUTTONS if s in legal)
    history = tuple(
        f"{local_time(t.at, tz)} · {t.by}: "
        f"{'raised' if t.from_state is None else t.from_state.value} → {t.to_state.value}"
        + (f" ({t.reason})" if t.reason else "")
        for t in iv.lifecycle.history)
    return RecView(
        id=iv.id, asset=iv.asset, asset_name=iv.asset_name, where=tuple(where),
        action=iv.action, status=iv.state.value,
        deferred=iv.state is InterventionState.DEFERRED,
        state_text=_state_text(iv, tz), priority=iv.priority.value,
        assignee=iv.assignee or "", escalation_level=iv.escalation_level, moves=moves,
        history=history, outcome="" if iv.outcome is None else iv.outcome.value,
        needs_outcome=not iv.is_open and iv.outcome is None,
        deadline_iso=iv.deadline.isoformat(), deadline_local=local_time(iv.deadline, tz),
        deadline_label=iv.deadline_label, deadline_now=iv.deadline_is_now, urgency=urgency,
        due=due, detected_local=local_time(iv.detected_at, tz), owner_role=iv.owner_role,
        owner_role_name=_role_name(spec, iv.owner_role), detections=iv.detections,
        score=eng(iv.score), threshold=eng(iv.threshold),
        ratio=times(ratio).removesuffix("×"),  # the page writes the ×
        model=f"{iv.model} v{iv.model_version}".replace(" vv", " v"),
        why=tuple(c.describe() for c in iv.why), record=record,
        failure_iso=iv.failure_window[0].isoformat(), failure=failure_text(iv, tz, now),
        corrective=iv.corrective,
        stopped_local="" if iv.stopped_at is None else local_time(iv.stopped_at, tz),
    )


_S = InterventionState
#: inbox buttons, in the order shown: (target state, text); only legal ones are shown
_BUTTONS = ((_S.ACKNOWLEDGED, "Acknowledge"), (_S.IN_PROGRESS, "Start"), (_S.DONE, "Done"),
            (_S.DEFERRED, "Defer"), (_S.DISMISSED, "Dismiss"), (_S.SHELVED, "Shelve"))
_NEEDS_REASON = frozenset({_S.DEFERRED, _S.DISMISSED, _S.SHELVED})


def _state_text(iv: Intervention, tz: ZoneInfo) -> str:
    """Where the intervention stands, in a few words."""
    state = iv.state
    if state is _S.SHELVED and iv.shelved_until is not None:
        return f"Shelved until {local_time(iv.shelved_until, tz)}"
    if state is _S.ESCALATED:
        return f"Escalated (level {iv.escalation_level})"
    if state in {_S.ACKNOWLEDGED, _S.IN_PROGRESS} and iv.assignee:
        verb = "Acknowledged" if state is _S.ACKNOWLEDGED else "In progress"
        return f"{verb} by {iv.assignee}"
    return state.value.replace("_", " ").capitalize()


def watched_assets(spec: PlantSpec) -> int:
    """Count the assets the spec's use cases watch (all assets if there is no use case)."""
    if not spec.use_cases:
        return len(spec.assets())
    return len({x[3].id for uc in spec.use_cases for x in spec.use_case_assets(uc)})

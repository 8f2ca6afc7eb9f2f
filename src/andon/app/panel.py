"""Answers from operator panels and HMIs over MQTT, applied like any other answer.

The message format and its parsing are ``andon.feedback.panel``; here a parsed message becomes
an ``Actor`` (the spec's person named in ``by``, with the access their role grants, through
``mqtt``) and goes through the same ``give_feedback`` / ``record_outcome`` as the inbox and the
API. A refused message (malformed, unknown person or intervention, no permission, a move the
lifecycle refuses) is answered with its one-line reason and kept as a ``feedback_rejected``
event (subject: the topic); nothing raises for bad input.

Trust: the broker authenticates the sender; Andon checks who may speak through it. A message
on ``.../_andon/feedback/{sender}`` is applied only when ``by`` is the sender itself (a person
with MQTT credentials of their own) or one of the people the spec lists on panel ``sender``
(``panels:``), and ``by``'s Andon login, if there is one, is not disabled. So with broker ACLs
that let each MQTT login write its own feedback topic alone (``docs/brokers.md``), nobody can
answer in another's name: a panel cannot speak for a person it does not list, and a client
cannot pose as a panel. The service is off unless asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from andon.app.context import Actor
from andon.app.interventions import give_feedback, record_outcome
from andon.audit import Event, EventKind
from andon.errors import AndonError, NotFound
from andon.feedback.answers import FeedbackKind, Via
from andon.feedback.panel import FeedbackAnswer, PanelMessage, parse_feedback, sender_of
from andon.interventions.record import OutcomeLabel
from andon.text import one_line

if TYPE_CHECKING:
    from andon.app.context import Context

__all__ = ["PanelAnswer", "answer_panel"]


@dataclass(frozen=True, slots=True)
class PanelAnswer:
    """The answer to publish for one panel message, and the events it caused."""

    answer: FeedbackAnswer
    events: tuple[Event, ...]


def answer_panel(ctx: Context, topic: str, payload: bytes) -> PanelAnswer:
    """Apply one panel message received on ``topic``; never raises for bad input."""
    spec = ctx.spec
    parsed = parse_feedback(payload, {p.id for p in spec.people})
    refused = None if isinstance(parsed, str) else _speaks_for(ctx, topic, parsed)
    if isinstance(parsed, str):
        answer = FeedbackAnswer(ok=False, intervention_id=None, reason=parsed)
    elif refused is not None:
        answer = FeedbackAnswer(ok=False, intervention_id=parsed.id, ref=parsed.ref,
                                reason=refused)
    else:
        answer, events = _apply(ctx, parsed)
        if answer.ok:
            return PanelAnswer(answer, events)
    event = Event(EventKind.FEEDBACK_REJECTED, topic, answer.reason, ctx.clock.now(), "mqtt")
    ctx.store.add_event(event)
    return PanelAnswer(answer, (event,))


def _speaks_for(ctx: Context, topic: str, msg: PanelMessage) -> str | None:
    """Why the sender of ``topic`` may not answer as ``msg.by`` (None: it may)."""
    spec = ctx.spec
    sender = sender_of(topic, spec.enterprise.id)
    if sender is None:
        return f"{topic!r} is not a feedback topic of enterprise {spec.enterprise.id!r}"
    panel = next((x for x in spec.panels if x.id == sender), None)
    if sender != msg.by and (panel is None or msg.by not in panel.people):
        where = (f"panel {sender!r} does not list {msg.by!r} (panels[].people)"
                 if panel is not None else
                 f"{sender!r} is neither {msg.by!r} nor a panel of the spec (panels:)")
        return f"{msg.by!r} cannot answer on {sender}'s topic: {where}"
    login = ctx.store.get_user(msg.by)
    if login is not None and login.disabled:
        return f"{msg.by!r} is a disabled login"
    return None


def _apply(ctx: Context, msg: PanelMessage) -> tuple[FeedbackAnswer, tuple[Event, ...]]:
    spec = ctx.spec
    person = next(p for p in spec.people if p.id == msg.by)
    try:
        access = spec.role(person.role).access
    except KeyError:
        access = "viewer"  # a person whose role the spec lost may only read
    actor = Actor(person.id, person.role, access, Via.MQTT)
    try:
        if msg.kind is not None:
            done = give_feedback(ctx, actor, msg.id, FeedbackKind(msg.kind), msg.reason)
        else:
            done = record_outcome(ctx, actor, msg.id, OutcomeLabel(str(msg.outcome)),
                                  msg.detail)
    except NotFound:
        return FeedbackAnswer(ok=False, intervention_id=msg.id, ref=msg.ref,
                              reason=f"unknown intervention {msg.id!r}"), ()
    except AndonError as exc:
        return FeedbackAnswer(ok=False, intervention_id=msg.id, ref=msg.ref,
                              reason=one_line(str(exc))), ()
    return FeedbackAnswer(ok=True, intervention_id=msg.id, state=done.record.state.value,
                          ref=msg.ref), done.events

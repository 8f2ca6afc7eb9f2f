"""Answers from operator panels and HMIs over MQTT, applied like any other answer.

The message format and its parsing are ``andon.feedback.panel``; here a parsed message becomes
an ``Actor`` (the spec's person named in ``by``, with the access their role grants, through
``mqtt``) and goes through the same ``give_feedback`` / ``record_outcome`` as the inbox and the
API. A refused message (malformed, unknown person or intervention, no permission, a move the
lifecycle refuses) is answered with its one-line reason and kept as a ``feedback_rejected``
event (subject: the topic); nothing raises for bad input.

Trust: the broker, not Andon, authenticates the sender; ``by`` is what the message claims.
Hence the service is off unless asked for, and it belongs behind broker ACLs that let each
panel's credentials publish on its own feedback topic alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from andon.app.context import Actor
from andon.app.interventions import give_feedback, record_outcome
from andon.audit import Event, EventKind
from andon.errors import AndonError, NotFound
from andon.feedback.answers import FeedbackKind, Via
from andon.feedback.panel import FeedbackAnswer, PanelMessage, parse_feedback
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
    if isinstance(parsed, str):
        answer = FeedbackAnswer(ok=False, intervention_id=None, reason=parsed)
    else:
        answer, events = _apply(ctx, parsed)
        if answer.ok:
            return PanelAnswer(answer, events)
    event = Event(EventKind.FEEDBACK_REJECTED, topic, answer.reason, ctx.clock.now(), "mqtt")
    ctx.store.add_event(event)
    return PanelAnswer(answer, (event,))


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

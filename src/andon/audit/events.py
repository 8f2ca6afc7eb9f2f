"""``Event`` and ``EventKind``: the record of something worth keeping, and its closed list of kinds.

Events sit at the bottom of the domain so that any package (the model registry, the gate, the
contracts) can describe what it did; the store keeps them (``Store.add_event``), the API and
the CLI read them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = ["Event", "EventKind"]


class EventKind(StrEnum):
    """Every kind of event Andon writes (a ``str``: stored and compared as its value)."""

    # people and the interventions they answer
    FEEDBACK = "feedback"  # acted / deferred / dismissed given on an intervention
    OUTCOME = "outcome"  # what was found (fault confirmed / no fault / unsure)
    TRANSITION = "transition"  # a lifecycle move (acknowledge, start, shelve...)
    COMMENT = "comment"  # a note written on an intervention (no move, no label)
    FEEDBACK_REJECTED = "feedback_rejected"  # an MQTT panel answer that was refused
    ESCALATED = "escalated"  # not acknowledged in time: handed up the chain
    UNSHELVED = "unshelved"  # a shelving expired; back to the state it was shelved from
    WORK_ORDER = "work_order"  # a CMMS work-order change applied (or refused)
    TRIAGE = "triage"  # a detection held for a reviewer
    TRIAGE_LABEL = "triage_label"  # a reviewer's label on a triage item
    FATIGUE_SUPPRESSED = "fatigue_suppressed"  # a detection in a planned stop, not delivered
    FATIGUE_FLOOD = "fatigue_flood"  # an operator position in flood (ISA-18.2)
    # accounts and configuration
    TOKEN = "token"  # an API token or session issued or revoked  # noqa: S105 - a kind
    USER = "user"  # a login created, changed, disabled or deleted
    LOGIN = "login"  # a sign-in that succeeded
    LOGIN_FAILED = "login_failed"  # a sign-in refused: wrong password, unknown or disabled login
    LOCKOUT = "lockout"  # too many failed sign-ins: a login or an address locked for a while
    ACCESS_DENIED = "access_denied"  # a request refused: no valid token, or not allowed
    AUDIT_ANCHOR = "audit_anchor"  # the audit chain signed at an entry
    SIGNATURE = "signature"  # an electronic signature on a record (Part 11)
    SPEC = "spec"  # the plant spec replaced
    # models
    MODEL_TRAINED = "model_trained"
    MODEL_REGISTERED = "model_registered"  # signed, candidate
    MODEL_PROMOTED = "model_promoted"
    MODEL_ARCHIVED = "model_archived"
    MODEL_REQUALIFIED = "model_requalified"  # archived -> candidate
    MODEL_LOADED = "model_loaded"  # an edge serves it
    MODEL_REFUSED = "model_refused"  # an edge refused it (unsigned, altered, untrusted)
    ROLLOUT = "rollout"  # a staged rollout started, advanced (with its gate), back, withdrawn
    DRIFT = "drift"  # a production version's features moved away from its training reference
    # the edge and its data
    DATA_QUALITY = "data_quality"  # a contract breach or a gap (rate-limited per tag)
    REJECTED_MESSAGE = "rejected_message"  # undecodable input, quarantined (per topic, hourly)
    CLOCK_SKEW = "clock_skew"  # a source's clock moved away from the edge's
    QUARANTINE_REPLAYED = "quarantine_replayed"  # quarantined items stored after a fix
    ENVELOPE_BLOCKED = "envelope_blocked"  # an intervention outside its action envelope
    BLOCKED_PUBLISH = "blocked_publish"  # a publish outside the edge's topic allowlist
    SCORING_RESTARTED = "scoring_restarted"  # the scoring watchdog replaced a stuck worker
    EDGE_LINK = "edge_link"  # buffering / replaying / online
    EDGE_STATE = "edge_state"  # birth or death document
    EDGE_HEARTBEAT = "edge_heartbeat"
    EDGE_EVENT = "edge_event"  # an edge document of a kind this release does not know
    DEMO_STARTED = "demo_started"

    @classmethod
    def parse(cls, value: str) -> EventKind:
        """The member named ``value``; ``EDGE_EVENT`` for a kind this release does not know.

        >>> EventKind.parse("model_loaded"), EventKind.parse("from-a-newer-edge")
        (<EventKind.MODEL_LOADED: 'model_loaded'>, <EventKind.EDGE_EVENT: 'edge_event'>)
        """
        try:
            return cls(value)
        except ValueError:
            return cls.EDGE_EVENT


@dataclass(frozen=True, slots=True)
class Event:
    """Something worth keeping a record of: what (kind), about what (subject), who and when."""

    kind: EventKind | str  # an ``EventKind``; the store hands back its value as stored
    subject: str
    detail: str
    at: datetime
    by: str = "system"
    record: str | None = None  # hash of the record this event is about (a user row...), if any
    #: position in the audit chain, as stored (None: not stored yet); not part of equality
    seq: int | None = field(default=None, compare=False)

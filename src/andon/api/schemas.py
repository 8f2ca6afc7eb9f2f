"""Typed request and response bodies of the JSON API, and their mapping from domain records."""

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field

from andon.app.signatures import SignatureIn
from andon.audit import Meaning, Signature
from andon.auth.access import PERMISSIONS, User
from andon.contracts.quarantine import Quarantined
from andon.edge.heartbeat import EdgeStatus
from andon.feedback import Feedback, FeedbackKind, Label
from andon.interventions.lifecycle import InterventionState
from andon.interventions.record import OutcomeLabel
from andon.interventions.wire import InterventionDoc as InterventionOut
from andon.registry.record import ModelRecord

__all__ = [
    "MAX_STORED_INT",
    "EdgeOut",
    "ErrorOut",
    "FeedbackIn",
    "FeedbackOut",
    "FeedbackResult",
    "Health",
    "InterventionOut",
    "Me",
    "ModelOut",
    "OutcomeIn",
    "OutcomeResult",
    "QuarantinedDetail",
    "QuarantinedOut",
    "SpecOut",
    "SpecSaved",
    "StageChangeIn",
    "StoredId",
    "TokenIn",
    "TokenOut",
    "TransitionIn",
    "TransitionOut",
    "TransitionResult",
]

_MAX_TOKEN_TTL_S = 365 * 86400.0

#: the largest integer the store keeps (a signed 64-bit column, SQLite's and PostgreSQL's)
MAX_STORED_INT = 2**63 - 1
#: an integer id or version as a route takes it (a path parameter): 0 to 2**63 - 1. No record
#: can have another, so anything else is refused with 422 before the store is asked (a larger
#: one would overflow the database driver). Bodies bound theirs with ``MAX_STORED_INT``.
StoredId = Annotated[int, Field(ge=0, le=MAX_STORED_INT)]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorOut(_Out):
    """Every JSON error: one line, plus one line per problem when there are several."""

    error: str = Field(description="what went wrong, in one line")
    problems: list[str] | None = Field(
        default=None, description="one line per problem (an invalid plant spec, a request "
        "that breaks several rules); absent when there is one")


class Health(_Out):
    """Liveness plus a glance at what the store holds."""

    status: str = Field(description="'ok' when the API and its store answer")
    open_interventions: int
    samples: int
    models: list[str] = Field(description="model labels, e.g. 'pump-bearing v2'")


class Me(_Out):
    """The caller."""

    username: str
    display_name: str
    role: str = Field(description="role id from the plant spec")
    access: str = Field(description="viewer / operator / engineer / admin")
    permissions: list[str]

    @classmethod
    def of(cls, user: User) -> Self:
        """Describe ``user``."""
        granted = PERMISSIONS.get(user.access, frozenset())
        return cls(username=user.username, display_name=user.display_name or user.username,
                   role=user.role, access=user.access,
                   permissions=sorted(p.value for p in granted))


class TransitionOut(_Out):
    """One lifecycle move: from where to where, who, when and why."""

    from_state: InterventionState | None
    to_state: InterventionState
    by: str
    at: datetime
    reason: str


class TransitionIn(BaseModel):
    """A lifecycle move asked for: the target state, why, and (shelving) until when."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    to: InterventionState
    reason: str = Field(default="", max_length=2000,
                        description="required for deferred, dismissed and shelved")
    shelve_until: datetime | None = Field(
        default=None, description="shelving expiry (ISO 8601 with offset), at most 24 h ahead")


class OutcomeIn(BaseModel):
    """What was found after the action (or on a dismissed intervention)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: OutcomeLabel
    detail: str = Field(default="", max_length=4000, description="what was found")


class FeedbackIn(BaseModel):
    """What the owner says about an intervention."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: FeedbackKind
    reason: str = Field(default="", max_length=2000,
                        description="required when kind is 'deferred' or 'dismissed'")


class FeedbackOut(_Out):
    """Feedback given on an intervention."""

    intervention_id: str
    kind: FeedbackKind
    reason: str
    by: str
    at: datetime
    via: str = Field(description="web / api / mqtt / cmms")

    @classmethod
    def of(cls, fb: Feedback) -> Self:
        """Describe feedback."""
        return cls(intervention_id=fb.intervention_id, kind=fb.kind, reason=fb.reason,
                   by=fb.by, at=fb.at, via=fb.via)


class FeedbackResult(_Out):
    """The feedback just recorded and the intervention it moved."""

    feedback: FeedbackOut
    intervention: InterventionOut


class TransitionResult(_Out):
    """The move just recorded and the intervention it moved."""

    transition: TransitionOut
    intervention: InterventionOut


class OutcomeResult(_Out):
    """The outcome label just recorded and the intervention it belongs to."""

    label: Label
    intervention: InterventionOut


class ModelOut(_Out):
    """A registered model version and its lineage."""

    name: str
    version: int
    label: str
    use_case: str
    asset_kind: str
    features: list[str]
    units: list[str]
    threshold: float
    train_start: datetime
    train_end: datetime
    train_assets: list[str]
    train_windows: int
    data_sha256: str
    artifact_sha256: str
    created_at: datetime
    code_version: str
    params: dict[str, Any]
    metrics: dict[str, float]
    stage: str
    key_id: str | None
    signer: str | None
    signatures: list[str] = Field(
        default_factory=list, description="electronic signatures on this version, oldest "
        "first: meaning, printed name, login, time (UTC) and reason")

    @classmethod
    def of(cls, r: ModelRecord, signatures: list[Signature] | None = None) -> Self:
        """Describe a registered model version: lineage, stage, signer and signatures."""
        return cls(**asdict(r.meta), label=r.meta.label, stage=r.stage.value, key_id=r.key_id,
                   signer=r.signer, signatures=[s.manifest() for s in signatures or ()])


class EdgeOut(_Out):
    """An edge as it last reported itself (birth, heartbeats) in the store's events."""

    edge_id: str
    status: str = Field(description="online, or offline after a clean stop")
    link: str = Field(description="online / buffering / replaying")
    buffer_depth: int = Field(description="items waiting in the edge's outbox")
    dropped: dict[str, int] = Field(description="items dropped by the full-outbox policy")
    blocked: int = Field(description="publishes refused by the edge's allowlist guard")
    models: dict[str, str] = Field(description="use case -> model label")
    version: str
    config_hash: str
    heartbeat_s: float
    last_seen: datetime | None
    stale: bool = Field(description="no heartbeat for more than 3 intervals")
    watchdog_restarts: int = Field(description="scoring workers restarted after a stall")
    unacked: int = Field(0, description="items of the outbox the broker took that the central "
                         "ingest has not acknowledged yet (they stay in the outbox)")
    oldest_unacked_s: float = Field(0.0, description="age of the oldest unacknowledged item")
    resent: int = Field(0, description="items sent again for want of an acknowledgement")

    @classmethod
    def of(cls, status: EdgeStatus, now: datetime) -> Self:
        """Describe one edge's status, judging staleness at ``now``."""
        return cls(edge_id=status.edge_id, status=status.status, link=status.link,
                   buffer_depth=status.buffer_depth, dropped=status.dropped,
                   blocked=status.blocked, models=status.models, version=status.version,
                   config_hash=status.config_hash, heartbeat_s=status.heartbeat_s,
                   last_seen=status.last_seen, stale=status.stale(now),
                   watchdog_restarts=status.watchdog_restarts, unacked=status.unacked,
                   oldest_unacked_s=status.oldest_unacked_s, resent=status.resent)


class SignatureBody(BaseModel):
    """An electronic signature: the caller's password again and what the signature means.

    Needed where the spec's ``governance.esignatures`` asks for it; the password is checked
    like a sign-in (with its back-off) and never stored or echoed.
    """

    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=1000, description="your password, again")
    meaning: Meaning = Field(default=Meaning.APPROVED,
                             description="authored, reviewed or approved")

    def given(self, reason: str) -> SignatureIn:
        """What ``andon.app`` takes, with the change's reason."""
        return SignatureIn(self.password, self.meaning, reason)


class StageChangeIn(BaseModel):
    """Why a model version is promoted or archived, and the signature where one is needed."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="why (kept on record)")
    signature: SignatureBody | None = None

    def given(self) -> SignatureIn | None:
        """The signature for ``andon.app`` (None when none was sent)."""
        return None if self.signature is None else self.signature.given(self.reason)


class SpecOut(_Out):
    """The stored plant spec text, and the electronic signatures on that exact text."""

    version: int
    text: str
    by: str
    at: datetime
    signatures: list[str] = Field(default_factory=list, description="electronic signatures "
                                  "on this text, oldest first (meaning, name, login, time)")


class SpecSaved(_Out):
    """The version a new spec text was stored as."""

    version: int
    by: str
    at: datetime


class TokenIn(BaseModel):
    """Options for a new API token."""

    model_config = ConfigDict(extra="forbid")

    expires_in_s: float = Field(default=30 * 86400.0, gt=0, le=_MAX_TOKEN_TTL_S,
                                description="lifetime in seconds (default 30 days, max 365)")


class TokenOut(_Out):
    """A new API token; shown once, only its hash is stored."""

    token: str
    username: str
    expires_at: datetime


class QuarantinedOut(_Out):
    """A message kept out of the samples, with the rule it broke and why."""

    id: int
    received_at: datetime
    topic: str
    source: str | None = Field(description="producer id, when the payload could be read")
    tag: str | None = Field(description="enterprise/site/area/line/asset/tag, when known")
    asset: str | None
    rule: str = Field(description="rule code, e.g. out_of_range, unit_mismatch, malformed")
    reason: str
    size: int = Field(description="original payload size in bytes")
    truncated: bool = Field(description="the payload kept is cut at 64 kB")
    replayed_at: datetime | None = Field(description="when a replay stored it as a sample")

    @classmethod
    def fields_of(cls, q: Quarantined) -> dict[str, Any]:
        """The fields shared with ``QuarantinedDetail``."""
        return {
            "id": q.id or 0, "received_at": q.received_at, "topic": q.topic, "source": q.source,
            "tag": q.tag, "asset": None if q.address is None else q.address.asset,
            "rule": q.rule.value, "reason": q.reason, "size": q.size, "truncated": q.truncated,
            "replayed_at": q.replayed_at,
        }

    @classmethod
    def of(cls, q: Quarantined) -> Self:
        """Describe ``q`` without its payload."""
        return cls(**cls.fields_of(q))


class QuarantinedDetail(QuarantinedOut):
    """A quarantined message with its original payload."""

    payload: str = Field(description="the payload as UTF-8 text (undecodable bytes as U+FFFD)")

    @classmethod
    def of(cls, q: Quarantined) -> Self:
        """Describe ``q`` with its payload."""
        return cls(**cls.fields_of(q), payload=q.text())

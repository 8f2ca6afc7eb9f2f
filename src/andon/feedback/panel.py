"""Panel answers: feedback and outcomes sent by operator panels and HMIs over MQTT.

A client sends JSON to ``andon/v1/{ent}/_andon/feedback/{sender}`` (``sender``: the panel's or
client's own id, any topic-safe word) and gets the answer on
``andon/v1/{ent}/_andon/feedback-result/{sender}`` (QoS 1, not retained). Two shapes:

```json
{"id": "iv-...", "kind": "acted|deferred|dismissed", "reason": "...", "by": "ana", "ref": "42"}
{"id": "iv-...", "outcome": "fault_confirmed|no_fault|unsure", "detail": "what was found",
 "by": "ana", "ref": "43"}
```

``by`` must be a person id of the spec (``people:``) whose role grants the ``feedback``
permission; ``reason`` is required for deferred and dismissed; ``ref`` (optional) is echoed in
the answer so a client can match it. The answer is ``{"ok": true, "id": ..., "state": ...,
"ref": ...}`` or ``{"ok": false, "reason": "<one line>", "ref": ...}``. This module parses
and answers (pure); ``andon.app.answer_panel`` applies a message exactly as the API applies
an answer, with ``via`` = ``mqtt``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from andon.namespace.topics import PREFIX
from andon.text import one_line

__all__ = ["MAX_PAYLOAD", "FeedbackAnswer", "PanelMessage", "parse_feedback", "sender_of"]

MAX_PAYLOAD = 16_384


class PanelMessage(BaseModel):
    """One panel message, validated."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200)
    by: str = Field(min_length=1, max_length=200)
    kind: Literal["acted", "deferred", "dismissed"] | None = None
    reason: str = Field(default="", max_length=2000)
    outcome: Literal["fault_confirmed", "no_fault", "unsure"] | None = None
    detail: str = Field(default="", max_length=4000)
    ref: str | int | None = None


@dataclass(frozen=True, slots=True)
class FeedbackAnswer:
    """What came back for one message: ok (and the new state) or the one-line reason."""

    ok: bool
    intervention_id: str | None
    state: str | None = None
    reason: str = ""
    ref: str | int | None = None

    def to_json(self) -> bytes:
        """The result topic's payload."""
        body: dict[str, Any] = {"ok": self.ok, "id": self.intervention_id, "ref": self.ref}
        if self.ok:
            body["state"] = self.state
        else:
            body["reason"] = self.reason
        return json.dumps(body, separators=(",", ":")).encode()


def parse_feedback(payload: bytes,  # noqa: PLR0911 - one return per refusal
                   people: set[str]) -> PanelMessage | str:
    """The parsed message, or the one-line reason it is refused (one return per refusal)."""
    if len(payload) > MAX_PAYLOAD:
        return f"message is {len(payload)} bytes; at most {MAX_PAYLOAD}"
    try:
        raw = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return one_line(f"not JSON: {exc}")
    if not isinstance(raw, dict):
        return f"expected a JSON object, got {type(raw).__name__}"
    try:
        answer = PanelMessage.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "message"
        return one_line(f"{where}: {err['msg']}")
    if (answer.kind is None) == (answer.outcome is None):
        return ("give either 'kind' (acted, deferred, dismissed) or 'outcome' "
                "(fault_confirmed, no_fault, unsure)")
    if answer.by not in people:
        known = ", ".join(sorted(people)[:8]) or "none"
        return f"unknown person {answer.by!r} in 'by' (people of the spec: {known})"
    return answer


def sender_of(topic: str, enterprise: str) -> str | None:
    """The sender level of a feedback topic of ``enterprise``; None if it is not one."""
    prefix = f"{PREFIX}/{enterprise}/_andon/feedback/"
    if not topic.startswith(prefix):
        return None
    sender = topic[len(prefix):]
    return sender if sender and "/" not in sender else None

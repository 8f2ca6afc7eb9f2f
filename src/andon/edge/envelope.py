"""The action envelope: an intervention outside its use case's envelope never leaves the edge.

Andon advises; it never acts. Besides the publish guard (no tag or command topic, ever), each
use case may declare in the spec what its interventions may propose::

    envelope:
      verbs: [inspect, lubricate, replace]      # first word of the rendered action
      setpoints: {speed: [1200, 2900]}          # tag -> [min, max] of a proposed set-point

``EnvelopeCheck.allows`` is called on every intervention before it is stored or published.
An intervention whose action verb is not allowed, or that proposes a set-point for a tag
with no declared range or outside its range, is **blocked**: not stored, not published, and
not delivered; it is logged and kept as an ``envelope_blocked`` event (once per use case,
asset and reason an hour), and counted (``blocked``).

Set-points: an intervention proposes them through a ``setpoints`` mapping (tag -> value),
read from the record if it has one (``proposed_setpoints``); none is proposed today by the
built-in decider, so only the verbs apply to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import structlog

from andon.audit import Event, EventKind
from andon.clock import Clock
from andon.interventions import Intervention
from andon.spec.model import ActionEnvelope, PlantSpec

__all__ = ["EnvelopeCheck", "proposed_setpoints", "violation"]

log = structlog.get_logger("andon.edge.envelope")

_REPEAT = timedelta(hours=1)


def proposed_setpoints(iv: object) -> dict[str, float]:
    """The set-points an intervention proposes (tag -> value); empty if none."""
    found = getattr(iv, "setpoints", None)
    if not isinstance(found, Mapping):
        return {}
    out: dict[str, float] = {}
    for tag, value in found.items():
        try:
            out[str(tag)] = float(value)
        except (TypeError, ValueError):
            out[str(tag)] = math.nan  # unreadable: outside any range
    return out


def violation(envelope: ActionEnvelope, action: str, setpoints: Mapping[str, float]
              ) -> str | None:
    """Why ``action`` / ``setpoints`` fall outside ``envelope`` (one line), or None.

    >>> env = ActionEnvelope(verbs=["inspect"], setpoints={"speed": (1200.0, 2900.0)})
    >>> violation(env, "Inspect Pump P-101 at the stop", {"speed": 2400.0}) is None
    True
    >>> violation(env, "Open valve V-7", {})
    "action verb 'open' is not allowed (allowed: inspect)"
    >>> violation(env, "Inspect P-101", {"speed": 3400.0})
    'proposed set-point speed = 3400 is outside [1200, 2900]'
    """
    if envelope.verbs is not None:
        words = action.split()
        verb = words[0].lower().strip(".,:;!") if words else ""
        if verb not in envelope.verbs:
            return (f"action verb {verb!r} is not allowed (allowed: "
                    f"{', '.join(envelope.verbs)})")
    for tag, value in sorted(setpoints.items()):
        bounds = envelope.setpoints.get(tag)
        if bounds is None:
            return f"proposed set-point for {tag} has no declared range"
        low, high = bounds
        if not low <= value <= high:  # NaN fails too
            return f"proposed set-point {tag} = {value:g} is outside [{low:g}, {high:g}]"
    return None


class EnvelopeCheck:
    """Check interventions against their use case's envelope (see the module docstring)."""

    def __init__(self, spec: PlantSpec, clock: Clock,
                 record: Callable[[Event], None] | None = None) -> None:
        self.envelopes = {uc.id: uc.envelope for uc in spec.use_cases if uc.envelope}
        self.clock = clock
        self.record = record
        self.blocked = 0
        self._noted: dict[tuple[str, str, str], datetime] = {}

    def allows(self, iv: Intervention) -> bool:
        """True if ``iv`` is inside its envelope (or its use case declares none)."""
        envelope = self.envelopes.get(iv.use_case)
        if envelope is None:
            return True
        reason = violation(envelope, iv.action, proposed_setpoints(iv))
        if reason is None:
            return True
        self.blocked += 1
        now = self.clock.now()
        key = (iv.use_case, iv.asset, reason)
        last = self._noted.get(key)
        if last is None or now - last >= _REPEAT:
            self._noted[key] = now
            log.warning("intervention blocked by its envelope", use_case=iv.use_case,
                        asset=iv.asset, reason=reason)
            if self.record is not None:
                self.record(Event(EventKind.ENVELOPE_BLOCKED, f"{iv.use_case}/{iv.asset}",
                                  f"{iv.id}: {reason}; action {iv.action!r}", now))
        return False

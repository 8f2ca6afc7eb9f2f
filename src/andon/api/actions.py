"""What the surfaces do to the store, written once for the JSON API and the web inbox alike."""

from dataclasses import dataclass
from datetime import datetime

from andon.auth.access import User
from andon.clock import Clock
from andon.interventions.lifecycle import InterventionState, TransitionRecord
from andon.interventions.record import (
    Feedback,
    FeedbackKind,
    Intervention,
    Label,
    Outcome,
    OutcomeLabel,
)
from andon.registry import ModelRecord, Registry
from andon.spec.loader import load_spec_text
from andon.spec.model import PlantSpec
from andon.store.base import Event, SpecVersion, Store

__all__ = ["Actions", "PlantRef"]

#: file name used in spec problems reported for text sent over HTTP
SPEC_FILENAME = "plant.yaml"


class PlantRef:
    """The plant spec the surfaces currently show; replaced when a new spec is accepted."""

    def __init__(self, spec: PlantSpec) -> None:
        self._spec = spec

    def get(self) -> PlantSpec:
        """Return the current spec."""
        return self._spec

    def set(self, spec: PlantSpec) -> None:
        """Use ``spec`` from now on."""
        self._spec = spec


@dataclass(frozen=True, slots=True)
class Actions:
    """State-changing operations shared by the surfaces; each records an ``Event``."""

    store: Store
    clock: Clock
    plant: PlantRef

    def give_feedback(self, intervention_id: str, kind: FeedbackKind, reason: str,
                      user: User, via: str = "api") -> tuple[Feedback, Intervention]:
        """Record ``user``'s feedback on an intervention (and its label).

        Raises ``NotFound`` for an unknown id, ``FeedbackError`` when the feedback breaks a
        rule (closed intervention, dismissal without a reason) and ``LifecycleError`` for a
        move the lifecycle refuses.
        """
        self.store.get_intervention(intervention_id)  # NotFound before anything is written
        fb = Feedback(intervention_id=intervention_id, kind=kind, reason=reason.strip(),
                      by=user.username, at=self.clock.now(), via=via)
        iv = self.store.record_feedback(fb)
        detail = kind.value + (f": {fb.reason}" if fb.reason else "")
        self.store.add_event(Event(kind="feedback", subject=intervention_id, detail=detail,
                                   at=fb.at, by=user.username))
        return fb, iv

    def transition(self, intervention_id: str, target: InterventionState, reason: str,
                   user: User, *,
                   shelve_until: datetime | None = None,
                   via: str = "api") -> tuple[TransitionRecord, Intervention]:
        """Move an intervention through its lifecycle as ``user``; records a ``transition`` event.

        ``NotFound`` for an unknown id; ``LifecycleError`` (the one-line reason) if refused.
        """
        iv, move = self.store.transition_intervention(
            intervention_id, target, by=user.username, at=self.clock.now(), reason=reason.strip(),
            shelve_until=shelve_until, via=via)
        detail = f"{move.from_state} -> {move.to_state}" + (f": {move.reason}"
                                                            if move.reason else "")
        self.store.add_event(Event(kind="transition", subject=intervention_id, detail=detail,
                                   at=move.at, by=user.username))
        return move, iv

    def record_outcome(self, intervention_id: str, label: OutcomeLabel, detail: str, user: User,
                       via: str = "api") -> tuple[Label, Intervention]:
        """Record what was found on an intervention (and its label); ``FeedbackError`` if early."""
        outcome = Outcome(intervention_id=intervention_id, label=label, detail=detail.strip(),
                          by=user.username, at=self.clock.now(), via=via)
        iv, stored = self.store.record_outcome(outcome)
        text = label.value + (f": {outcome.detail}" if outcome.detail else "")
        self.store.add_event(Event(kind="outcome", subject=intervention_id, detail=text,
                                   at=outcome.at, by=user.username))
        return stored, iv

    def replace_spec(self, text: str, user: User) -> SpecVersion:
        """Validate and store a new plant spec text; raises ``SpecErrors`` if it is not valid."""
        spec = load_spec_text(text, SPEC_FILENAME)
        saved = self.store.save_spec(text, user.username, self.clock.now())
        self.store.add_event(Event(kind="spec", subject=f"v{saved.version}",
                                   detail=f"plant spec replaced ({spec.tag_count()} tags)",
                                   at=saved.at, by=user.username))
        self.plant.set(spec)
        return saved

    def promote_model(self, name: str, version: int, reason: str, user: User) -> ModelRecord:
        """Make a signed version production (archiving the previous one); records who and why.

        ``NotFound`` for an unknown version; ``RegistryError`` / ``StageError`` if not allowed.
        """
        return Registry(self.store, self.clock).promote(name, version, user.username, reason)

    def archive_model(self, name: str, version: int, reason: str, user: User) -> ModelRecord:
        """Retire a version so that no edge serves it; records who and why."""
        return Registry(self.store, self.clock).archive(name, version, user.username, reason)

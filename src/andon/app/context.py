"""Who acts (``Actor``), on what (``Context``), and what came of it (``Change``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from andon.auth.access import Permission, User, require
from andon.errors import AndonError
from andon.feedback.answers import Via
from andon.interventions.record import SYSTEM

if TYPE_CHECKING:
    from pathlib import Path

    from andon.audit import Event
    from andon.clock import Clock
    from andon.spec.model import PlantSpec
    from andon.store.base import Store

__all__ = ["Actor", "Change", "Context", "PlantRef"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does something, with which access, through which surface.

    ``name`` is what the record keeps (a login, a person id of the spec, ``andon`` for the
    system, ``cmms:<sink>`` for a CMMS); ``access`` is the access level that grants
    permissions (viewer / operator / engineer / admin).
    """

    name: str
    role: str
    access: str
    via: Via = Via.API

    @classmethod
    def of(cls, user: User, via: Via) -> Actor:
        """The actor a signed-in user is on ``via``."""
        return cls(user.username, user.role, user.access, via)

    @classmethod
    def system(cls, name: str = SYSTEM, via: Via = Via.SYSTEM) -> Actor:
        """Andon itself (escalation, shelving expiry) or a trusted integration (a CMMS)."""
        return cls(name, "system", "admin", via)

    def require(self, permission: Permission) -> None:
        """``Forbidden`` (naming who, the role and what) unless the actor holds ``permission``."""
        require(User(self.name, self.role, self.access), permission)


class PlantRef:
    """The plant spec in force; replaced when a new spec is accepted (``replace_spec``)."""

    def __init__(self, spec: PlantSpec) -> None:
        self._spec = spec

    def get(self) -> PlantSpec:
        """The current spec."""
        return self._spec

    def set(self, spec: PlantSpec) -> None:
        """Use ``spec`` from now on."""
        self._spec = spec


@dataclass(frozen=True, slots=True)
class Context:
    """What every use case works on: the store, the clock and the plant spec in force."""

    store: Store
    clock: Clock
    plant: PlantRef | None = None  # None: a use case that needs no spec (escalation)
    models_dir: Path | None = None  # model artifacts (registering, verifying a promotion)
    trusted_keys: Path | None = None  # the plant's trusted public keys (verifying a promotion)

    @property
    def spec(self) -> PlantSpec:
        """The plant spec in force (``AndonError`` if this context was given none)."""
        if self.plant is None:
            raise AndonError("no plant spec in this context")
        return self.plant.get()

    def record(self, events: list[Event]) -> Callable[[Event], None]:
        """An event sink that stores each event and appends it to ``events``."""

        def keep(event: Event) -> None:
            self.store.add_event(event)
            events.append(event)

        return keep


@dataclass(frozen=True, slots=True)
class Change(Generic[T]):
    """What a use case changed: the record as it is now, and the events it wrote."""

    record: T
    events: tuple[Event, ...] = field(default=())

"""One exception tree for Andon; ``str(exc)`` is the one-line reason a user sees.

::

    AndonError
    ├── SpecError                 plant spec file cannot be used (file:line field: reason)
    │   └── SpecErrors            several SpecError at once (one line each)
    ├── PayloadError              a UNS message could not be decoded (topic: reason)
    ├── ModelError                a model artifact is missing, corrupt, unsigned or untrusted
    ├── RegistryError             the model registry refused an operation (unsigned, no reason)
    │   └── StageError            an illegal model stage transition (names both stages)
    ├── StoreError                the store refused an operation
    │   └── NotFound              a record asked for does not exist
    ├── FeedbackError             feedback breaks a rule (e.g. dismissal without reason)
    ├── LifecycleError            an illegal intervention transition (names both states, legal ones)
    ├── LinkError                 an illegal edge link state transition (names both states)
    └── AuthError                 the caller is unknown (401)
        └── Forbidden             the caller is known but lacks the role (403)

The API maps this tree to HTTP status codes in one place (``andon.api.errors``).
"""

from __future__ import annotations

__all__ = [
    "AndonError",
    "AuthError",
    "FeedbackError",
    "Forbidden",
    "LifecycleError",
    "LinkError",
    "ModelError",
    "NotFound",
    "PayloadError",
    "RegistryError",
    "SpecError",
    "SpecErrors",
    "StageError",
    "StoreError",
]


class AndonError(Exception):
    """Base of every error Andon raises on purpose."""


class SpecError(AndonError):
    """A plant spec problem located at ``file:line`` and a field path."""

    def __init__(self, file: str, line: int | None, field: str, reason: str) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.reason = reason
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where} {field}: {reason}" if field else f"{where}: {reason}")


class SpecErrors(SpecError):
    """Several spec errors; ``str`` gives one line per error, first line first."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.file, first.line, first.field, first.reason)
        self.args = ("\n".join(str(e) for e in errors),)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class PayloadError(AndonError):
    """A message on the UNS that cannot become a sample."""

    def __init__(self, topic: str, reason: str) -> None:
        self.topic = topic
        self.reason = reason
        super().__init__(f"{topic}: {reason}")


class ModelError(AndonError):
    """A model artifact that cannot be used, with the path and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class RegistryError(AndonError):
    """The model registry refused an operation (e.g. promoting an unsigned version)."""


class StageError(RegistryError):
    """A model stage change the lifecycle does not allow, naming both stages."""

    def __init__(self, model: str, current: str, target: str, reason: str) -> None:
        self.model = model
        self.current = current
        self.target = target
        self.reason = reason
        super().__init__(f"{model}: cannot move from {current} to {target} ({reason})")


class StoreError(AndonError):
    """The store refused an operation."""


class NotFound(StoreError):
    """A record asked for does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} not found")


class FeedbackError(AndonError):
    """Feedback that breaks a rule, e.g. a dismissal without a reason."""


class LifecycleError(AndonError):
    """An intervention state change the lifecycle refuses, naming both states and the legal ones."""

    def __init__(self, current: str, target: str, reason: str,
                 legal: tuple[str, ...] = ()) -> None:
        self.current = current
        self.target = target
        self.reason = reason
        self.legal = legal
        super().__init__(f"cannot move intervention from {current} to {target} ({reason})")


class LinkError(AndonError):
    """An edge link state change the link refuses (e.g. online -> replaying), naming both."""

    def __init__(self, current: str, target: str, reason: str) -> None:
        self.current = current
        self.target = target
        self.reason = reason
        super().__init__(f"edge link cannot move from {current} to {target} ({reason})")


class AuthError(AndonError):
    """The caller could not be identified (HTTP 401)."""


class Forbidden(AuthError):
    """The caller is identified but their role does not allow this (HTTP 403)."""

    def __init__(self, who: str, role: str, needs: str) -> None:
        self.who = who
        self.role = role
        self.needs = needs
        super().__init__(f"{who} (role {role}) may not {needs}")

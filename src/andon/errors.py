"""One exception tree for Andon; ``str(exc)`` is the one-line reason a user sees.

Each class declares one HTTP status (``http_status``: the API's answer when a request fails
with it, mapped in ``andon.api.errors``) and one exit code (``exit_code``: what ``andon``
exits with after printing ``error: <the line>``). A subclass declares its own, even when it
is its parent's::

    class                   HTTP  exit  raised when
    AndonError               400     1  anything else raised on purpose
    ├── SettingsError        500     2  a setting (flag or ANDON_* variable) has a bad value
    ├── SpecError            422     3  plant spec file cannot be used (file:line field: reason)
    │   └── SpecErrors       422     3  several SpecError at once (one line each)
    ├── PayloadError         422     3  a UNS message could not be decoded (topic: reason)
    ├── HistorianError       422     3  a historian export cannot be read (file:line: reason)
    ├── DatasetError         422     3  a labelled dataset folder cannot be evaluated on
    ├── ItDataError          422     3  a CMMS export or asset map cannot be read
    ├── ConnectorError       422     3  a connector was given a bad URL, endpoint or host id
    │   └── OptionError      422     2  one option of a connector plug-in is not usable
    ├── PluginError          500     7  a plug-in asked for is not installed or did not load
    ├── ModelError           409     5  a model artifact is missing, corrupt, unsigned or untrusted
    ├── RegistryError        409     5  the model registry refused (unsigned, no reason given)
    │   └── StageError       409     5  an illegal model stage transition (names both stages)
    ├── TrainingError        422     5  training cannot produce a model (says what to change)
    ├── ReplayError          422     5  a backtest cannot start (unknown use case, no model)
    ├── ReportError          422     3  a report asked for an unknown model, version or line
    ├── RolloutError         409     5  an illegal rollout move (names the stage and why)
    │   └── GateNotMet       409     5  a rollout stage's gate is not met (names each figure)
    ├── StoreError           409     5  the store refused an operation
    │   ├── NotFound         404     4  a record asked for does not exist
    │   └── StoreUnavailable 503     7  the database cannot be reached or opened
    ├── FeedbackError        422     5  feedback breaks a rule (e.g. dismissal without reason)
    ├── LifecycleError       409     5  an illegal intervention transition (names both states)
    ├── LinkError            409     5  an illegal edge link state transition (names both states)
    ├── SinkError            500     7  a sink is misconfigured (a secret's variable is not set)
    ├── ServiceError         503     7  a service Andon started did not come up or died
    ├── AuthError            401     6  the caller is unknown
    │   ├── Forbidden        403     6  the caller is known but lacks the role
    │   ├── SignInLocked     429     6  too many failed sign-ins: locked for a while
    │   └── SignatureRequired 403    6  a change needs an electronic signature (or a second one)
    └── PasswordRejected     422     3  a new password breaks the policy (says why)

``ExitCode`` says what each exit code means; an ``OSError`` (a file that cannot be written, a
broker that cannot be reached) also ends ``andon`` with one line, exit code 7. The generated
``docs/reference/errors.md`` renders this table from the classes; a test keeps the drawing
above equal to them.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar

__all__ = [
    "AndonError",
    "AuthError",
    "ConnectorError",
    "DatasetError",
    "ExitCode",
    "FeedbackError",
    "Forbidden",
    "GateNotMet",
    "HistorianError",
    "ItDataError",
    "LifecycleError",
    "LinkError",
    "ModelError",
    "NotFound",
    "OptionError",
    "PasswordRejected",
    "PayloadError",
    "PluginError",
    "RegistryError",
    "ReplayError",
    "ReportError",
    "RolloutError",
    "ServiceError",
    "SettingsError",
    "SignInLocked",
    "SignatureRequired",
    "SinkError",
    "SpecError",
    "SpecErrors",
    "StageError",
    "StoreError",
    "StoreUnavailable",
    "TrainingError",
]


class ExitCode(IntEnum):
    """What the exit status of an ``andon`` command says; each error class declares one."""

    OK = 0  # the command did what it was asked
    ERROR = 1  # an Andon error not covered below
    USAGE = 2  # a bad command line or setting (flag or ANDON_* variable); Typer's usage errors
    BAD_INPUT = 3  # an input (spec, file, message, URL) cannot be used as given
    NOT_FOUND = 4  # a record asked for does not exist
    REFUSED = 5  # a rule says no: lifecycle, registry, store, training, a model artifact
    AUTH = 6  # the caller is unknown or lacks the permission
    UNAVAILABLE = 7  # something needed from outside is missing or unreachable (OSError too)


class AndonError(Exception):
    """Base of every error Andon raises on purpose."""

    #: HTTP status of the API's answer when a request fails with this error
    http_status: ClassVar[int] = 400
    #: what ``andon`` exits with when a command fails with this error
    exit_code: ClassVar[ExitCode] = ExitCode.ERROR


class SettingsError(AndonError):
    """A setting whose value cannot be used: names the key, where the value came from, and it.

    ``source`` is ``"flag"``, ``"env"`` or ``"default"``; ``shown`` is the value as it may be
    shown (shell-quoted; a secret's is masked by the caller, never passed here in clear);
    an empty ``shown`` means no value was given at all.
    """

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[ExitCode] = ExitCode.USAGE

    def __init__(self, key: str, source: str, shown: str, reason: str, *, flag: str,
                 env: str) -> None:
        self.key = key
        self.source = source
        self.shown = shown
        self.reason = reason
        self.flag = flag
        self.env = env
        if source == "flag":
            line = f"{flag} {shown}: {reason} (setting {key}, env {env})"
        elif source == "env":
            line = f"{env}={shown}: {reason} (setting {key}, flag {flag})"
        elif shown:
            line = f"default {shown}: {reason} (setting {key}: set {flag} or {env})"
        else:
            line = f"{reason} (setting {key}: give {flag} or set {env})"
        super().__init__(line)


class SpecError(AndonError):
    """A plant spec problem located at ``file:line`` and a field path."""

    http_status: ClassVar[int] = 422
    exit_code: ClassVar[ExitCode] = ExitCode.BAD_INPUT

    def __init__(self, file: str, line: int | None, field: str, reason: str) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.reason = reason
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where} {field}: {reason}" if field else f"{where}: {reason}")


class SpecErrors(SpecError):
    """Several spec errors; ``str`` gives one line per error, first line first."""

    http_status: ClassVar[int] = 422
    exit_code: ClassVar[ExitCode] = ExitCode.BAD_INPUT

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.file, first.line, first.field, first.reason)
        self.args = ("\n".join(str(e) for e in errors),)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class PayloadError(AndonError):
    """A message on the UNS that cannot become a sample."""

    http_status: ClassVar[int] = 422
    exit_code: ClassVar[ExitCode] = ExitCode.BAD_INPUT

    def __init__(self, topic: str, reason: str) -> None:
        self.topic = topic
        self.reason = reason
        super().__init__(f"{topic}: {reason}")


class HistorianError(AndonError):
    """A historian export that cannot be read as a whole (one line naming the file and why)."""

    http_status: ClassVar[int] = 422
    exit_code: ClassVar[ExitCode] = ExitCode.BAD_INPUT


class DatasetError(AndonError):
    """A labelled dataset folder (SKAB, C-MAPSS) cannot be evaluated on: one line naming it."""

    http_status: ClassVar[int] = 422
    exit_code: ClassVar[ExitCode] = ExitCode.BAD_INPUT


class ItDataError(AndonError):
    """An IT data file (CMMS export, asset map) that cannot be read (names the file and why)."""

    http_status: ClassVar[int] = 422
    exit_code: ClassVar[ExitCode] = ExitCode.BAD_INPUT


class ConnectorError(AndonError):
    """A connector given something it cannot use: a broker URL, an endpoint, a host id."""

    http_status: ClassVar[int] = 422
    exit_code: ClassVar[ExitCode] = ExitCode.BAD_INPUT


class OptionError(ConnectorError):
    """One option of a connector plug-in is not usable; ``option`` is the field it is about."""

    http_status: ClassVar[int] = 422
    exit_code: ClassVar[ExitCode] = ExitCode.USAGE

    def __init__(self, option: str, reason: str) -> None:
        self.option = option
        self.reason = reason
        super().__init__(reason)


class PluginError(AndonError):
    """A plug-in asked for is not installed or did not load; ``str`` is the one-line reason."""

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[ExitCode] = ExitCode.UNAVAILABLE

    def __init__(self, group: str, name: str, reason: str) -> None:
        self.group = group
        self.name = name
        self.reason = reason
        super().__init__(reason)


class ModelError(AndonError):
    """A model artifact that cannot be used, with the path and the reason."""

    http_status: ClassVar[int] = 409
    exit_code: ClassVar[ExitCode] = ExitCode.REFUSED

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class RegistryError(AndonError):
    """The model registry refused an operation (e.g. promoting an unsigned version)."""

    http_status: ClassVar[int] = 409
    exit_code: ClassVar[ExitCode] = ExitCode.REFUSED


class StageError(RegistryError):
    """A model stage change the lifecycle does not allow, naming both stages."""

    http_status: ClassVar[int] = 409
    exit_code: ClassVar[ExitCode] = ExitCode.REFUSED

    def __init__(self, model: str, current: str, target: str, reason: str) -> None:
        self.model = model
        self.current = current
        self.target = target
        self.reason = reason
        super().__init__(f"{model}: cannot move from {current} to {target} ({reason})")


class TrainingError(AndonError):
    """Training could not produce a model (the message says why and what to change)."""

    http_status: ClassVar[int] = 422
    exit_code: ClassVar[ExitCode] = ExitCode.REFUSED


class ReplayError(AndonError):
    """A replay cannot start (unknown use case, no model, model refused): one line why."""

    http_status: ClassVar[int] = 422
    exit_code: ClassVar[ExitCode] = ExitCode.REFUSED


class ReportError(AndonError):
    """A report was asked for something the plant does not have (a model, a line): one line."""

    http_status: ClassVar[int] = 422
    exit_code: ClassVar[ExitCode] = ExitCode.BAD_INPUT


class RolloutError(AndonError):
    """A rollout move that is not allowed now (stage, lines, shift, reason): one line why."""

    http_status: ClassVar[int] = 409
    exit_code: ClassVar[ExitCode] = ExitCode.REFUSED


class GateNotMet(RolloutError):
    """A rollout stage's gate is not met: each unmet figure against its limit."""

    http_status: ClassVar[int] = 409
    exit_code: ClassVar[ExitCode] = ExitCode.REFUSED


class StoreError(AndonError):
    """The store refused an operation, or cannot be opened."""

    http_status: ClassVar[int] = 409
    exit_code: ClassVar[ExitCode] = ExitCode.REFUSED


class NotFound(StoreError):
    """A record asked for does not exist."""

    http_status: ClassVar[int] = 404
    exit_code: ClassVar[ExitCode] = ExitCode.NOT_FOUND

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} not found")


class StoreUnavailable(StoreError):
    """The database cannot be reached or opened (server down, file not creatable)."""

    http_status: ClassVar[int] = 503
    exit_code: ClassVar[ExitCode] = ExitCode.UNAVAILABLE


class FeedbackError(AndonError):
    """Feedback that breaks a rule, e.g. a dismissal without a reason."""

    http_status: ClassVar[int] = 422
    exit_code: ClassVar[ExitCode] = ExitCode.REFUSED


class LifecycleError(AndonError):
    """An intervention state change the lifecycle refuses, naming both states and the legal ones."""

    http_status: ClassVar[int] = 409
    exit_code: ClassVar[ExitCode] = ExitCode.REFUSED

    def __init__(self, current: str, target: str, reason: str,
                 legal: tuple[str, ...] = ()) -> None:
        self.current = current
        self.target = target
        self.reason = reason
        self.legal = legal
        super().__init__(f"cannot move intervention from {current} to {target} ({reason})")


class LinkError(AndonError):
    """An edge link state change the link refuses (e.g. online -> replaying), naming both."""

    http_status: ClassVar[int] = 409
    exit_code: ClassVar[ExitCode] = ExitCode.REFUSED

    def __init__(self, current: str, target: str, reason: str) -> None:
        self.current = current
        self.target = target
        self.reason = reason
        super().__init__(f"edge link cannot move from {current} to {target} ({reason})")


class SinkError(AndonError):
    """A sink is misconfigured (missing secret, bad URL); ``str`` is the one-line reason."""

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[ExitCode] = ExitCode.UNAVAILABLE


class ServiceError(AndonError):
    """A service Andon started (a demo child process) did not come up or died; names its log."""

    http_status: ClassVar[int] = 503
    exit_code: ClassVar[ExitCode] = ExitCode.UNAVAILABLE


class AuthError(AndonError):
    """The caller could not be identified (HTTP 401)."""

    http_status: ClassVar[int] = 401
    exit_code: ClassVar[ExitCode] = ExitCode.AUTH


class Forbidden(AuthError):
    """The caller is identified but their role does not allow this (HTTP 403)."""

    http_status: ClassVar[int] = 403
    exit_code: ClassVar[ExitCode] = ExitCode.AUTH

    def __init__(self, who: str, role: str, needs: str) -> None:
        self.who = who
        self.role = role
        self.needs = needs
        super().__init__(f"{who} (role {role}) may not {needs}")


class SignInLocked(AuthError):
    """Too many failed sign-ins on a login or from an address: refused for a while (HTTP 429)."""

    http_status: ClassVar[int] = 429
    exit_code: ClassVar[ExitCode] = ExitCode.AUTH

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = max(1, int(retry_after_s + 0.999))
        super().__init__(f"too many failed sign-ins: try again in {self.retry_after_s} s")


class SignatureRequired(AuthError):
    """A change needs an electronic signature, or another person's earlier one (HTTP 403)."""

    http_status: ClassVar[int] = 403
    exit_code: ClassVar[ExitCode] = ExitCode.AUTH


class PasswordRejected(AndonError):
    """A new password breaks the password policy (HTTP 422); says what to change."""

    http_status: ClassVar[int] = 422
    exit_code: ClassVar[ExitCode] = ExitCode.BAD_INPUT

    def __init__(self, username: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"password for {username!r} refused: {'; '.join(problems)}")

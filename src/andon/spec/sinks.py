"""The ``sinks:`` section of the plant spec: where interventions are delivered.

A list of entries. Each names its ``type``, an installed sink plug-in (``andon plugins``
lists them; the built-ins are ``uns``, ``webhook`` and ``cmms``), and the keys that type reads,
which its plug-in validates; every entry also takes ``id``, ``enabled`` and the routing keys
``use_cases`` / ``priorities``:

```yaml
sinks:
  - type: uns                             # the asset's _andon/intervention topic
    retain: true
  - type: webhook
    id: plant-chat                        # the sink is named webhook:plant-chat
    url: https://chat.example.com/hooks/andon
    secret_env: ANDON_WEBHOOK_SECRET      # the variable holding the HMAC key, never the key
    priorities: [critical, high]          # default: all
    use_cases: [pump-bearing]             # default: all
  - type: cmms
    id: atlas
    url: http://cmms.example.com/api
    token_env: ANDON_CMMS_TOKEN           # optional bearer token, by variable name
    poll: 1min                            # how often work-order status is read back
```

A sink's name (its rows in ``deliveries``) is ``type:id``, or the type alone without an id;
names are unique. The list is the whole truth: without a ``uns`` entry there is no UNS sink.
Without a ``sinks:`` section the UNS sink is the only one.

The mapping form of Andon 0.2 is still read (``uns: {...}``, ``webhooks: [...]``,
``cmms: [...]``): its entries are of type ``uns``, ``webhook`` and ``cmms``, and the UNS sink is
on unless ``uns: {enabled: false}``. Errors name the keys as written in either form.

Secrets are named, never written: the spec holds the *name* of an environment variable.

A type's settings may name roles of the spec (the e-mail sink's ``to:`` per role): its
settings model then has ``role_refs()``, the (key path, role id) of each, and a role the spec
does not define is refused at that key like any other dangling reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    TypeAdapter,
    field_validator,
    model_validator,
)

from andon.plugins import SINKS
from andon.spec.fields import FieldError, unknown
from andon.spec.plugins import check_settings, plugin_named

__all__ = ["SinkEntry", "SinksConfig", "sink_problems"]

Path = tuple[str | int, ...]

_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
PriorityName = Literal["critical", "high", "medium", "low"]
#: the keys of the 0.2 mapping form and the sink type of their entries
_MAPPING_FORM = {"uns": "uns", "webhooks": "webhook", "cmms": "cmms"}


class SinkEntry(BaseModel):
    """One sink: its type, its name, which interventions it takes, and its type's own keys."""

    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)

    type: str = Field(description="an installed sink type (andon plugins): uns, webhook, cmms, "
                      "or a plug-in's; the type's own keys sit beside it")
    id: Annotated[str | None, Field(pattern=_ID)] = Field(
        default=None, description="names the sink type:id (default: the type alone); needed "
        "when a type is listed twice")
    enabled: bool = Field(default=True, description="false: kept in the spec, not delivered to")
    use_cases: list[str] | None = Field(default=None, description="use case ids; default: all")
    priorities: list[PriorityName] | None = Field(
        default=None, description="priorities taken (critical, high, medium, low); default: all")
    #: the type's settings as its plug-in validated them (None: not validated, or no model)
    _config: BaseModel | None = PrivateAttr(default=None)

    @property
    def name(self) -> str:
        """The sink's name in ``deliveries``: ``type:id``, or ``type``."""
        return self.type if self.id is None else f"{self.type}:{self.id}"

    @property
    def settings(self) -> dict[str, Any]:
        """The keys its type reads (everything but the keys every entry takes)."""
        return dict(self.model_extra or {})

    def role_refs(self) -> list[tuple[Path, str]]:
        """The roles its settings name: (key path within the entry, role id)."""
        refs = getattr(self._config, "role_refs", None)
        return list(refs()) if callable(refs) else []

    @model_validator(mode="after")
    def _type_settings(self) -> SinkEntry:
        plugin = plugin_named(SINKS, self.type, "type")
        self._config = check_settings(plugin, self.settings, also=type(self).model_fields)
        return self


def _typed(sink_type: str) -> Callable[[Any], Any]:
    """A before-validator giving each mapping-form entry its type."""

    def add(value: Any) -> Any:
        def one(item: Any) -> Any:
            if not isinstance(item, dict):
                return item
            if item.get("type", sink_type) != sink_type:
                raise FieldError("type", f"an entry of this list is of type {sink_type!r}; "
                                 "write sinks: as a list to mix types")
            return {**item, "type": sink_type}

        return [one(i) for i in value] if isinstance(value, list) else one(value)

    return add


class _MappingForm(BaseModel):
    """The 0.2 form of the section: ``uns``, ``webhooks`` and ``cmms`` keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uns: SinkEntry | None = None
    webhooks: list[SinkEntry] = Field(default_factory=list)
    cmms: list[SinkEntry] = Field(default_factory=list)

    _uns = field_validator("uns", mode="before")(_typed("uns"))
    _webhooks = field_validator("webhooks", mode="before")(_typed("webhook"))
    _cmms = field_validator("cmms", mode="before")(_typed("cmms"))

    def entries(self) -> list[tuple[Path, SinkEntry]]:
        """Its sinks with their paths in the file, UNS first (on unless switched off)."""
        return [(("sinks", "uns"), self.uns or _default_uns()),
                *((("sinks", "webhooks", i), e) for i, e in enumerate(self.webhooks)),
                *((("sinks", "cmms", i), e) for i, e in enumerate(self.cmms))]


def _default_uns() -> SinkEntry:
    # not validated: a spec that names no sink must load even where no sink type is installed
    return SinkEntry.model_construct(type="uns")


class SinksConfig(BaseModel):
    """Where interventions are delivered besides the store and the inbox.

    In the file, ``sinks:`` is the list of entries itself (``SinkEntry``; each type's own keys
    under "Sink types" below), or the 0.2 mapping form (``uns``, ``webhooks``, ``cmms``).
    """

    model_config = ConfigDict(frozen=True)

    entries: tuple[SinkEntry, ...] = Field(
        default_factory=lambda: (_default_uns(),),
        description="the sinks; default: the UNS sink only")
    #: where each entry is in the file (``sinks[i]``, or ``sinks.webhooks[i]`` in the 0.2 form)
    _paths: tuple[Path, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _either_form(cls, data: Any, handler: ModelWrapValidatorHandler[SinksConfig],
                     ) -> SinksConfig:
        if isinstance(data, list):  # the list form (errors at sinks[i]...)
            entries = _ENTRIES.validate_python(data)
            paths: list[Path] = [("sinks", i) for i in range(len(entries))]
        elif isinstance(data, dict) and data and "entries" not in data:  # the 0.2 mapping form
            unknown = sorted(set(data) - set(_MAPPING_FORM))
            if unknown:
                raise FieldError(unknown[0], f"unknown field {unknown[0]!r} (write sinks: as a "
                                 "list of entries, each with its type, or use the 0.2 keys uns, "
                                 "webhooks, cmms)")
            located = _MappingForm.model_validate(data).entries()
            paths, entries = [p for p, _ in located], [e for _, e in located]
        else:  # SinksConfig(entries=...) in code, or {} (the default)
            return handler(data)
        config = handler({"entries": entries})
        config._paths = tuple(paths)  # noqa: SLF001 - its own private attribute
        return config

    def paths(self) -> list[Path]:
        """Each entry's path in the spec file, for error messages."""
        return list(self._paths) or [("sinks", i) for i in range(len(self.entries))]

    def enabled(self) -> list[SinkEntry]:
        """The entries that are delivered to, in spec order."""
        return [e for e in self.entries if e.enabled]

    def names(self) -> list[str]:
        """Names of the enabled sinks as recorded in ``deliveries`` (``uns``, ``webhook:ID``)."""
        return [e.name for e in self.enabled()]

    def of_type(self, sink_type: str) -> list[SinkEntry]:
        """The entries of one type (enabled or not)."""
        return [e for e in self.entries if e.type == sink_type]


_ENTRIES = TypeAdapter(list[SinkEntry])


def sink_problems(sinks: SinksConfig, use_case_ids: set[str],
                  role_ids: set[str] | None = None) -> list[tuple[Path, str]]:
    """Cross-checks of the section: unique sink names, known use cases and roles.

    (field path, reason) each; ``role_ids`` None: roles are not checked.
    """
    problems: list[tuple[Path, str]] = []
    seen: set[str] = set()
    known = ", ".join(sorted(use_case_ids)) or "none"
    for path, entry in zip(sinks.paths(), sinks.entries, strict=True):
        if role_ids is not None:
            problems.extend(((*path, *at), unknown("role", role, role_ids))
                            for at, role in entry.role_refs() if role not in role_ids)
        if entry.name in seen:
            reason = f"duplicate sink name {entry.name!r} (give each sink of a type its own id)"
            problems.append(((*path, "id"), reason))
        seen.add(entry.name)
        for j, uc in enumerate(entry.use_cases or []):
            if uc not in use_case_ids:
                problems.append(((*path, "use_cases", j),
                                 f"unknown use case {uc!r} (known: {known})"))
    return problems

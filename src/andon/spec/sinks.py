"""The ``sinks:`` section of the plant spec: where interventions are delivered.

```yaml
sinks:
  uns: {enabled: true, retain: true}      # the asset's _andon/intervention topic
  webhooks:
    - id: plant-chat
      url: https://chat.example.com/hooks/andon
      secret_env: ANDON_WEBHOOK_SECRET    # the variable holding the HMAC key, never the key
      priorities: [critical, high]        # default: all
      use_cases: [pump-bearing]           # default: all
  cmms:
    - id: atlas
      url: http://cmms.example.com/api
      token_env: ANDON_CMMS_TOKEN         # optional bearer token, by variable name
      poll: 1min                          # how often work-order status is read back
```

Secrets are named, never written: the spec holds the *name* of an environment variable.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from andon.units import parse_duration_s

__all__ = ["CmmsConfig", "SinksConfig", "UnsConfig", "WebhookConfig"]

_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
PriorityName = Literal["critical", "high", "medium", "low"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL (e.g. https://host/path)")
    if parts.password:
        raise ValueError("put credentials in an environment variable, not in the URL")
    return value


def _env_name(value: str) -> str:
    if not _ENV.match(value):
        raise ValueError(f"{value!r} is not an environment variable name (e.g. "
                         "ANDON_WEBHOOK_SECRET); the spec names the variable, never the secret")
    return value


def _optional_env_name(value: str | None) -> str | None:
    return None if value is None else _env_name(value)


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(  # noqa: TRY004 - pydantic reports only ValueError as a field error
            f"{value!r} is not a duration (e.g. '10s', '1min')")
    seconds = parse_duration_s(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{value!r} must be a positive duration (e.g. '10s', '1min')")
    return seconds


class _Routed(_Strict):
    """Which interventions a sink takes (None = all)."""

    use_cases: list[str] | None = Field(default=None, description="use case ids; default: all")
    priorities: list[PriorityName] | None = Field(
        default=None, description="priorities taken (critical, high, medium, low); default: all")


class UnsConfig(_Routed):
    """The UNS sink: ``andon/v1/{ent}/{site}/{area}/{line}/{asset}/_andon/intervention``."""

    enabled: bool = True
    retain: bool = Field(default=True, description="retained: late subscribers see the latest")


class WebhookConfig(_Routed):
    """A webhook: signed JSON POSTs, retried with backoff on errors, timeouts and 5xx."""

    id: Annotated[str, Field(pattern=_ID)]
    url: str
    secret_env: str = Field(description="environment variable holding the HMAC-SHA256 key")
    timeout: float = Field(default=10.0, description="per request, e.g. '10s'")
    max_attempts: int = Field(default=4, ge=1, le=10)

    _url = field_validator("url")(_http_url)
    _env = field_validator("secret_env")(_env_name)
    _timeout = field_validator("timeout", mode="before")(_seconds)


class CmmsConfig(_Routed):
    """A CMMS (Atlas-like work-order API): one work order per intervention."""

    id: Annotated[str, Field(pattern=_ID)]
    url: str = Field(description="base URL of the work-order API")
    token_env: str | None = Field(default=None,
                                  description="environment variable holding a bearer token")
    timeout: float = Field(default=10.0, description="per request, e.g. '10s'")
    poll: float = Field(default=60.0, description="how often work-order status is read back")

    _url = field_validator("url")(_http_url)
    _env = field_validator("token_env")(_optional_env_name)
    _durations = field_validator("timeout", "poll", mode="before")(_seconds)


class SinksConfig(_Strict):
    """Where interventions are delivered besides the store and the inbox."""

    uns: UnsConfig = Field(default_factory=UnsConfig)
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    cmms: list[CmmsConfig] = Field(default_factory=list)

    def names(self) -> list[str]:
        """Sink names as recorded in ``deliveries`` (``uns``, ``webhook:ID``, ``cmms:ID``)."""
        return ((["uns"] if self.uns.enabled else [])
                + [f"webhook:{w.id}" for w in self.webhooks] + [f"cmms:{c.id}" for c in self.cmms])


def sink_problems(sinks: SinksConfig,
                  use_case_ids: set[str]) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-checks of the section: unique sink ids, known use cases; (field path, reason)."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    groups: list[tuple[str, list[_Routed]]] = [("webhooks", list(sinks.webhooks)),
                                               ("cmms", list(sinks.cmms))]
    routed: list[tuple[tuple[str | int, ...], _Routed]] = [(("sinks", "uns"), sinks.uns)]
    for group, items in groups:
        seen: set[str] = set()
        for i, item in enumerate(items):
            routed.append((("sinks", group, i), item))
            sink_id = getattr(item, "id", "")
            if sink_id in seen:
                problems.append((("sinks", group, i, "id"), f"duplicate {group} id {sink_id!r}"))
            seen.add(sink_id)
    known = ", ".join(sorted(use_case_ids)) or "none"
    for path, item in routed:
        for j, uc in enumerate(item.use_cases or []):
            if uc not in use_case_ids:
                problems.append(((*path, "use_cases", j),
                                 f"unknown use case {uc!r} (known: {known})"))
    return problems

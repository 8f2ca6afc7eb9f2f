"""Webhook sink: POST the intervention document as JSON, signed, retried with backoff.

Each request carries:

- ``X-Andon-Timestamp``: Unix seconds when this attempt was signed;
- ``X-Andon-Signature: sha256=<hex>``: HMAC-SHA256, keyed with the shared secret, of
  ``timestamp + "." + body`` (the exact body bytes); ``verify_signature`` is the receiver's
  check (constant-time compare, and a timestamp tolerance against replays);
- ``Idempotency-Key: <dedup key>:<version>``: the same on every retry of one version.

Retries: on connection errors, timeouts and 5xx (a 4xx is the receiver refusing the request,
which another try will not change), up to ``max_attempts`` tries, waiting
``min(cap, base * 2**(n-1))`` scaled by a random factor in [0.5, 1) ("equal jitter") before
try n+1, so many Andon instances do not retry in lock step. The secret comes from the
environment variable the spec names; it is never stored, logged or shown in ``repr``.

Spec: ``- type: webhook`` with ``url``, ``secret_env`` (the variable holding the key),
``timeout`` (10 s) and ``max_attempts`` (4).

Why httpx: an async client with per-request timeouts and connection pooling, already used by
the test suite; the stdlib's ``urllib`` is blocking (a thread per delivery) and has no
connection reuse.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
from collections.abc import Awaitable, Callable, Mapping

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from andon.clock import Clock, SystemClock
from andon.sinks.base import Attempt, DeliveryResult, Outgoing, canonical_json, http_session
from andon.sinks.plugin import SinkContext, SinkPlugin, env_name, http_url, seconds
from andon.text import one_line

__all__ = ["PLUGIN", "Backoff", "WebhookConfig", "WebhookSink", "sign", "verify_signature"]

Sleep = Callable[[float], Awaitable[None]]
_SERVER_ERROR = 500


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, timestamp + "." + body).

    >>> sign(b"s3cret", "1764000000", b'{"id":"rec-1"}')[:15]
    'sha256=db47c3a7'
    """
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(secret: bytes, headers: Mapping[str, str], body: bytes, *,
                     now_s: float, tolerance_s: float = 300.0) -> str | None:
    """The receiver's check: None if genuine, else the one-line reason it is refused."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get("x-andon-timestamp", "")
    given = lowered.get("x-andon-signature", "")
    if not (timestamp.isascii() and timestamp.isdigit()):  # not "²", which int() refuses
        return "X-Andon-Timestamp missing or not an integer"
    if abs(now_s - int(timestamp)) > tolerance_s:
        return f"X-Andon-Timestamp {timestamp} is more than {tolerance_s:g}s away from now"
    # as bytes: compare_digest raises TypeError on a str with non-ASCII characters
    if not hmac.compare_digest(given.encode(), sign(secret, timestamp, body).encode()):
        return "X-Andon-Signature does not match the body"
    return None


class Backoff:
    """Delay before retry n (1-based): ``min(cap, base * 2**(n-1))`` times a factor in [0.5, 1)."""

    def __init__(self, base_s: float = 0.5, cap_s: float = 30.0,
                 rng: random.Random | None = None) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self._rng = rng or random.Random()  # jitter, not cryptography (S311 is off)

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry``."""
        ceiling = min(self.cap_s, self.base_s * (1 << max(retry - 1, 0)))
        return ceiling * (0.5 + self._rng.random() / 2)


class WebhookSink:
    """POST each intervention version to one URL, signed with a shared secret."""

    def __init__(self, name: str, url: str, secret: bytes, *, timeout_s: float = 10.0,
                 max_attempts: int = 4, backoff: Backoff | None = None,
                 clock: Clock | None = None, sleep: Sleep = asyncio.sleep,
                 client: httpx.AsyncClient | None = None) -> None:
        if not secret:
            raise ValueError(f"webhook {name}: the signing secret is empty")
        self._name = name
        self.url = url
        self._secret = secret
        self.timeout_s = timeout_s
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff or Backoff()
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._given = client

    def __repr__(self) -> str:
        return f"WebhookSink({self._name!r}, {self.url!r}, secret=***)"

    @property
    def name(self) -> str:
        """The sink's name in ``deliveries``."""
        return self._name

    async def deliver(self, item: Outgoing) -> DeliveryResult:
        """POST the document; retry connection errors, timeouts and 5xx with backoff."""
        body = canonical_json(item.document)
        attempts: list[Attempt] = []
        async with http_session(self.timeout_s, self._given) as http:
            for n in range(1, self.max_attempts + 1):
                attempt = await self._post(http, body, item)
                attempts.append(attempt)
                if attempt.ok or not _retryable(attempt) or n == self.max_attempts:
                    break
                await self._sleep(self.backoff.delay(n))
        return DeliveryResult(tuple(attempts))

    async def _post(self, http: httpx.AsyncClient, body: bytes, item: Outgoing) -> Attempt:
        now = self._clock.now()
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "andon-webhook/1",
            "X-Andon-Timestamp": timestamp,
            "X-Andon-Signature": sign(self._secret, timestamp, body),
            "Idempotency-Key": item.idempotency_key,
        }
        try:
            response = await http.post(self.url, content=body, headers=headers,
                                       timeout=self.timeout_s)
        except httpx.TimeoutException:
            return Attempt(now, ok=False, error=f"timed out after {self.timeout_s:g}s")
        except httpx.HTTPError as exc:
            return Attempt(now, ok=False,
                           error=one_line(f"{type(exc).__name__}: {exc}" if str(exc)
                                          else type(exc).__name__))
        status = response.status_code
        if status < httpx.codes.MULTIPLE_CHOICES:
            return Attempt(now, ok=True, http_status=status)
        return Attempt(now, ok=False, http_status=status,
                       error=one_line(f"HTTP {status}: {response.text}", 200))


def _retryable(attempt: Attempt) -> bool:
    """Connection errors and timeouts (no status) and 5xx are worth another try; others not."""
    status = attempt.http_status
    return status is None or status >= _SERVER_ERROR


class WebhookConfig(BaseModel):
    """A webhook: signed JSON POSTs, retried with backoff on errors, timeouts and 5xx."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    url: str
    secret_env: str = Field(description="environment variable holding the HMAC-SHA256 key")
    timeout: float = Field(default=10.0, description="per request, e.g. '10s'")
    max_attempts: int = Field(default=4, ge=1, le=10)

    _url = field_validator("url")(http_url)
    _env = field_validator("secret_env")(env_name)
    _timeout = field_validator("timeout", mode="before")(seconds)


def _build(config: WebhookConfig, context: SinkContext) -> WebhookSink:
    secret = context.secret(config.secret_env, "the webhook's signing secret")
    return WebhookSink(context.name, config.url, secret.encode(), timeout_s=config.timeout,
                       max_attempts=config.max_attempts, clock=context.clock)


PLUGIN = SinkPlugin(name="webhook", summary="Signed JSON POSTs (HMAC-SHA256), retried with "
                    "backoff.", config=WebhookConfig, build=_build)

"""Model pull: the edge fetches its production models from the central registry into a cache.

``andon edge --central URL --token-file F`` calls ``pull_models`` at start and then now and
then. For each model of the edge's use cases it asks ``GET /api/models/production``, and for
a production version it does not hold yet downloads ``GET /api/models/{name}/{version}/
artifact`` (a zip, ``andon.registry.bundle``), unpacks it beside the cache, and **verifies its
signature against the plant's trusted keys before it enters the cache**. A refused version
(unsigned, altered, truncated, untrusted key) is deleted, logged with a one-line reason and
kept as a ``model_refused`` event; the cache manifest is not changed, so the last known good
version keeps serving.

**Rollouts** follow the same path: ``GET /api/rollouts`` gives each use case's rollout as the
central side stores it; for one that is not withdrawn, the rolled-out version is downloaded
and verified like a production version, and the rollouts are kept in ``rollouts.json`` beside
the manifest. ``pulled_rollouts`` reads them back for the edge's model cache, so an edge on
a remote central service scores the challenger in shadow (or live) where the central side
says, and keeps doing so from the cache while that service is down.

The models directory is the cache. Its manifest ``cache.json`` records, per model, the
version that is production (as last confirmed by the central side), its key id and when it
was pulled; ``Edge.reload_models`` serves that version (verifying it again as it loads). With
the central service down, nothing changes: the edge starts and keeps serving from the cache.

HTTP: ``httpx`` (a runtime dependency): bounded connect/read timeouts, one connection reused
for the listing and the downloads, bearer auth, and typed errors to map to one-line reasons;
stdlib ``urllib`` would need all of that written by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import structlog

from andon.audit import Event, EventKind
from andon.errors import ModelError
from andon.registry.bundle import MAX_BUNDLE_BYTES, unpack
from andon.registry.signing import verify
from andon.rollout import Rollout, Stage
from andon.rollout.stages import from_doc, to_doc

__all__ = ["MANIFEST", "ROLLOUTS", "PullResult", "cached_version", "pull_every", "pull_models",
           "pulled_rollouts", "read_manifest"]

log = structlog.get_logger("andon.edge.pull")

#: the cache manifest, in the models directory
MANIFEST = "cache.json"
#: the rollouts last pulled from the central side, in the models directory
ROLLOUTS = "rollouts.json"


@dataclass
class PullResult:
    """What one pull did."""

    current: dict[str, int] = field(default_factory=dict)  # model -> production version held
    pulled: list[str] = field(default_factory=list)  # labels downloaded and verified
    refused: list[tuple[str, str]] = field(default_factory=list)  # (label, one-line reason)
    offline: str | None = None  # why the central service could not be asked (then: the cache)
    rollouts: list[Rollout] | None = None  # the central side's rollouts of these models


def read_manifest(models_dir: Path) -> dict[str, dict[str, Any]]:
    """The cache manifest (empty if there is none or it cannot be read)."""
    try:
        data = json.loads((models_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    models = data.get("models") if isinstance(data, dict) else None
    return {str(k): v for k, v in models.items() if isinstance(v, dict)} \
        if isinstance(models, dict) else {}


def cached_version(models_dir: Path, name: str) -> int | None:
    """The production version of ``name`` the cache holds, or None (no manifest entry)."""
    entry = read_manifest(models_dir).get(name)
    version = None if entry is None else entry.get("version")
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def _versions(manifest: dict[str, dict[str, Any]], names: Iterable[str]) -> dict[str, int]:
    """Model -> the version the manifest records, for ``names`` it has one for."""
    return {n: int(manifest[n]["version"]) for n in names
            if isinstance(manifest.get(n, {}).get("version"), int)}


def _write_manifest(models_dir: Path, models: dict[str, dict[str, Any]]) -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = models_dir / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps({"format": 1, "models": models}, indent=2, sort_keys=True) + "\n",
                   encoding="utf-8")
    tmp.replace(models_dir / MANIFEST)  # atomic: a crash leaves the old or the new manifest


def pull_models(central_url: str, token: str, names: Iterable[str], models_dir: Path,
                trusted_keys: Path, *, now: datetime,
                record: Callable[[Event], None] | None = None,
                timeout_s: float = 10.0, transport: httpx.BaseTransport | None = None,
                ) -> PullResult:
    """Bring the cache up to the central production versions of ``names`` (module doc)."""
    result = PullResult()
    wanted = sorted(set(names))
    manifest = read_manifest(models_dir)
    manifest_before = dict(manifest)
    result.current = _versions(manifest, wanted)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=central_url.rstrip("/"), headers=headers,
                          timeout=timeout_s, transport=transport) as client:
            listing = client.get("/api/models/production")
            listing.raise_for_status()
            production = {str(r["name"]): int(r["version"]) for r in listing.json()
                          if isinstance(r, dict) and r.get("name") in wanted}
            for name in wanted:
                version = production.get(name)
                if version is None or result.current.get(name) == version:
                    continue
                label = f"{name} v{version}"
                reason = _fetch(client, name, version, models_dir, trusted_keys)
                if reason is not None:
                    result.refused.append((label, reason))
                    log.warning("model refused", model=label, reason=reason)
                    if record is not None:
                        record(Event(EventKind.MODEL_REFUSED, name, f"{label} from {central_url}: "
                                     f"{reason}", now))
                    continue
                manifest[name] = {"version": version, "pulled_at": now.isoformat(),
                                  "from": central_url}
                result.current[name] = version
                result.pulled.append(label)
                log.info("model pulled", model=label)
            result.rollouts = _pull_rollouts(client, wanted, models_dir, trusted_keys, result,
                                             record=record, now=now, central_url=central_url)
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        result.offline = _why(central_url, exc)
        log.warning("no model pull; serving from the cache",
                    url=central_url, reason=result.offline)
    if result.pulled:
        try:
            _write_manifest(models_dir, manifest)
        except OSError as exc:  # e.g. disk full: the old manifest (and versions) keep serving
            reason = f"cannot update {models_dir / MANIFEST} ({exc.strerror or exc})"
            log.warning("model pull not recorded; serving from the cache", reason=reason)
            result.refused += [(label, reason) for label in result.pulled]
            result.pulled = []
            result.current = _versions(manifest_before, wanted)
    return result


def pulled_rollouts(models_dir: Path) -> list[Rollout]:
    """The rollouts last pulled into ``models_dir`` (none when never pulled or unreadable)."""
    try:
        docs = json.loads((models_dir / ROLLOUTS).read_text(encoding="utf-8"))
        return [from_doc(d) for d in docs]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("pulled rollouts unreadable; none followed",
                    path=str(models_dir / ROLLOUTS), reason=str(exc)[:300])
        return []


def _pull_rollouts(client: httpx.Client, wanted: list[str], models_dir: Path,
                   trusted_keys: Path, result: PullResult, *,
                   record: Callable[[Event], None] | None, now: datetime,
                   central_url: str) -> list[Rollout] | None:
    """Read the central rollouts of ``wanted`` models; fetch their versions; keep them.

    None when the central side has no rollouts route (an older release) or its answer
    cannot be read (logged): the rollouts pulled before stay in force.
    """
    try:
        listing = client.get("/api/rollouts")
        if listing.status_code == httpx.codes.NOT_FOUND:
            return None
        listing.raise_for_status()
        rollouts = [from_doc(item["rollout"]) for item in listing.json()
                    if isinstance(item, dict) and isinstance(item.get("rollout"), dict)
                    and item["rollout"].get("model") in wanted]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        log.warning("rollouts not pulled; the cached ones stay in force",
                    url=central_url, reason=_why(central_url, exc))
        return None
    for r in rollouts:
        if r.stage is Stage.WITHDRAWN or (models_dir / r.model / f"v{r.version}").is_dir():
            continue
        label = f"{r.model} v{r.version}"
        reason = _fetch(client, r.model, int(r.version), models_dir, trusted_keys)
        if reason is None:
            result.pulled.append(f"{label} (rollout: {r.stage.value})")
            log.info("rolled-out version pulled", model=label, stage=r.stage.value)
            continue
        result.refused.append((label, reason))
        log.warning("model refused", model=label, reason=reason)
        if record is not None:
            record(Event(EventKind.MODEL_REFUSED, r.use_case,
                         f"{label} (rollout) from {central_url}: {reason}", now))
    docs = [to_doc(r) for r in rollouts]
    path = models_dir / ROLLOUTS
    try:
        if not path.is_file() or json.loads(path.read_text(encoding="utf-8")) != docs:
            models_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(docs, indent=1), encoding="utf-8")
            tmp.replace(path)
    except (OSError, ValueError) as exc:
        log.warning("pulled rollouts not kept", path=str(path), reason=str(exc)[:300])
    return rollouts


def _fetch(client: httpx.Client, name: str, version: int, models_dir: Path,
           trusted_keys: Path) -> str | None:
    """Download, unpack and verify one version into the cache; the refusal reason or None.

    It is unpacked under ``.incoming/{name}/v{version}`` (the signature binds the directory
    name) and moved into the cache only once it verifies.
    """
    path = f"/api/models/{name}/{version}/artifact"
    try:
        data = _download(client, path)
    except httpx.HTTPStatusError as exc:  # this version only: the other models still pull
        return f"the central side answered {exc.response.status_code} to {path}"
    if data is None:
        return f"the bundle is larger than {MAX_BUNDLE_BYTES} bytes"
    final = models_dir / name / f"v{version}"
    incoming = models_dir / ".incoming" / name / f"v{version}"
    shutil.rmtree(incoming, ignore_errors=True)
    try:
        unpack(data, incoming)
        verify(incoming, trusted_keys)
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(final, ignore_errors=True)
        incoming.replace(final)
    except ModelError as exc:
        shutil.rmtree(incoming, ignore_errors=True)
        return exc.reason
    except OSError as exc:  # e.g. disk full: refused, the cache keeps serving
        shutil.rmtree(incoming, ignore_errors=True)
        return f"cannot write it into {models_dir} ({exc.strerror or exc})"
    return None


def _download(client: httpx.Client, path: str) -> bytes | None:
    """The body of ``GET path``, or None once it passes ``MAX_BUNDLE_BYTES`` (not all read)."""
    chunks: list[bytes] = []
    size = 0
    with client.stream("GET", path) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_BUNDLE_BYTES:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def _why(url: str, exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"{url} answered {exc.response.status_code} to {exc.request.url.path}"
    if isinstance(exc, httpx.HTTPError):
        return f"cannot reach {url} ({type(exc).__name__}: {exc})"
    return f"{url} sent an unreadable model listing ({type(exc).__name__})"


async def pull_every(pull: Callable[[], PullResult], stop: asyncio.Event, every_s: float) -> None:
    """Call ``pull`` on a worker thread every ``every_s`` seconds until ``stop`` is set.

    The edge reloads its models on its own (``run_edge``'s ``reload_every_s``), so a version
    pulled here starts serving within a few seconds.
    """
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
        if stop.is_set():
            break
        try:
            await asyncio.to_thread(pull)
        except Exception as exc:  # noqa: BLE001 - logged; the next pull tries again
            log.warning("model pull failed; serving from the cache",
                        error=f"{type(exc).__name__}: {exc}")

"""Routes edges use and that show edges: status, latest data per asset, model pull.

- ``GET /api/edges``: each edge as it last reported (link, outbox, dropped, models,
  heartbeat), the lines and assets it serves, and whether it is **stale** (no heartbeat for
  three intervals): then the data of those lines is stale too.
- ``GET /api/assets/{asset}/latest``: the newest value of each tag of an asset with its
  quality, and ``stale: true`` when the edge serving the asset is stale (or none reported).
- ``GET /api/models/production``: the production version of each model, for edges to pull.
- ``GET /api/models/{name}/{version}/artifact``: a version as a zip (``model.skops``,
  ``meta.json``, ``signature.json``; ``andon.registry.bundle``). The edge verifies the
  signature against its own trusted keys before it uses it.

All need ``READ``: an edge runs with a viewer-level service token. An artifact is signed and
verified by the edge, so reading it grants no power over what an edge serves.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Self

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from andon.api.schemas import EdgeOut, StoredId
from andon.app.context import Context
from andon.auth.access import Permission
from andon.clock import to_ms
from andon.edge.heartbeat import EdgeStatus
from andon.edge.status import edge_statuses_from_store
from andon.errors import NotFound
from andon.http.auth import Caller, needs
from andon.registry import Stage
from andon.registry.bundle import pack
from andon.store.base import Store

__all__ = ["AssetLatestOut", "EdgeDataOut", "ProductionOut", "TagLatestOut", "edge_router"]

Reader = Annotated[Caller, Depends(needs(Permission.READ))]

#: how far back ``latest`` looks for a tag's newest value (doubling from the first step)
_LOOKBACK_FIRST = timedelta(seconds=30)
_LOOKBACK_MAX = timedelta(days=7)


class EdgeDataOut(EdgeOut):
    """An edge's status and what it serves (its data is stale when it is)."""

    lines: list[str] = Field(description="line ids it serves; empty = every line")
    assets: list[str] = Field(description="asset ids it scores")

    @classmethod
    def of_status(cls, status: EdgeStatus, now: datetime) -> Self:
        """Describe one edge at ``now``."""
        base = EdgeOut.of(status, now).model_dump()
        return cls(**base, lines=status.lines, assets=status.assets)


class TagLatestOut(BaseModel):
    """The newest value of one tag."""

    tag: str
    value: float
    unit: str
    quality: str = Field(description="good / uncertain / bad")
    ts: datetime = Field(description="source time")
    seq: int
    source: str


class AssetLatestOut(BaseModel):
    """The newest value of each tag of an asset, and whether its data is stale."""

    asset: str
    line: str
    edge_id: str | None = Field(description="the edge that serves the asset, if one reported")
    stale: bool = Field(description="its edge is stale or offline (or no edge reported)")
    tags: list[TagLatestOut]


class ProductionOut(BaseModel):
    """The production version of a model."""

    name: str
    version: int
    key_id: str | None
    signer: str | None


def edge_router(ctx: Context, models_dir: Path | None) -> APIRouter:
    """Build the edge routes over ``ctx`` (store, clock, spec) and the models directory."""
    router = APIRouter(prefix="/api", tags=["edges"])
    store = ctx.store

    @router.get("/edges")
    def list_edges(caller: Reader) -> list[EdgeDataOut]:
        """List edges as they last reported (link, outbox, dropped, models, heartbeat, stale)."""
        del caller
        now = ctx.clock.now()
        return [EdgeDataOut.of_status(e, now) for e in edge_statuses_from_store(store)]

    @router.get("/assets/{asset}/latest")
    def asset_latest(asset: str, caller: Reader) -> AssetLatestOut:
        """Show each tag's newest value with its quality; ``stale`` if the asset's edge is."""
        del caller
        spec = ctx.spec
        try:
            _site, _area, line, found = spec.asset(asset)
        except KeyError:
            raise NotFound("asset", asset) from None
        now = ctx.clock.now()
        edge = serving_edge(edge_statuses_from_store(store), asset, line.id)
        stale = edge is None or edge.stale(now) or edge.status != "online"
        latest = _latest(store, asset, {t.name for t in found.tags}, now)
        return AssetLatestOut(asset=asset, line=line.id,
                              edge_id=None if edge is None else edge.edge_id, stale=stale,
                              tags=[latest[t] for t in sorted(latest)])

    @router.get("/models/production")
    def production_models(caller: Reader) -> list[ProductionOut]:
        """List the production version of each model (what edges pull)."""
        del caller
        return [ProductionOut(name=r.name, version=r.version, key_id=r.key_id, signer=r.signer)
                for r in store.list_models() if r.stage is Stage.PRODUCTION]

    @router.get("/models/{name}/{version}/artifact",
                responses={200: {"content": {"application/zip": {}}}})
    def model_artifact(name: str, version: StoredId, caller: Reader) -> Response:
        """Download a registered version as a zip (model.skops, meta.json, signature.json)."""
        del caller
        record = store.get_model(name, version)  # 404 if not registered
        if models_dir is None:
            raise NotFound("model artifact directory", record.label)
        vdir = models_dir / record.name / f"v{record.version}"
        if not vdir.is_dir():
            raise NotFound("model artifact", record.label)
        return Response(pack(vdir), media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{record.name}-v{record.version}.zip"',
            "X-Andon-Model-Stage": record.stage.value})

    return router


def _latest(store: Store, asset: str, wanted: set[str], now: datetime) -> dict[str, TagLatestOut]:
    """Newest sample per tag, looking back further until every wanted tag has one.

    Each step reads only the samples older than the previous step's (never the same twice).
    """
    latest: dict[str, TagLatestOut] = {}
    step = _LOOKBACK_FIRST
    end_ms: int | None = None
    while True:
        start_ms = to_ms(now - step)
        found = set(latest)  # in a newer window: older samples of these tags do not matter
        for s in store.samples(assets=[asset], start_ms=start_ms, end_ms=end_ms):
            if s.address.tag not in found:  # oldest first: the newest of the window wins
                latest[s.address.tag] = TagLatestOut(
                    tag=s.address.tag, value=s.value, unit=s.unit, quality=s.quality.value,
                    ts=s.ts, seq=s.seq, source=s.source)
        if set(latest) >= wanted or step >= _LOOKBACK_MAX:
            return latest
        end_ms = start_ms
        step *= 4


def serving_edge(edges: list[EdgeStatus], asset: str, line: str) -> EdgeStatus | None:
    """The edge that serves ``asset`` (by its assets, else its lines); the newest if several."""
    found = [e for e in edges if asset in e.assets or line in e.lines]
    if not found:
        found = [e for e in edges if not e.lines and not e.assets]
    if not found:
        return None
    return max(found, key=lambda e: e.last_seen.timestamp() if e.last_seen else 0.0)

"""The pages engineers read to look behind an intervention: assets, model versions, edges.

- ``/assets``: the plant's assets by site, area and line, with their open interventions and
  the age of their newest sample. ``/assets/{asset_id}``: over a period (``from`` / ``to`` in
  the site's time; default: around the asset's newest intervention, else the last 24 h), one
  server-drawn trend per tag with its unit and healthy range, the evidence windows of its
  interventions shaded, interventions, contract breaches and quarantined messages marked on
  the time axis, and the list of those events with links.
- ``/models`` and ``/models/{name}``: each version's stage and rollout, lineage, metrics,
  history (who moved it, when, why) and signature status, checked as an edge checks it.
- ``/edges``: each edge's link, outbox depth, last heartbeat and its age, models loaded, and a
  sparkline of its outbox over the last day; stale and offline edges flagged.

All need ``READ``; each reads through one ``andon.app`` function and renders it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from andon.app import asset_history, asset_tree, edge_overview, model_overview, model_versions
from andon.app.edges import HISTORY
from andon.auth.access import Permission
from andon.errors import NotFound, ReportError
from andon.http.auth import Caller, needs
from andon.web import tag_trends
from andon.web.tag_trends import Marker, Window, eng, unit_text
from andon.web.views import local_time, user_view

if TYPE_CHECKING:
    from andon.app import AssetHistory, AssetSummary, EdgeOverview, ModelVersion
    from andon.interventions.record import Intervention
    from andon.spec.model import PlantSpec
    from andon.web.pages import WebInbox

__all__ = ["engineering_router"]

Reader = Annotated[Caller, Depends(needs(Permission.READ))]
_STAMP = "%Y-%m-%dT%H:%M"  # what a datetime-local input shows and sends
_STALE_SAMPLE = timedelta(minutes=10)  # an asset whose newest sample is older is flagged


def engineering_router(web: WebInbox) -> APIRouter:
    """The asset, model-version and edge pages, rendered with the inbox's templates."""
    router = APIRouter(include_in_schema=False)

    def error(caller: Caller, status: int, message: str) -> HTMLResponse:
        return web.render("error.html", status, code=status, message=message, problems=[],
                          me=user_view(caller.user, web.spec()))

    @router.get("/assets", response_class=HTMLResponse)
    def assets_page(caller: Reader) -> HTMLResponse:
        """Every asset by site, area and line: open interventions, newest sample's age."""
        now = web.clock.now()
        return web.render("assets.html", me=user_view(caller.user, web.spec()),
                          rows=[asset_row(a, now) for a in asset_tree(web.ctx)], one=None)

    @router.get("/assets/{asset_id}", response_class=HTMLResponse)
    def asset_page(
        asset_id: str, caller: Reader,
        start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
        end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    ) -> HTMLResponse:
        """One asset over a period: a trend per tag with evidence windows and events marked."""
        spec = web.spec()
        try:
            zone = ZoneInfo(spec.asset(asset_id)[0].timezone)
            history = asset_history(web.ctx, asset_id, start=parse_time(start, zone, "from"),
                                    end=parse_time(end, zone, "to"),
                                    resolution=tag_trends.BUCKETS)
        except KeyError:
            return error(caller, 404, f"asset {asset_id!r} is not in the plant spec")
        except ReportError as exc:
            return error(caller, 422, str(exc))
        return web.render("assets.html", me=user_view(caller.user, spec), rows=[],
                          one=asset_view(history, spec))

    @router.get("/models", response_class=HTMLResponse)
    def models_page(caller: Reader) -> HTMLResponse:
        """Each model: its use cases, versions, production version and running rollouts."""
        return web.render("models.html", me=user_view(caller.user, web.spec()),
                          models=model_overview(web.ctx), model=None, versions=[])

    @router.get("/models/{name}", response_class=HTMLResponse)
    def model_page(name: str, caller: Reader) -> HTMLResponse:
        """One model's versions: stage, lineage, metrics, history, signature status."""
        spec = web.spec()
        try:
            versions = model_versions(web.ctx, name)
        except NotFound:
            return error(caller, 404, f"model {name!r} is neither registered nor used by the "
                                      "plant spec")
        zone = _model_zone(spec, name)
        return web.render("models.html", me=user_view(caller.user, spec), models=[],
                          model=name, versions=[version_view(v, zone) for v in versions],
                          zone=zone.key)

    @router.get("/edges", response_class=HTMLResponse)
    def edges_page(caller: Reader) -> HTMLResponse:
        """Each edge: link, outbox, last heartbeat and its age, models; stale ones flagged."""
        spec, now = web.spec(), web.clock.now()
        zone = ZoneInfo(spec.sites[0].timezone if spec.sites else "UTC")
        return web.render("edges.html", me=user_view(caller.user, spec),
                          edges=[edge_view(e, now, zone) for e in edge_overview(web.ctx)])

    return router


# -- parsing -------------------------------------------------------------------------------
def parse_time(text: str | None, zone: ZoneInfo, name: str) -> datetime | None:
    """``2026-03-02`` or ``2026-03-02T08:30`` in the site's zone (or with an offset) -> aware.

    ``ReportError`` naming the parameter and the value when it is neither.

    >>> parse_time("2026-03-02T08:30", ZoneInfo("Europe/Brussels"), "from").isoformat()
    '2026-03-02T08:30:00+01:00'
    >>> parse_time("", ZoneInfo("UTC"), "to") is None
    True
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        when = (datetime.fromisoformat(text) if "T" in text or " " in text
                else datetime.combine(date.fromisoformat(text), datetime.min.time()))
    except ValueError:
        raise ReportError(f"{name}: {text[:40]!r} is not a date or a time (YYYY-MM-DD or "
                          "YYYY-MM-DDTHH:MM, in the site's time)") from None
    return when.replace(tzinfo=zone) if when.tzinfo is None else when


def age_text(age: timedelta) -> str:
    """How long ago, in the largest two units that matter.

    >>> age_text(timedelta(seconds=42)), age_text(timedelta(minutes=185)), age_text(-timedelta(1))
    ('42 s', '3 h 05 min', '0 s')
    """
    seconds = max(int(age.total_seconds()), 0)
    if seconds < 60:  # noqa: PLR2004 - a minute
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins:02d} min" if hours else f"{mins} min"


# -- views ---------------------------------------------------------------------------------
def asset_row(a: AssetSummary, now: datetime) -> dict[str, Any]:
    """One asset in the list: where, open interventions, its newest sample's age."""
    age = None if a.newest_sample is None else now - a.newest_sample
    return {"site": a.site.name, "area": a.area.name, "line": a.line.name, "id": a.asset.id,
            "name": a.asset.name, "kind": a.asset.kind, "open": a.open_interventions,
            "age": "no data" if age is None else age_text(age),
            "quiet": age is None or age > _STALE_SAMPLE,
            "newest": "" if a.newest_sample is None else local_time(
                a.newest_sample, ZoneInfo(a.site.timezone))}


def asset_view(h: AssetHistory, spec: PlantSpec) -> dict[str, Any]:
    """What the asset page shows: header, period, a chart per tag, the events listed."""
    zone = ZoneInfo(h.site.timezone)
    windows = [Window(*iv.evidence_window, f"evidence of {iv.id}: "
                      f"{local_time(iv.evidence_window[0], zone)} to "
                      f"{local_time(iv.evidence_window[1], zone)}") for iv in h.interventions]
    iv_marks = [Marker(iv.detected_at, "intervention",
                       f"{iv.id} ({iv.state.value}): {iv.action}") for iv in h.interventions]
    events = [_intervention_event(iv, h.asset.id, zone) for iv in h.interventions]
    events += [{"at": q.received_at, "kind": "quarantine",
                "tag": "" if q.address is None else q.address.tag,
                "text": f"{q.rule}: {q.reason}", "link": f"/api/quarantine/{q.id}", "period": ""}
               for q in h.quarantined]
    charts = []
    for s in h.series:
        tag = s.tag
        marks = list(iv_marks)
        marks += [Marker(q.received_at, "quarantine", f"quarantined ({q.rule}): {q.reason}")
                  for q in h.quarantined if q.address is not None and q.address.tag == tag.name]
        marks += [Marker(e.at, "breach", e.detail) for e in s.breaches]
        events += [{"at": e.at, "kind": "breach", "tag": tag.name, "text": e.detail,
                    "link": f"#trend-{tag.name}", "period": ""} for e in s.breaches]
        charts.append({
            "tag": tag.name, "unit": unit_text(tag.unit), "description": tag.description,
            "range": f"{eng(tag.range[0], tag.unit)} to {eng(tag.range[1], tag.unit)}",
            "count": s.count,
            "low": "-" if s.low is None else eng(s.low, tag.unit),
            "high": "-" if s.high is None else eng(s.high, tag.unit),
            "svg": tag_trends.trend(
                s.points, start=h.start, end=h.end,
                tz=h.site.timezone, label=f"{tag.name} of {h.asset.id} ({unit_text(tag.unit)})",
                unit=tag.unit, healthy=tag.range, windows=windows, markers=marks,
                gap_ms=int(3 * tag.period * 1000))})
    events.sort(key=lambda e: e["at"], reverse=True)
    for e in events:
        e["when"] = local_time(e["at"], zone)
    return {"id": h.asset.id, "name": h.asset.name, "kind": h.asset.kind,
            "where": f"{h.site.name} · {h.area.name} · {h.line.name}",
            "enterprise": spec.enterprise.name,
            "from": h.start.astimezone(zone).strftime(_STAMP),
            "to": h.end.astimezone(zone).strftime(_STAMP),
            "period": f"{local_time(h.start, zone)} to {local_time(h.end, zone)}",
            "defaulted": h.defaulted, "zone": zone.key, "charts": charts, "events": events,
            "windows": len(windows)}


def _intervention_event(iv: Intervention, asset_id: str, zone: ZoneInfo) -> dict[str, Any]:
    """An intervention in the asset page's event list, linked to the day around its evidence."""
    first, last = iv.evidence_window
    around = {"from": (first - timedelta(hours=12)).astimezone(zone).strftime(_STAMP),
              "to": (last + timedelta(hours=12)).astimezone(zone).strftime(_STAMP)}
    return {"at": iv.detected_at, "kind": "intervention", "tag": "",
            "text": f"{iv.id} · {iv.state.value.replace('_', ' ')} · {iv.action} "
                    f"(score {iv.score:.3g} / {iv.threshold:.3g}, {iv.model} "
                    f"v{iv.model_version})",
            "link": f"/api/interventions/{quote(iv.id, safe='')}",
            "period": f"/assets/{quote(asset_id, safe='')}?{urlencode(around)}"}


def version_view(v: ModelVersion, zone: ZoneInfo) -> dict[str, Any]:
    """One version on the model page."""
    r, m = v.record, v.record.meta
    sig = v.signature
    state = "verified" if sig.verified else ("refused" if sig.verified is False else
                                              "unchecked")
    rollout = ""
    if v.rollout is not None:
        ro, where = v.rollout, v.rollout.current.where
        rollout = (f"{ro.stage.value.replace('_', ' ')} for {ro.use_case}"
                   + (f": {where}" if where else "") + f" since {local_time(ro.since, zone)}")
    return {
        "version": r.version, "label": r.label, "stage": r.stage.value, "rollout": rollout,
        "parent": v.parent, "kind": m.kind, "use_case": m.use_case,
        "data": f"{local_time(m.train_start, zone)} to {local_time(m.train_end, zone)}",
        "assets": ", ".join(m.train_assets), "windows": m.train_windows,
        "data_sha": m.data_sha256[:16], "artifact_sha": m.artifact_sha256[:16],
        "created": local_time(m.created_at, zone), "code_version": m.code_version,
        "params": sorted((k, str(val)) for k, val in m.params.items()),
        "features": [(f, unit_text(u)) for f, u in zip(m.features, m.units, strict=False)],
        "threshold": eng(m.threshold),
        "metrics": sorted((k, eng(val)) for k, val in m.metrics.items()),
        "signature": {"state": state, "text": sig.text, "key_id": sig.key_id or "",
                      "signer": sig.signer or "",
                      "signed_at": "" if sig.signed_at is None else local_time(sig.signed_at,
                                                                               zone)},
        "history": [{"when": local_time(h.at, zone), "by": h.by,
                     "what": h.what.replace("_", " "), "detail": h.detail}
                    for h in v.history],
    }


def edge_view(e: EdgeOverview, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """One edge's row on the edges page."""
    s = e.status
    depth = [(b.at, float(b.buffer_depth)) for b in e.heartbeats]
    return {
        "id": s.edge_id, "status": s.status, "link": s.link, "site_link": s.site_link,
        "depth": s.buffer_depth, "unacked": s.unacked, "dropped": sum(s.dropped.values()),
        "stale": e.stale, "offline": s.status != "online",
        "age": "never" if e.age is None else age_text(e.age),
        "last_seen": "" if s.last_seen is None else local_time(s.last_seen, zone),
        "interval": f"{s.heartbeat_s:g} s" if s.heartbeat_s else "-",
        "models": sorted(s.models.items()), "lines": s.lines, "assets": s.assets,
        "version": s.version, "heartbeats": len(e.heartbeats),
        "spark": tag_trends.sparkline(  # from its oldest heartbeat kept (at most a day) on
            depth, start=depth[0][0] if depth else now - HISTORY, end=now,
            label=f"outbox depth of {s.edge_id} at each heartbeat"
                  + (f" since {local_time(depth[0][0], zone)}" if depth else "")),
    }


def _model_zone(spec: PlantSpec, name: str) -> ZoneInfo:
    """The time zone of the sites a model serves when they share one; UTC otherwise."""
    zones = {site.timezone for uc in spec.use_cases if uc.model == name
             for site, _a, _l, _x in spec.use_case_assets(uc)}
    return ZoneInfo(zones.pop() if len(zones) == 1 else "UTC")

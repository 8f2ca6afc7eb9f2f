"""The plant spec as pydantic models: enterprise → site → area → line → asset → tag.

Plus the use cases (which assets, which model, which action, which owner role), people and
roles, and each line's maintenance calendar. Structural rules live on the models; rules that
span the tree (unique ids, references) live in ``cross_check`` so that each can name the exact
field it is about.
"""

from __future__ import annotations

import math
import re
import string
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from andon.plugins import MODELS
from andon.spec.chain import ACTING_ACCESS, DEFAULT_RANKS, chain_problems, derived_chain
from andon.spec.fields import FieldError as _FieldError  # the loader re-attaches the field
from andon.spec.fields import unknown as _unknown
from andon.spec.plugins import check_settings, plugin_named
from andon.spec.production import Costs, Production, production_problems
from andon.spec.sinks import SinksConfig, sink_problems
from andon.spec.tagmap import TagMapEntry
from andon.units import QUANTITIES, check_unit, parse_duration_s

__all__ = [
    "ACCESS_LEVELS",
    "ActionEnvelope",
    "Area",
    "Asset",
    "Calendar",
    "Downtime",
    "Enterprise",
    "Fatigue",
    "Governance",
    "Interventions",
    "Line",
    "Panel",
    "Person",
    "PlantSpec",
    "Role",
    "Site",
    "Tag",
    "TimePolicy",
    "UseCase",
    "cross_check",
]

#: the model kind of a use case that names none (``andon.scoring.kinds.DEFAULT_MODEL_KIND``)
DEFAULT_MODEL_KIND = "pca-spe"

#: What a role may do through Andon's surfaces, weakest first.
ACCESS_LEVELS = ("viewer", "operator", "engineer", "admin")

_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
Id = Annotated[str, Field(pattern=_ID, description="lowercase id usable in an MQTT topic level")]
_TAG = r"^[a-z][a-z0-9_]{0,62}$"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: longest duration the spec accepts: beyond this, deadlines fall outside any calendar
_MAX_DURATION_S = 10 * 366 * 86400.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _duration(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(  # noqa: TRY004 - pydantic reports only ValueError as a field error
            f"{value!r} is not a duration (e.g. '60s', '30min', '2h')",
        )
    seconds = parse_duration_s(value)
    if not math.isfinite(seconds):
        raise ValueError(f"{value!r} is not a duration (e.g. '60s', '30min', '2h')")
    if seconds <= 0:
        raise ValueError(f"{value!r} must be a positive duration")
    if seconds > _MAX_DURATION_S:
        raise ValueError(f"{value!r} is longer than 10 years")
    return seconds


Seconds = Annotated[float, Field(description="duration in seconds; accepts '60s', '30min', '2h'")]


class Tag(_Strict):
    """One measured signal of an asset, with its canonical name and unit."""

    name: str = Field(pattern=_TAG, description="canonical tag name, e.g. bearing_temp")
    quantity: str = Field(description=f"what it measures: one of {', '.join(QUANTITIES)}")
    unit: str = Field(description="canonical unit, e.g. degC, bar, mm/s (pint syntax)")
    range: tuple[float, float] = Field(description="valid range [low, high] in the unit")
    period: Seconds = Field(description="expected sample period, e.g. '60s'")
    description: str = ""
    # -- data contract (andon.contracts); every field optional, so older specs stay valid ----
    max_staleness: Seconds | None = Field(
        default=None, description="flag samples whose source time lags ingest by more than this",
    )
    max_rate: float | None = Field(
        default=None, gt=0, description="largest plausible change per second, in the unit",
    )
    stuck_after: int | None = Field(
        default=None, ge=2, le=100_000,
        description="flag the value as stuck once it stays exactly flat for this many periods",
    )
    enum: tuple[float, ...] | None = Field(
        default=None, min_length=1, description="allowed values of a discrete (state) tag",
    )
    monotonic: bool | None = Field(
        default=None, description="a counter that never decreases; default: quantity == count",
    )
    fill: FillPolicy | None = Field(
        default=None, description="gap fill policy, e.g. {policy: hold_last, max: 120s}; "
        "default: gaps are recorded, never filled",
    )

    _period = field_validator("period", mode="before")(_duration)
    _staleness = field_validator("max_staleness", mode="before")(
        lambda v: None if v is None else _duration(v),
    )

    @property
    def is_counter(self) -> bool:
        """Whether the tag must never decrease (``monotonic``, default for ``count`` tags)."""
        return self.quantity == "count" if self.monotonic is None else self.monotonic

    @field_validator("quantity")
    @classmethod
    def _known_quantity(cls, v: str) -> str:
        if v not in QUANTITIES:
            raise ValueError(f"unknown quantity {v!r} (known: {', '.join(QUANTITIES)})")
        return v

    @field_validator("range", mode="before")
    @classmethod
    def _pair(cls, v: object) -> object:
        if isinstance(v, str) or not isinstance(v, list | tuple) or len(v) != 2:  # noqa: PLR2004
            raise ValueError(
                f"range must be two numbers [low, high] in the tag's unit, got {v!r}",
            )
        return v

    @field_validator("range")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not v[0] < v[1]:
            raise ValueError(f"low {v[0]} must be below high {v[1]}")
        return v

    @model_validator(mode="after")
    def _unit_measures_quantity(self) -> Tag:
        reason = check_unit(self.unit, self.quantity)
        if reason is not None:
            raise _FieldError("unit", reason)
        low, high = self.range
        outside = [v for v in self.enum or () if not low <= v <= high]
        if outside:
            raise _FieldError("enum", f"value {outside[0]:g} is outside range [{low:g}, {high:g}]")
        return self


class FillPolicy(_Strict):
    """How a tag's gaps are filled (``andon.contracts.timing``).

    ``hold_last`` repeats the last value, marked uncertain with reason ``filled``, for up to
    ``max``; then one ``bad`` sample with reason ``gap``.
    """

    policy: Literal["hold_last"] = Field(description="hold_last: repeat the last value")
    max: Seconds = Field(description="fill at most this long after the last sample, e.g. 120s")

    _max = field_validator("max", mode="before")(_duration)


class TimePolicy(_Strict):
    """Time rules of a plant or site: clock-skew correction and lateness (``andon.contracts``).

    A source whose estimated clock skew exceeds ``skew_threshold`` has its source times
    corrected by the estimate; a sample older than its source's newest by more than
    ``lateness`` is recorded as ``late`` and not windowed; a source time before ``floor`` is
    quarantined (``before_floor``).
    """

    skew_threshold: Seconds = Field(
        default=2.0, description="correct a source's times once its clock is off by more, e.g. 2s",
    )
    lateness: Seconds = Field(
        default=60.0, description="accept out-of-order samples this late, e.g. 60s",
    )
    floor: date = Field(
        default=date(2000, 1, 1),
        description="source times before this day (UTC) are quarantined, never adopted as a "
        "source's clock: a PLC clock reset to 1970, a 0 or -1 timestamp",
    )

    _durations = field_validator("skew_threshold", "lateness", mode="before")(_duration)


class Asset(_Strict):
    """A physical asset (pump, motor, ...) and its tags."""

    id: Id
    name: str = Field(min_length=1, description="display name, e.g. 'Pump P-101'")
    kind: str = Field(pattern=_ID, description="asset type: pump, motor, conveyor, press, ...")
    tags: list[Tag] = Field(min_length=1)


DayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "daily"]


class Downtime(_Strict):
    """A planned downtime window: recurring (``days`` + ``start`` + ``duration``) or one-off.

    Recurring times are local to the site's time zone.
    """

    name: str = Field(min_length=1)
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "daily"]] | None = None
    start: str = Field(description="'HH:MM' for recurring windows, ISO datetime for one-off")
    duration: Seconds | None = None
    end: datetime | None = Field(default=None, description="end of a one-off window")

    _duration = field_validator("duration", mode="before")(
        lambda v: None if v is None else _duration(v),
    )

    @model_validator(mode="after")
    def _shape(self) -> Downtime:
        if self.days is not None:
            self._check_recurring()
        else:
            self._check_one_off()
        return self

    def _check_recurring(self) -> None:
        if not self.days:
            raise _FieldError("days", "list at least one day (mon ... sun), or [daily]")
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", self.start):
            raise _FieldError("start", f"{self.start!r} is not a time of day 'HH:MM'")
        if self.duration is None:
            raise _FieldError("duration", "a recurring window needs a duration, e.g. '2h'")
        if self.end is not None:
            raise _FieldError("end", "a recurring window takes a duration, not an end")

    def _check_one_off(self) -> None:
        try:
            start = datetime.fromisoformat(self.start)
        except ValueError:
            raise _FieldError(
                "start", f"{self.start!r} is not an ISO datetime such as '2026-08-01T06:00' "
                "(a one-off window; a recurring one also needs days: [...])",
            ) from None
        if self.end is None and self.duration is None:
            raise _FieldError("end", "a one-off window needs an end or a duration")
        if self.end is not None and self.duration is not None:
            raise _FieldError("duration", "give a one-off window an end or a duration, not both")
        if self.end is None:
            return
        if (start.tzinfo is None) != (self.end.tzinfo is None):
            raise _FieldError(
                "end", "start and end must both be site-local times or both carry a UTC offset",
            )
        if self.end <= start:
            raise _FieldError("end", f"end {self.end.isoformat()} is not after start {self.start}")

    def weekdays(self) -> set[int]:
        """Monday=0 ... Sunday=6 for recurring windows."""
        if self.days is None:
            return set()
        if "daily" in self.days:
            return set(range(7))
        return {_DAYS.index(d) for d in self.days}

    def start_time(self) -> time:
        """Local start time of a recurring window."""
        hh, mm = self.start.split(":")
        return time(int(hh), int(mm))

    def length(self) -> timedelta:
        """Duration of a recurring window, or of a one-off window.

        For a one-off window given by two site-local times this is the wall-clock difference;
        ``planned_stops`` places both ends in the site's time zone, so a DST change inside the
        window is counted there.
        """
        if self.duration is not None:
            return timedelta(seconds=self.duration)
        assert self.end is not None  # noqa: S101 - guaranteed by _shape
        return self.end - datetime.fromisoformat(self.start)


class Calendar(_Strict):
    """A line's maintenance calendar."""

    planned_downtime: list[Downtime] = Field(default_factory=list)


class Shift(_Strict):
    """A crew's working time, local to the site: e.g. early 06:00 for 8h, every day.

    A staged rollout goes live "on one line for one shift" (``andon.rollout``).
    """

    name: Id
    days: list[DayName] = Field(default_factory=lambda: list[DayName](["daily"]))
    start: str = Field(description="'HH:MM', site-local")
    duration: Seconds = Field(description="e.g. '8h' (may run past midnight)")

    _duration = field_validator("duration", mode="before")(_duration)

    @field_validator("start")
    @classmethod
    def _start(cls, v: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v):
            raise ValueError(f"{v!r} is not a time of day 'HH:MM'")
        return v

    def as_window(self) -> Downtime:
        """The shift as a recurring calendar window (to expand it with the calendar code)."""
        return Downtime(name=self.name, days=self.days, start=self.start,
                        duration=self.duration)


class Line(_Strict):
    """A production line: its assets and its maintenance calendar."""

    id: Id
    name: str = Field(min_length=1)
    calendar: Calendar = Field(default_factory=Calendar)
    assets: list[Asset] = Field(min_length=1)
    production: Production | None = Field(
        default=None, description="state and count tags and ideal rate for OEE "
        "(andon.spec.production); none: the line has no OEE",
    )
    costs: Costs | None = Field(default=None, description="downtime and scrap cost rates for "
                                "ROI, e.g. {downtime_per_hour: 2500, scrap_per_unit: 4, "
                                "currency: EUR}")


class Area(_Strict):
    """An ISA-95 area within a site."""

    id: Id
    name: str = Field(min_length=1)
    lines: list[Line] = Field(min_length=1)


class Site(_Strict):
    """A plant site with its time zone."""

    id: Id
    name: str = Field(min_length=1)
    timezone: str = "UTC"
    areas: list[Area] = Field(min_length=1)
    time: TimePolicy | None = Field(
        default=None, description="time rules for this site's sources (overrides the plant's)",
    )
    tag_map: list[TagMapEntry] = Field(
        default_factory=list, description="raw names of this site's sources -> canonical tags "
        "(andon.spec.tagmap); entries of tag_map_file are appended at load",
    )
    tag_map_file: str | None = Field(
        default=None, description="a .csv or .yaml map file, relative to the spec file",
    )
    shifts: list[Shift] = Field(
        default_factory=list, description="the site's shifts, e.g. [{name: early, start: "
        "'06:00', duration: 8h}]: a rollout can go live for one of them first",
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone (e.g. Europe/Brussels)") from None
        return v


class Enterprise(_Strict):
    """The enterprise at the root of the namespace."""

    id: Id
    name: str = Field(min_length=1)


class Role(_Strict):
    """A job role (owner of actions), the access it grants in Andon and its rank.

    The rank places the role in the plant's hierarchy for escalation (``andon.spec.chain``):
    an unacknowledged intervention is never handed to a lower rank.
    """

    id: Id
    name: str = Field(min_length=1)
    access: Literal["viewer", "operator", "engineer", "admin"]
    rank: int | None = Field(
        default=None, ge=0, le=1000,
        description="place in the escalation hierarchy, higher = more authority; default for "
        "the well-known ids: " + ", ".join(f"{k} {v}" for k, v in DEFAULT_RANKS.items())
        + "; other roles have none",
    )

    @property
    def effective_rank(self) -> int | None:
        """The declared rank, else the default of a well-known id, else None."""
        return self.rank if self.rank is not None else DEFAULT_RANKS.get(self.id)

    @property
    def may_act(self) -> bool:
        """Whether holders may act on interventions (acknowledge, give feedback)."""
        return self.access in ACTING_ACCESS


class Person(_Strict):
    """Someone who owns, receives or reviews actions."""

    id: Id
    name: str = Field(min_length=1)
    role: str
    site: str | None = None
    lines: list[str] = Field(
        default_factory=list, description="line ids this person works on (of their site, or "
        "of any site without one): the console shows them these lines' interventions; "
        "default: every line",
    )


class ActionEnvelope(_Strict):
    """What a use case's interventions may propose (the advisory-only boundary).

    An intervention outside it is blocked at the edge: not stored, not published, logged
    and kept as an ``envelope_blocked`` event (``andon.edge.envelope``).
    """

    verbs: list[str] | None = Field(
        default=None, description="allowed action verbs: the first word of the rendered "
        "action, case-insensitive (e.g. [inspect, lubricate]); default: any",
    )
    setpoints: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="tag name -> [min, max] of a set-point a "
        "intervention may propose; a proposed set-point for any other tag is blocked",
    )

    @field_validator("verbs")
    @classmethod
    def _verbs(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and (not v or any(not w.strip() or " " in w.strip() for w in v)):
            raise ValueError("verbs must be single words (at least one)")
        return None if v is None else [w.strip().lower() for w in v]

    @field_validator("setpoints")
    @classmethod
    def _ranges(cls, v: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for tag, (low, high) in v.items():
            if not low <= high:
                raise ValueError(f"set-point range of {tag} is [{low}, {high}]: min > max")
        return v


class Gate(_Strict):
    """The evidence a rollout stage needs before a use case may move on (``andon.rollout``).

    Evaluated from the new version's track record (``andon.kpi.trackrecord``) on the stage's
    lines since the stage began. A limit left out is not checked.
    """

    min_duration: Seconds | None = Field(default=None, description="time in the stage")
    min_labelled: int | None = Field(
        default=None, ge=0, le=1_000_000,
        description="labelled events: confirmed + false alarms + missed failures")
    max_false_alarms_per_asset_week: float | None = Field(default=None, ge=0)
    min_median_lead_time: Seconds | None = Field(
        default=None, description="median warning before the failure or confirmed finding")
    min_precision: float | None = Field(default=None, ge=0, le=1)
    min_recall: float | None = Field(default=None, ge=0, le=1)
    max_override_rate: float | None = Field(
        default=None, ge=0, le=1,
        description="live stages: interventions operators overrode (dismissed, with a "
                    "reason) / raised")

    _durations = field_validator("min_duration", "min_median_lead_time", mode="before")(
        lambda v: None if v is None else _duration(v))


#: each stage's gate unless the spec says otherwise; a stage written in the spec keeps the
#: limits it leaves out (``null`` turns one off)
DEFAULT_GATES: dict[str, dict[str, Any]] = {
    "shadow_pilot": {"min_duration": "7d", "min_labelled": 3,
                     "max_false_alarms_per_asset_week": 2.0, "min_precision": 0.5},
    "live_pilot_shift": {"min_duration": "8h", "max_override_rate": 0.5},
    "live_pilot": {"min_duration": "7d", "min_labelled": 3,
                   "max_false_alarms_per_asset_week": 2.0, "min_precision": 0.5,
                   "max_override_rate": 0.3},
    "shadow_wide": {"min_duration": "7d", "min_labelled": 3,
                    "max_false_alarms_per_asset_week": 2.0, "min_precision": 0.5},
    "live_wide": {"min_duration": "7d", "max_false_alarms_per_asset_week": 2.0,
                  "max_override_rate": 0.3},
}


class Gates(_Strict):
    """A gate per rollout stage: what must be shown before leaving it.

    Defaults: shadow_pilot 7d, 3 labelled, <= 2 false alarms per asset-week, precision >= 0.5;
    live_pilot_shift 8h, override rate <= 0.5; live_pilot as shadow_pilot plus override rate
    <= 0.3; shadow_wide as shadow_pilot; live_wide 7d, <= 2 false alarms per asset-week,
    override rate <= 0.3.
    """

    shadow_pilot: Gate = Field(default_factory=lambda: Gate.model_validate(
        DEFAULT_GATES["shadow_pilot"]))
    live_pilot_shift: Gate = Field(default_factory=lambda: Gate.model_validate(
        DEFAULT_GATES["live_pilot_shift"]))
    live_pilot: Gate = Field(default_factory=lambda: Gate.model_validate(
        DEFAULT_GATES["live_pilot"]))
    shadow_wide: Gate = Field(default_factory=lambda: Gate.model_validate(
        DEFAULT_GATES["shadow_wide"]))
    live_wide: Gate = Field(default_factory=lambda: Gate.model_validate(
        DEFAULT_GATES["live_wide"]))

    @model_validator(mode="before")
    @classmethod
    def _keep_defaults(cls, v: object) -> object:
        if not isinstance(v, dict):
            return v
        return {stage: {**DEFAULT_GATES.get(stage, {}), **limits}
                if isinstance(limits, dict) else limits for stage, limits in v.items()}


class UseCase(_Strict):
    """Which assets a model watches, what action a detection asks for, and who owns it."""

    id: Id
    name: str = Field(min_length=1)
    asset_kind: str = Field(pattern=_ID)
    assets: list[str] | None = Field(
        default=None, description="asset ids; default: every asset of asset_kind",
    )
    model: str = Field(pattern=_ID, description="model name in the registry / models dir")
    model_kind: str = Field(
        default=DEFAULT_MODEL_KIND,
        description="the kind of model trained and loaded for it: an installed model kind "
                    "(andon plugins), default the built-in PCA-SPE",
    )
    model_params: dict[str, Any] = Field(
        default_factory=dict, description="parameters of the model kind (its plug-in checks "
        "them), e.g. for pca-spe {variance: 0.9, quantile: 0.995, margin: 2.0}",
    )
    action: str = Field(
        min_length=1,
        description="action template; fields: {asset}, {asset_id}, {deadline}, {line}, {site}",
    )
    owner_role: str
    priority: Literal["critical", "high", "medium", "low"] = Field(
        default="high",
        description="priority of its interventions (sets the acknowledge limit); raised to "
                    "critical when no planned stop comes before the predicted failure",
    )
    horizon: Seconds = Field(description="expected time from detection to failure (P-F "
                             "interval): the latest the failure is expected")
    horizon_min: Seconds | None = Field(
        default=None, description="the earliest the failure may come after a detection (the "
        "early edge of the horizon's uncertainty; the deadline is a planned stop before it, "
        "else an unplanned stop is asked for); default: the horizon itself",
    )
    window: Seconds = Field(default=1800.0, description="feature window length")
    hop: Seconds = Field(default=600.0, description="time between window evaluations")
    persistence: int = Field(
        default=3, ge=1, le=100, description="consecutive windows above threshold before acting",
    )
    top_features: int = Field(default=3, ge=1, le=10)
    envelope: ActionEnvelope | None = Field(
        default=None, description="allowed action verbs and set-point ranges; a "
        "intervention outside it is blocked at the edge (default: no envelope)",
    )
    # -- confidence floor and re-raise (andon.interventions.gate) ----------------------------
    confidence_floor: float = Field(
        default=1.0, ge=1.0, le=100.0,
        description=(
            "confidence of a detection = score / threshold (for the PCA-SPE model: how many "
            "times its alarm limit the squared prediction error is); an anomalous detection "
            "below this ratio goes to human triage instead of the inbox. 1.0 = off; e.g. 1.25 "
            "triages detections within 25 % of the threshold"
        ),
    )
    rearm_after: int = Field(
        default=3, ge=1, le=1000,
        description=("after a dismissal, windows the asset must score normal (in a row) before "
                     "the same problem may be raised again"),
    )
    gates: Gates = Field(
        default_factory=Gates,
        description="evidence each staged-rollout stage needs before a new version moves on "
                    "(andon rollout), e.g. {shadow_pilot: {min_duration: 14d, min_precision: "
                    "0.7}}",
    )

    _durations = field_validator("horizon", "horizon_min", "window", "hop", mode="before")(
        _duration)

    @model_validator(mode="after")
    def _model_kind(self) -> UseCase:
        kind = plugin_named(MODELS, self.model_kind, "model_kind")
        check_settings(kind, self.model_params, at=("model_params",))
        return self

    @field_validator("action")
    @classmethod
    def _template(cls, v: str) -> str:
        allowed = {"asset", "asset_id", "deadline", "line", "site"}
        try:
            fields = [(name, conv, spec) for _, name, spec, conv in string.Formatter().parse(v)
                      if name is not None]
        except ValueError as exc:
            raise ValueError(
                f"unbalanced braces ({exc}); write {{{{ or }}}} for a literal brace",
            ) from None
        for name, conv, spec in fields:
            text = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            if name not in allowed:
                raise ValueError(
                    f"unknown placeholder {text} (use {', '.join(sorted(allowed))})",
                )
            if conv or spec:
                raise ValueError(f"placeholder {text} takes no conversion or format; "
                                 f"write {{{name}}}")
        return v

    @model_validator(mode="after")
    def _hop_fits(self) -> UseCase:
        if self.hop > self.window:
            raise _FieldError("hop", f"hop {self.hop:g}s is longer than window {self.window:g}s")
        if self.horizon_min is not None and self.horizon_min > self.horizon:
            raise _FieldError("horizon_min", f"horizon_min {self.horizon_min:g}s is longer "
                              f"than horizon {self.horizon:g}s (it is the earliest failure)")
        return self

    @property
    def earliest_failure_s(self) -> float:
        """Seconds from a detection to the earliest expected failure (``horizon_min``)."""
        return self.horizon if self.horizon_min is None else self.horizon_min


class Fatigue(_Strict):
    """Alert-fatigue limits per operator position (ISA-18.2), for the whole plant.

    An operator position is the owner role of a use case at one site (``position: site``),
    area or line, or across the plant (``position: plant``): the console that receives the
    interventions. Limits are per position, not per use case, because a person's attention is
    shared by every use case that routes to them.
    """

    rate_limit: int = Field(
        default=10, ge=1, le=10_000,
        description="new interventions a position receives at most per rate_window; the rest "
                    "wait, visible, in its overflow queue",
    )
    rate_window: Seconds = Field(default=600.0, description="rate-limit window, e.g. '10min'")
    flood_threshold: int = Field(
        default=10, ge=1, le=10_000,
        description="new interventions within flood_window that make a flood (ISA-18.2: 10)",
    )
    flood_window: Seconds = Field(default=600.0, description="flood window, e.g. '10min'")
    position: Literal["plant", "site", "area", "line"] = Field(
        default="site", description="scope of an operator position: owner role at this level",
    )

    _durations = field_validator("rate_window", "flood_window", mode="before")(_duration)


PriorityName = Literal["critical", "high", "medium", "low"]
#: acknowledge limit per priority (seconds) unless the spec says otherwise
_DEFAULT_ACK_LIMITS: dict[PriorityName, float] = {
    "critical": 300.0, "high": 900.0, "medium": 1800.0, "low": 14400.0,
}


class Interventions(_Strict):
    """How long an intervention may wait for an acknowledgement, and who gets it next.

    ``ack_limits``: per priority, the longest time an intervention may stay unacknowledged
    before it escalates (ISA-18.2 style; defaults critical 5min, high 15min, medium 30min,
    low 4h; priorities left out keep their default). ``escalation_chain``: the roles an
    unacknowledged intervention climbs, in order, each able to act and none ranked below the
    one before (``andon.spec.chain``); an owner role outside the chain enters it at its first
    role ranked above the owner. ``escalation_check``: how often the escalation service looks.
    """

    ack_limits: dict[PriorityName, Seconds] = Field(
        default_factory=lambda: dict(_DEFAULT_ACK_LIMITS),
        description="acknowledge limit per priority, e.g. {critical: 5min, high: 15min}",
    )
    escalation_chain: list[str] | None = Field(
        default=None, min_length=1,
        description="role ids an unacknowledged intervention is handed up to, lowest rank "
        "first; default: every role that may act (access operator or higher) and has a rank, "
        "by rank",
    )
    escalation_allow_down: bool = Field(
        default=False,
        description="true: the chain is meant as written, even where it steps down to a lower "
        "rank or holds roles without one (an owner outside it enters at its first role)",
    )
    escalation_check: Seconds = Field(
        default=10.0, description="how often the escalation service checks, e.g. '10s'",
    )

    _check = field_validator("escalation_check", mode="before")(_duration)

    @field_validator("ack_limits", mode="before")
    @classmethod
    def _limits(cls, v: object) -> object:
        if not isinstance(v, dict):
            raise ValueError(  # noqa: TRY004 - pydantic reports only ValueError as a field error
                f"{v!r} is not a mapping of priority to duration (e.g. {{high: 15min}})")
        return {**_DEFAULT_ACK_LIMITS, **{k: _duration(d) for k, d in v.items()}}

    @field_validator("escalation_chain")
    @classmethod
    def _unique(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        dupes = sorted({r for r in v if v.count(r) > 1})
        if dupes:
            raise ValueError(f"role {dupes[0]!r} appears twice in the chain")
        return v


class Panel(_Strict):
    """An operator panel or HMI that answers interventions over MQTT, and who answers on it.

    The broker authenticates the panel (its MQTT login is ``id``; an ACL lets it write only
    ``andon/v1/{ent}/_andon/feedback/{id}``); Andon then accepts on that topic answers only by
    the ``people`` listed here. A person with MQTT credentials of their own answers on the
    topic named after their person id without being listed anywhere.
    """

    id: Id
    name: str = ""
    people: list[str] = Field(min_length=1, description="person ids who answer on this panel")


class Governance(_Strict):
    """What a regulated plant demands before a change reaches production (21 CFR Part 11).

    ``esignatures``: promoting, archiving or requalifying a model version, every rollout move
    and replacing the plant spec need an electronic signature: the person re-enters their
    password and states the meaning (authored / reviewed / approved); the signature is bound
    to the hash of the exact record signed. ``two_person``: a promotion and a spec
    replacement also need an earlier signature on the same record by somebody else (the
    author or a reviewer), so nobody approves their own change.
    """

    esignatures: bool = Field(default=False, description="changes to production need an "
                              "electronic signature (password re-entered, meaning stated)")
    two_person: bool = Field(default=False, description="a promotion or spec replacement also "
                             "needs another person's earlier signature on the same record")

    @model_validator(mode="after")
    def _two_needs_signatures(self) -> Governance:
        if self.two_person and not self.esignatures:
            raise ValueError("two_person needs esignatures: true (the second person signs)")
        return self


class PlantSpec(_Strict):
    """The whole plant spec file."""

    version: Literal[1] = 1
    enterprise: Enterprise
    roles: list[Role] = Field(min_length=1)
    people: list[Person] = Field(default_factory=list)
    sites: list[Site] = Field(min_length=1)
    use_cases: list[UseCase] = Field(default_factory=list)
    fatigue: Fatigue = Field(default_factory=Fatigue)
    interventions: Interventions = Field(default_factory=Interventions)
    sinks: SinksConfig = Field(default_factory=SinksConfig,
                               description="where interventions are delivered")
    time: TimePolicy | None = Field(
        default=None, description="clock-skew correction and lateness, e.g. "
        "{skew_threshold: 2s, lateness: 60s}; default: skew estimated, not corrected; 60s",
    )
    governance: Governance = Field(default_factory=Governance,
                                   description="electronic signatures and two-person rules")
    panels: list[Panel] = Field(default_factory=list,
                                description="MQTT feedback panels and the people on each")

    # -- navigation -----------------------------------------------------------------------
    def lines(self) -> list[tuple[Site, Area, Line]]:
        """Every line with its site and area."""
        return [(s, a, ln) for s in self.sites for a in s.areas for ln in a.lines]

    def assets(self) -> list[tuple[Site, Area, Line, Asset]]:
        """Every asset with its site, area and line."""
        return [(s, a, ln, x) for s, a, ln in self.lines() for x in ln.assets]

    def asset(self, asset_id: str) -> tuple[Site, Area, Line, Asset]:
        """Find an asset by id (KeyError if unknown)."""
        for found in self.assets():
            if found[3].id == asset_id:
                return found
        raise KeyError(asset_id)

    def line(self, site_id: str, line_id: str) -> tuple[Site, Area, Line]:
        """Find a line by site and line id (KeyError if unknown)."""
        for s, a, ln in self.lines():
            if s.id == site_id and ln.id == line_id:
                return s, a, ln
        raise KeyError(f"{site_id}/{line_id}")

    def use_case(self, use_case_id: str) -> UseCase:
        """Find a use case by id (KeyError if unknown)."""
        for uc in self.use_cases:
            if uc.id == use_case_id:
                return uc
        raise KeyError(use_case_id)

    def use_case_assets(self, uc: UseCase) -> list[tuple[Site, Area, Line, Asset]]:
        """Assets a use case watches."""
        chosen = [x for x in self.assets() if x[3].kind == uc.asset_kind]
        if uc.assets is not None:
            wanted = set(uc.assets)
            chosen = [x for x in chosen if x[3].id in wanted]
        return chosen

    def role(self, role_id: str) -> Role:
        """Find a role by id (KeyError if unknown)."""
        for r in self.roles:
            if r.id == role_id:
                return r
        raise KeyError(role_id)

    def escalation_chain(self) -> list[str]:
        """The roles an unacknowledged intervention climbs: as written, else from the roles.

        Without ``interventions.escalation_chain``: every role that may act and has a rank,
        lowest rank first (``andon.spec.chain.derived_chain``); possibly none.
        """
        written = self.interventions.escalation_chain
        return list(written) if written is not None else derived_chain(self.roles)

    def escalation_ranks(self) -> dict[str, int]:
        """Role id -> rank, for the roles that have one (declared or by their well-known id)."""
        return {r.id: rank for r in self.roles if (rank := r.effective_rank) is not None}

    def tag_count(self) -> int:
        """Count the tags in the plant."""
        return sum(len(x[3].tags) for x in self.assets())


Path = tuple[str | int, ...]


def cross_check(spec: PlantSpec) -> list[tuple[Path, str]]:
    """Rules that span the tree; each problem is (field path, reason)."""
    return [*_duplicates(spec), *_dangling(spec), *chain_problems(spec),
            *production_problems(spec),
            *sink_problems(spec.sinks, {u.id for u in spec.use_cases},
                           {r.id for r in spec.roles})]


def _duplicates(spec: PlantSpec) -> list[tuple[Path, str]]:
    """Find ids used twice.

    Roles, people, sites and use cases are unique in the file; areas and lines within their
    parent; tag names within an asset; asset ids across the whole plant.
    """
    problems: list[tuple[Path, str]] = []

    def unique(items: list[tuple[Path, str]], what: str) -> None:
        seen: dict[str, Path] = {}
        for path, key in items:
            if key in seen:
                problems.append((path, f"duplicate {what} {key!r} (also at {_dotted(seen[key])})"))
            else:
                seen[key] = path

    unique([(("roles", i, "id"), r.id) for i, r in enumerate(spec.roles)], "role id")
    unique([(("people", i, "id"), p.id) for i, p in enumerate(spec.people)], "person id")
    unique([(("sites", i, "id"), s.id) for i, s in enumerate(spec.sites)], "site id")
    unique([(("use_cases", i, "id"), u.id) for i, u in enumerate(spec.use_cases)], "use case id")
    unique([(("panels", i, "id"), x.id) for i, x in enumerate(spec.panels)], "panel id")
    assets: list[tuple[Path, str]] = []
    for si, s in enumerate(spec.sites):
        unique([(("sites", si, "areas", ai, "id"), a.id) for ai, a in enumerate(s.areas)],
               "area id")
        for ai, a in enumerate(s.areas):
            base = ("sites", si, "areas", ai)
            unique([((*base, "lines", li, "id"), ln.id) for li, ln in enumerate(a.lines)],
                   "line id")
            for li, ln in enumerate(a.lines):
                for xi, x in enumerate(ln.assets):
                    apath = (*base, "lines", li, "assets", xi)
                    assets.append(((*apath, "id"), x.id))
                    unique([((*apath, "tags", ti, "name"), t.name) for ti, t in enumerate(x.tags)],
                           f"tag name on asset {x.id!r}:")
    unique(assets, "asset id")
    return problems


def _dangling(spec: PlantSpec) -> list[tuple[Path, str]]:
    """Find references that do not resolve: roles and sites of people, roles and assets of uses."""
    problems: list[tuple[Path, str]] = []
    role_ids = {r.id for r in spec.roles}
    site_ids = {s.id for s in spec.sites}
    for i, p in enumerate(spec.people):
        if p.role not in role_ids:
            problems.append((("people", i, "role"), _unknown("role", p.role, role_ids)))
        if p.site is not None and p.site not in site_ids:
            problems.append((("people", i, "site"), _unknown("site", p.site, site_ids)))
        line_ids = {ln.id for s, _, ln in spec.lines() if p.site in {None, s.id}}
        problems.extend((("people", i, "lines", j), _unknown("line", line, line_ids))
                        for j, line in enumerate(p.lines) if line not in line_ids)
    problems.extend(_panel_people(spec))
    by_id = {x[3].id: x[3] for x in spec.assets()}
    kinds = {x[3].kind for x in spec.assets()}  # not from by_id: a duplicate id would hide one
    for i, uc in enumerate(spec.use_cases):
        if uc.owner_role not in role_ids:
            problems.append((("use_cases", i, "owner_role"),
                             _unknown("role", uc.owner_role, role_ids)))
        if uc.asset_kind not in kinds:
            problems.append((("use_cases", i, "asset_kind"),
                             _unknown("asset kind", uc.asset_kind, kinds)))
        for j, aid in enumerate(uc.assets or []):
            if aid not in by_id:
                problems.append((("use_cases", i, "assets", j), _unknown("asset", aid, set(by_id))))
            elif by_id[aid].kind != uc.asset_kind:
                problems.append((("use_cases", i, "assets", j),
                                 (f"asset {aid!r} is a {by_id[aid].kind}, "
                                  f"not a {uc.asset_kind} as the use case says")))
    return problems


def _panel_people(spec: PlantSpec) -> list[tuple[Path, str]]:
    """Find people of panels the spec does not define."""
    person_ids = {p.id for p in spec.people}
    return [(("panels", i, "people", j), _unknown("person", who, person_ids))
            for i, panel in enumerate(spec.panels)
            for j, who in enumerate(panel.people) if who not in person_ids]


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out

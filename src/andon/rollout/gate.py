"""A rollout stage's gate, evaluated from the challenger's track record.

The spec declares each stage's limits (``andon.spec.model.Gate``): minimum time in the stage,
minimum labelled events, maximum false alarms per asset-week, minimum median lead time,
minimum precision and recall, maximum override rate. ``evaluate`` measures each against the
new version's record on the stage's lines since the stage began (shadow record in a shadow
stage, live record in a live one) and returns one ``Check`` per limit; a figure that cannot
be measured yet (precision with nothing judged) fails its check and says what is missing.

>>> from datetime import datetime, timedelta
>>> from andon.kpi.trackrecord import TrackRecord
>>> from andon.spec.model import Gate
>>> t0 = datetime(2026, 3, 2).astimezone()
>>> rec = TrackRecord("pump-bearing", "4", "cooling-water", t0, t0 + timedelta(days=7),
...                   assets=2, mode="shadow", raised=4, confirmed=3, false_alarms=1)
>>> [c.text for c in evaluate(Gate(min_duration=14 * 86400, min_precision=0.7), rec,
...                           in_stage=timedelta(days=7), live=False)]
['7.0 d in the stage < 14.0 d (min)', 'precision 0.75 >= 0.70 (min)']
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from andon.rollout.stages import Check

if TYPE_CHECKING:
    from andon.kpi.trackrecord import TrackRecord
    from andon.spec.model import Gate

__all__ = ["evaluate", "unmet"]


def evaluate(gate: Gate, record: TrackRecord | None, *, in_stage: timedelta,
             live: bool) -> list[Check]:
    """One check per limit the gate sets (see the module doc); ``record`` None: nothing yet."""
    checks: list[Check] = []
    days = in_stage.total_seconds() / 86400
    if gate.min_duration is not None:
        need = gate.min_duration / 86400
        checks.append(_at_least("min_duration", days, need,
                                f"{days:.1f} d in the stage", f"{need:.1f} d"))
    if gate.min_labelled is not None:
        n = 0 if record is None else record.labelled
        checks.append(_at_least("min_labelled", n, gate.min_labelled,
                                f"{n} labelled events", f"{gate.min_labelled}"))
    if gate.max_false_alarms_per_asset_week is not None:
        fa = None if record is None else record.false_alarms_per_asset_week
        checks.append(_at_most("max_false_alarms_per_asset_week", fa,
                               gate.max_false_alarms_per_asset_week,
                               "false alarms per asset-week" if fa is None
                               else f"{fa:.2f} false alarms per asset-week", "no time watched yet"))
    if gate.min_median_lead_time is not None:
        lead = None if record is None else record.median_lead_time
        hours = None if lead is None else lead.total_seconds() / 3600
        checks.append(_at_least_or_missing(
            "min_median_lead_time", hours, gate.min_median_lead_time / 3600,
            f"median lead time {'-' if hours is None else f'{hours:.1f} h'}",
            f"{gate.min_median_lead_time / 3600:.1f} h", "no confirmed intervention yet"))
    for name, value, limit, what, missing in (
            ("min_precision", None if record is None else record.precision,
             gate.min_precision, "precision", "no confirmed or false alarm yet"),
            ("min_recall", None if record is None else record.recall, gate.min_recall,
             "recall", "no failure yet")):
        if limit is not None:
            checks.append(_at_least_or_missing(name, value, limit,
                                               f"{what} {_fmt(value)}", f"{limit:.2f}", missing))
    if gate.max_override_rate is not None:
        if not live:
            checks.append(Check("max_override_rate", gate.max_override_rate, None, ok=True,
                                text="override rate: not measured in shadow (nobody sees "
                                     "it)"))
        else:
            rate = None if record is None else record.override_rate
            checks.append(_at_most("max_override_rate", rate, gate.max_override_rate,
                                   f"override rate {_fmt(rate)}", "nothing raised yet",
                                   ok_when_missing=True))
    return checks


def unmet(checks: list[Check]) -> list[Check]:
    """The checks that fail."""
    return [c for c in checks if not c.ok]


def _at_least(name: str, value: float, limit: float, what: str, shown: str) -> Check:
    ok = value >= limit
    return Check(name, limit, value, ok, f"{what} {'>=' if ok else '<'} {shown} (min)")


def _at_least_or_missing(name: str, value: float | None, limit: float, what: str,  # noqa: PLR0917
                         shown: str, missing: str) -> Check:
    if value is None:
        return Check(name, limit, None, ok=False, text=f"{what}: {missing} ({shown} min)")
    return _at_least(name, value, limit, what, shown)


def _at_most(name: str, value: float | None, limit: float, what: str,
             missing: str, *, ok_when_missing: bool = False) -> Check:
    if value is None:
        return Check(name, limit, None, ok=ok_when_missing,
                     text=f"{what}: {missing} ({limit:g} max)")
    ok = value <= limit
    return Check(name, limit, value, ok, f"{what} {'<=' if ok else '>'} {limit:g} (max)")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"

"""The operator position: the console whose attention an intervention takes.

One definition, used by the fatigue gate (rate limits and floods are per position) and by the
operator-load figures (``andon.kpi.load``): the owner role a use case routes to, scoped by the
spec's ``fatigue.position`` (``site`` by default: ``ghent/maintenance_planner``; ``line``:
``ghent/cooling-water/maintenance_planner``; ``plant``: the role alone). Escalation hands an
intervention to other roles, but the position it was raised for is the one whose load it was.

>>> operator_position("site", "ghent", "utilities", "cooling-water", "maintenance_planner")
'ghent/maintenance_planner'
>>> operator_position("line", "ghent", "utilities", "cooling-water", "operator")
'ghent/cooling-water/operator'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from andon.interventions.record import Intervention
    from andon.spec.model import PlantSpec

__all__ = ["operator_position", "position_of", "position_of_intervention"]


def operator_position(scope: str, site: str, area: str, line: str, role: str) -> str:
    """The position of ``role`` at ``scope`` (plant / site / area / line) of a place."""
    levels = {"plant": (), "site": (site,), "area": (site, area), "line": (site, line)}[scope]
    return "/".join((*levels, role))


def position_of(spec: PlantSpec, use_case: str, asset: str) -> str:
    """The position a use case's interventions on ``asset`` go to."""
    role = spec.use_case(use_case).owner_role
    site, area, line, _ = spec.asset(asset)
    return operator_position(spec.fatigue.position, site.id, area.id, line.id, role)


def position_of_intervention(spec: PlantSpec, iv: Intervention) -> str:
    """The position a stored intervention was raised for.

    The use case's owner role when the spec still has the use case, else the owner the
    record names now; the place is the record's own (site, area, line).
    """
    try:
        role = spec.use_case(iv.use_case).owner_role
    except KeyError:
        role = iv.owner_role
    return operator_position(spec.fatigue.position, iv.site, iv.area, iv.line, role)

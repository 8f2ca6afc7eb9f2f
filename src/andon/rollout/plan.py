"""Where each version scores at an instant: live or in shadow, per use case and line.

``Coverage`` reads the rollouts' step histories (and the sites' shifts, for a challenger live
during one shift only). The edge asks it which version to deliver from and which to score in
shadow; the track record asks it which version a failure is charged to. One answer for both.

>>> from andon.clock import utc
>>> from andon.rollout.stages import start
>>> r = start("pump-bearing", "pump-bearing", "4", pilot="cooling-water",
...           at=utc(2026, 3, 2), by="ana", reason="replay looks good")
>>> cover = Coverage([r], {})
>>> cover.shadow("pump-bearing", "cooling-water", utc(2026, 3, 3))
('4',)
>>> cover.live("pump-bearing", "cooling-water", utc(2026, 3, 3)) is None
True
>>> cover.shadow("pump-bearing", "cooling-water", utc(2026, 3, 1))  # before it started
()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from andon.rollout.stages import Rollout, Stage, Step
from andon.spec.calendar import in_shift

if TYPE_CHECKING:
    from andon.spec.model import PlantSpec, Shift

__all__ = ["Coverage", "coverage_of"]


@dataclass(frozen=True, slots=True)
class _Site:
    timezone: str
    shifts: Mapping[str, Shift]


class Coverage:
    """Which version is live (instead of production) or in shadow, per use case x line x time.

    ``sites``: line id -> its site's time zone and shifts (``coverage_of`` builds it).
    """

    def __init__(self, rollouts: Sequence[Rollout], sites: Mapping[str, _Site]) -> None:
        self._by_use_case: dict[str, list[Rollout]] = {}
        for r in rollouts:
            self._by_use_case.setdefault(r.use_case, []).append(r)
        self._sites = sites

    def live(self, use_case: str, line: str, at: datetime) -> str | None:
        """The challenger live on ``line`` at ``at``, or None (production serves it)."""
        for r, step in self._steps(use_case, at):
            if line in step.live_lines and self._in_its_shift(step, line, at):
                return r.version
        return None

    def shadow(self, use_case: str, line: str, at: datetime) -> tuple[str, ...]:
        """The versions scoring ``line`` in shadow at ``at``."""
        out = []
        for r, step in self._steps(use_case, at):
            live_now = line in step.live_lines and self._in_its_shift(step, line, at)
            if line in step.shadow_lines and not live_now:
                out.append(r.version)
        return tuple(out)

    def _steps(self, use_case: str, at: datetime) -> list[tuple[Rollout, Step]]:
        """The step each rollout of ``use_case`` stood in at ``at``."""
        out = []
        for r in self._by_use_case.get(use_case, ()):
            standing = [s for s in r.steps if s.at <= at]
            if standing and standing[-1].stage is not Stage.WITHDRAWN:
                out.append((r, standing[-1]))
        return out

    def _in_its_shift(self, step: Step, line: str, at: datetime) -> bool:
        if step.stage is not Stage.LIVE_PILOT_SHIFT or step.shift is None:
            return True
        site = self._sites.get(line)
        shift = None if site is None else site.shifts.get(step.shift)
        return shift is not None and site is not None and in_shift(shift, site.timezone, at)


def coverage_of(rollouts: Sequence[Rollout], spec: PlantSpec) -> Coverage:
    """``Coverage`` of ``rollouts`` with the spec's sites (time zones and shifts per line)."""
    sites = {line.id: _Site(site.timezone, {s.name: s for s in site.shifts})
             for site, _area, line in spec.lines()}
    return Coverage(rollouts, sites)

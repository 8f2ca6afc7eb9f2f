"""Scenarios: a set of faults, built in (``Scenario.demo``) or read from a YAML file.

File format (times are seconds or durations such as ``'7h'``, ``'20min'``; an ``offset`` is
in the tag's unit, or a percentage of the tag's span such as ``'5%'``; the full reference with
examples is ``docs/simulator.md``)::

    faults:
      - {kind: bearing_wear, asset: p-101, start_s: 7h, end_s: 30h}
      - {kind: calibration_step, asset: k-104, tag: discharge_temp, start_s: 3h, offset: 6.0}
      - {kind: drift, asset: k-104, tag: oil_temp, start_s: 2h, end_s: 8h, offset: 10%}
      - {kind: spike, asset: p-102, tag: flow, start_s: 1h, every_s: 30min, offset: -20%}
      - {kind: noise, asset: m-103, tag: current, start_s: 1h, end_s: 2h, offset: 4.0}
      - {kind: stuck, asset: cv-202, tag: drive_temp, start_s: 4h, end_s: 7h}
      - {kind: dropout, asset: pr-201, start_s: 5h, end_s: 320min}
      - {kind: clock_skew, line: bottling-1, offset: 90}

Every problem becomes a ``SpecError`` line ``file:line field: reason`` (``faults[2].end_s``).
The file cannot know the plant; the simulator checks the asset, tag and line ids against the
spec when it starts.

The demo scenario (``Scenario.demo()``), for ``examples/demo-plant.yaml``, tells its story
after ``DEMO_HISTORY_S`` (48 h) of healthy history, which the demo backfills into the store
as a historian import and trains on; the live stream starts at 48 h:

* bearing wear on pump p-101 from 49 h, failing at 72 h (a 23 h P-F interval);
* a +6.0 degC calibration step on compressor k-104 ``discharge_temp`` from 50 h on;
* conveyor cv-202 ``drive_temp`` stuck from 51 h to 54 h;
* every tag of press pr-201 dropped out from 52 h to 52 h 20 min;
* line bottling-1's source clock 90 s ahead from 48 h on.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import yaml

from andon.errors import SpecError, SpecErrors
from andon.simulator.faults import FAULT_KINDS, Fault, FaultKind, fault_problems
from andon.units import parse_duration_s

if TYPE_CHECKING:
    from os import PathLike

__all__ = [
    "DEMO_CALIBRATION_ASSET",
    "DEMO_CALIBRATION_OFFSET",
    "DEMO_CALIBRATION_START_S",
    "DEMO_CALIBRATION_TAG",
    "DEMO_DROPOUT_ASSET",
    "DEMO_DROPOUT_END_S",
    "DEMO_DROPOUT_START_S",
    "DEMO_HISTORY_S",
    "DEMO_SKEW_LINE",
    "DEMO_SKEW_OFFSET_S",
    "DEMO_STUCK_ASSET",
    "DEMO_STUCK_END_S",
    "DEMO_STUCK_START_S",
    "DEMO_STUCK_TAG",
    "DEMO_WEAR_ASSET",
    "DEMO_WEAR_FAILURE_S",
    "DEMO_WEAR_START_S",
    "Scenario",
]

_H: Final = 3600.0
_MIN: Final = 60.0

#: healthy history before anything goes wrong (the demo trains on it)
DEMO_HISTORY_S: Final = 48 * _H
#: bearing wear on this pump ...
DEMO_WEAR_ASSET: Final = "p-101"
#: ... starts 1 h into the live stream ...
DEMO_WEAR_START_S: Final = DEMO_HISTORY_S + 1 * _H
#: ... and makes it fail (trip) 24 h into the live stream.
DEMO_WEAR_FAILURE_S: Final = DEMO_HISTORY_S + 24 * _H
#: calibration step on this compressor tag ...
DEMO_CALIBRATION_ASSET: Final = "k-104"
DEMO_CALIBRATION_TAG: Final = "discharge_temp"
#: ... of +6.0 degC from 2 h into the live stream on.
DEMO_CALIBRATION_OFFSET: Final = 6.0
DEMO_CALIBRATION_START_S: Final = DEMO_HISTORY_S + 2 * _H
#: this conveyor tag is stuck ...
DEMO_STUCK_ASSET: Final = "cv-202"
DEMO_STUCK_TAG: Final = "drive_temp"
#: ... from 3 h to 6 h into the live stream.
DEMO_STUCK_START_S: Final = DEMO_HISTORY_S + 3 * _H
DEMO_STUCK_END_S: Final = DEMO_HISTORY_S + 6 * _H
#: every tag of this press drops out ...
DEMO_DROPOUT_ASSET: Final = "pr-201"
#: ... from 4 h to 4 h 20 min into the live stream.
DEMO_DROPOUT_START_S: Final = DEMO_HISTORY_S + 4 * _H
DEMO_DROPOUT_END_S: Final = DEMO_HISTORY_S + 4 * _H + 20 * _MIN
#: this line's source stamps samples 90 s ahead, from the start of the live stream.
DEMO_SKEW_LINE: Final = "bottling-1"
DEMO_SKEW_OFFSET_S: Final = 90.0

_FIELDS: Final = ("kind", "asset", "tag", "line", "start_s", "end_s", "offset", "every_s")
_TOP_FIELDS: Final = ("faults", "description")


@dataclass(frozen=True)
class Scenario:
    """The faults of one simulation run (none: a healthy plant).

    ``source`` names where it came from and ``lines`` the line of each fault in that file
    (read from a file), so that the simulator's check against the spec names them too.
    """

    faults: tuple[Fault, ...] = ()
    source: str = dataclasses.field(default="scenario", compare=False)
    lines: tuple[int, ...] = dataclasses.field(default=(), compare=False)

    def line_of(self, i: int) -> int | None:
        """The line of fault ``i`` in ``source``, if known."""
        return self.lines[i] if i < len(self.lines) else None

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> Scenario:
        """Read a YAML scenario (a ``faults:`` list).

        Problems raise ``SpecErrors``: one line per problem naming file, line and field.
        """
        p = Path(path)
        name = str(p)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise _one(name, None, "file not found") from None
        except UnicodeDecodeError as exc:
            raise _one(name, None, f"not UTF-8 text ({exc.reason})") from None
        except OSError as exc:
            raise _one(name, None, exc.strerror or str(exc)) from None
        parsed = _parse(text, name)
        return cls(tuple(f for f, _ in parsed), name, tuple(line for _, line in parsed))

    @classmethod
    def demo(cls) -> Scenario:
        """Return the built-in demo scenario for ``examples/demo-plant.yaml`` (module doc)."""
        return cls((
            Fault("bearing_wear", asset=DEMO_WEAR_ASSET, start_s=DEMO_WEAR_START_S,
                  end_s=DEMO_WEAR_FAILURE_S),
            Fault("calibration_step", asset=DEMO_CALIBRATION_ASSET, tag=DEMO_CALIBRATION_TAG,
                  start_s=DEMO_CALIBRATION_START_S, offset=DEMO_CALIBRATION_OFFSET),
            Fault("stuck", asset=DEMO_STUCK_ASSET, tag=DEMO_STUCK_TAG,
                  start_s=DEMO_STUCK_START_S, end_s=DEMO_STUCK_END_S),
            Fault("dropout", asset=DEMO_DROPOUT_ASSET, start_s=DEMO_DROPOUT_START_S,
                  end_s=DEMO_DROPOUT_END_S),
            Fault("clock_skew", line=DEMO_SKEW_LINE, start_s=DEMO_HISTORY_S,
                  offset=DEMO_SKEW_OFFSET_S),
        ))


# -- YAML ------------------------------------------------------------------------------------

_Bad = Callable[[str, str], None]


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _scalar(node: yaml.Node) -> Any:
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _one(name: str, line: int | None, reason: str) -> SpecErrors:
    return SpecErrors([SpecError(name, line, "", reason)])


def _parse(text: str, name: str) -> list[tuple[Fault, int]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise _one(name, line, f"YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise _one(name, None, f"YAML error: {exc}") from None
    if root is None:
        raise _one(name, 1, "the file is empty; expected 'faults:' and a list of faults")
    if not isinstance(root, yaml.MappingNode):
        raise _one(name, _line(root), "expected a mapping with 'faults:' at the top")
    errors: list[SpecError] = []
    faults: list[tuple[Fault, int]] = []
    for i, node in enumerate(_fault_nodes(root, name, errors)):
        fault = _parse_fault(node, f"faults[{i}]", name, errors)
        if fault is not None:
            faults.append((fault, _line(node)))
    if errors:
        raise SpecErrors(errors)
    return faults


def _fault_nodes(root: yaml.MappingNode, name: str, errors: list[SpecError]) -> list[yaml.Node]:
    """Return the nodes of the ``faults:`` list (an empty ``faults:`` is a healthy scenario)."""
    found: yaml.Node | None = None
    for key_node, value_node in root.value:
        key = _scalar(key_node)
        if key == "faults":
            found = value_node
        elif key not in _TOP_FIELDS:
            errors.append(SpecError(name, _line(key_node), str(key),
                                    f"unknown field {key!r} (allowed: {', '.join(_TOP_FIELDS)})"))
    if found is None:
        errors.append(SpecError(name, _line(root), "faults", "required field is missing"))
        return []
    if isinstance(found, yaml.SequenceNode):
        return list(found.value)
    if not (isinstance(found, yaml.ScalarNode) and _scalar(found) is None):
        errors.append(SpecError(name, _line(found), "faults", "expected a list of faults"))
    return []


def _parse_fault(node: yaml.Node, where: str, name: str, errors: list[SpecError]) -> Fault | None:
    if not isinstance(node, yaml.MappingNode):
        errors.append(SpecError(name, _line(node), where, "expected a mapping (kind:, ...)"))
        return None
    lines: dict[str, int] = {}
    raw: dict[str, Any] = {}
    before = len(errors)
    for key_node, value_node in node.value:
        key = _scalar(key_node)
        if key not in _FIELDS:
            errors.append(SpecError(name, _line(key_node), f"{where}.{key}",
                                    f"unknown field {key!r} (allowed: {', '.join(_FIELDS)})"))
        elif key in raw:
            errors.append(SpecError(name, _line(key_node), f"{where}.{key}",
                                    f"key {key!r} appears twice"))
        else:
            lines[key] = _line(value_node)
            raw[key] = _scalar(value_node)

    def bad(field: str, reason: str) -> None:
        errors.append(SpecError(name, lines.get(field, _line(node)), f"{where}.{field}", reason))

    kind = _kind(raw, bad)
    ids = {field: _text(raw.get(field), field, bad) for field in ("asset", "tag", "line")}
    start_s = _seconds(raw.get("start_s", 0.0), "start_s", bad)
    end_s = None if raw.get("end_s") is None else _seconds(raw["end_s"], "end_s", bad)
    offset, percent = _offset(raw.get("offset", 0.0), bad)
    every_s = None if raw.get("every_s") is None else _seconds(raw["every_s"], "every_s", bad)
    if kind is None or len(errors) > before:
        return None
    problems = fault_problems(kind, asset=ids["asset"], tag=ids["tag"], line=ids["line"],
                              start_s=start_s, end_s=end_s, offset=offset, percent=percent,
                              every_s=every_s)
    for field, reason in problems:
        bad(field, reason)
    if problems:
        return None
    return Fault(kind, asset=ids["asset"], tag=ids["tag"], line=ids["line"], start_s=start_s,
                 end_s=end_s, offset=offset, percent=percent, every_s=every_s)


def _kind(raw: dict[str, Any], bad: _Bad) -> FaultKind | None:
    if "kind" not in raw:
        bad("kind", f"required field is missing (one of {', '.join(FAULT_KINDS)})")
        return None
    known = next((k for k in FAULT_KINDS if k == raw["kind"]), None)
    if known is None:
        bad("kind", f"unknown fault kind {raw['kind']!r} (known: {', '.join(FAULT_KINDS)})")
    return known


def _text(value: object, field: str, bad: _Bad) -> str | None:
    if value is None or isinstance(value, str):
        return value
    bad(field, f"expected {field} id text, got {value!r}")
    return None


def _offset(value: object, bad: _Bad) -> tuple[float, bool]:
    """An offset in the tag's unit (a number) or a percentage of its span (``'5%'``)."""
    if isinstance(value, str):
        text = value.strip()
        number = text[:-1].strip() if text.endswith("%") else None
        try:
            parsed = float(number) if number else math.nan
        except ValueError:
            parsed = math.nan
        if math.isnan(parsed):
            bad("offset", "expected a number in the tag's unit or a percentage of its span "
                f"such as '5%', got {value!r}")
        return parsed, True
    if isinstance(value, bool) or not isinstance(value, int | float):
        bad("offset", f"expected a number in the tag's unit or a percentage of its span such "
            f"as '5%', got {value!r}")
        return math.nan, False
    return float(value), False


def _seconds(value: object, field: str, bad: _Bad) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        bad(field, f"expected seconds or a duration such as '2h', got {value!r}")
        return math.nan
    try:
        return parse_duration_s(value)
    except ValueError as exc:
        bad(field, str(exc))
        return math.nan

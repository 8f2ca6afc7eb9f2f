"""Work orders and maintenance logs from a CMMS, joined to assets and time.

A CMMS (SAP PM, Maximo, Fiix, a spreadsheet) knows what maintenance found: "bearing replaced
on P-101 on 3 March, failure confirmed". ``read_work_orders`` reads such an export (CSV, a
JSON array, or JSON Lines), maps the CMMS's asset names onto the spec's asset ids, and returns
the orders plus the rows it could not use, each with ``file:line`` and a one-line reason;
``andon.app.import_work_orders`` stores the good ones (idempotent by external id). Reports,
training and replay backtests then ask ``confirmed_failures``: when did a confirmed failure
happen on which asset, in a time range. A CMMS that Andon feeds work orders to reports their
status back (``WorkOrderChange``); ``andon.app.apply_work_order`` turns it into an answer.

Columns (names are matched case-insensitively; common CMMS spellings are accepted):

* ``external_id`` (``id``, ``work_order``, ``wo``, ``number``) — required, the CMMS's id;
* ``asset`` (``asset_id``, ``equipment``, ``functional_location``) — required; the spec's
  asset id, its name (``Pump P-101``), or a name mapped with ``asset_map``;
* ``opened_at`` (``opened``, ``created``, ``reported_at``, ``start``) — required; ISO 8601
  with an offset, or without one plus an explicit ``timezone``;
* ``closed_at`` (``closed``, ``completed``, ``finished``, ``end``) — optional;
* ``type`` — corrective / preventive / inspection (also CM, PM, INSP);
* ``failure_confirmed`` — true/false, yes/no, 1/0 (default false);
* ``failure_mode``, ``failure_code``, ``description`` — optional text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from andon.errors import ItDataError
from andon.interventions.lifecycle import InterventionState

if TYPE_CHECKING:
    from collections.abc import Sequence

    from andon.spec.model import PlantSpec

__all__ = [
    "STATE_TO_STATUS",
    "STATUS_TO_STATE",
    "ImportResult",
    "RejectedRow",
    "WorkOrder",
    "WorkOrderBook",
    "WorkOrderChange",
    "WorkOrderStatus",
    "WorkType",
    "confirmed_failures",
    "load_asset_map",
    "read_work_orders",
]

class WorkType(StrEnum):
    """Kind of a work order, as a CMMS files it."""

    CORRECTIVE = "corrective"  # repair after (or during) a failure
    PREVENTIVE = "preventive"  # planned maintenance on a schedule
    INSPECTION = "inspection"  # look, measure, report; no repair planned


@dataclass(frozen=True, slots=True)
class WorkOrder:
    """One work order or maintenance-log entry imported from IT (``read_work_orders``)."""

    external_id: str  # the CMMS's id; imports are idempotent by it
    asset: str  # canonical asset id of the spec
    opened_at: datetime
    type: WorkType
    failure_confirmed: bool = False  # a technician confirmed a failure of the asset
    closed_at: datetime | None = None
    failure_mode: str = ""  # e.g. "bearing wear"
    failure_code: str = ""  # e.g. ISO 14224 code or the CMMS's own
    description: str = ""
    source: str = ""  # where it was imported from (file name)
    imported_at: datetime | None = None  # set by the store


class WorkOrderStatus(StrEnum):
    """Work-order status in the CMMS (Atlas names; CANCELLED added for dismissals)."""

    OPEN = "OPEN"  # waiting to be worked on
    IN_PROGRESS = "IN_PROGRESS"  # a technician is on it
    ON_HOLD = "ON_HOLD"  # paused (parts, access, planned stop)
    COMPLETE = "COMPLETE"  # the work was done
    CANCELLED = "CANCELLED"  # not needed after all


#: intervention state -> work-order status Andon sets
STATE_TO_STATUS: dict[InterventionState, WorkOrderStatus] = {
    InterventionState.NEW: WorkOrderStatus.OPEN,
    InterventionState.ESCALATED: WorkOrderStatus.OPEN,
    InterventionState.ACKNOWLEDGED: WorkOrderStatus.OPEN,
    InterventionState.IN_PROGRESS: WorkOrderStatus.IN_PROGRESS,
    InterventionState.DEFERRED: WorkOrderStatus.ON_HOLD,
    InterventionState.SHELVED: WorkOrderStatus.ON_HOLD,
    InterventionState.DONE: WorkOrderStatus.COMPLETE,
    InterventionState.DISMISSED: WorkOrderStatus.CANCELLED,
    InterventionState.EXPIRED: WorkOrderStatus.CANCELLED,
}

#: work-order status -> the intervention state it asks for (None: no change)
STATUS_TO_STATE: dict[WorkOrderStatus, InterventionState | None] = {
    WorkOrderStatus.OPEN: None,
    WorkOrderStatus.IN_PROGRESS: InterventionState.IN_PROGRESS,
    WorkOrderStatus.ON_HOLD: InterventionState.DEFERRED,
    WorkOrderStatus.COMPLETE: InterventionState.DONE,
    WorkOrderStatus.CANCELLED: InterventionState.DISMISSED,
}

@dataclass(frozen=True, slots=True)
class WorkOrderChange:
    """A work order's status as the CMMS reports it, with what the technician wrote."""

    intervention_id: str
    work_order_id: str
    status: WorkOrderStatus
    note: str  # the technician's notes / feedback ("" if none)
    by: str  # who completed or changed it in the CMMS ("" if not said)
    at: datetime | None  # when it was completed / changed, if the CMMS says
    outcome: str = ""  # what was found, if the work order says (fault_confirmed, no_fault...)

    @property
    def asks_for(self) -> InterventionState | None:
        """The intervention state this status asks for (None: nothing to do)."""
        return STATUS_TO_STATE[self.status]


class WorkOrderBook(Protocol):
    """Where work orders are kept (``andon.store.Store`` implements it)."""

    def work_orders(self, *, asset: str | None = None, start: datetime | None = None,
                    end: datetime | None = None, failure_confirmed: bool | None = None,
                    limit: int | None = 1000) -> list[WorkOrder]:
        """Work orders opened in ``[start, end)``, oldest first."""
        ...


_ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "id", "work_order", "work_order_id", "workorder", "wo",
                    "wo_number", "order", "number"),
    "asset": ("asset", "asset_id", "equipment", "equipment_id", "functional_location",
              "location"),
    "opened_at": ("opened_at", "opened", "created", "created_at", "reported_at", "reported",
                  "start", "started_at", "date"),
    "closed_at": ("closed_at", "closed", "completed", "completed_at", "finished", "finished_at",
                  "end"),
    "type": ("type", "wo_type", "order_type", "work_type", "kind"),
    "failure_confirmed": ("failure_confirmed", "confirmed_failure", "failure", "failed"),
    "failure_mode": ("failure_mode", "mode"),
    "failure_code": ("failure_code", "code", "cause_code"),
    "description": ("description", "desc", "text", "summary", "short_text"),
}
_TYPES = {
    "corrective": WorkType.CORRECTIVE, "cm": WorkType.CORRECTIVE, "repair": WorkType.CORRECTIVE,
    "breakdown": WorkType.CORRECTIVE, "preventive": WorkType.PREVENTIVE,
    "preventative": WorkType.PREVENTIVE, "pm": WorkType.PREVENTIVE,
    "inspection": WorkType.INSPECTION, "insp": WorkType.INSPECTION,
}
_TRUE = frozenset({"true", "yes", "y", "1", "x"})
_FALSE = frozenset({"false", "no", "n", "0", ""})
_MAX_TEXT = 4000


class _Bad(Exception):
    """One row cannot be used; ``args[0]`` is the one-line reason."""


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row that was not imported: where it is, why, and the row as read."""

    where: str  # file:line
    reason: str
    raw: str


@dataclass
class ImportResult:
    """What an import did."""

    read: int = 0  # rows read
    orders: list[WorkOrder] = field(default_factory=list)  # rows that were usable
    rejected: list[RejectedRow] = field(default_factory=list)
    new: int = 0  # stored for the first time
    updated: int = 0  # replaced a stored order with other content
    unchanged: int = 0  # already stored as is

    def lines(self) -> list[str]:
        """One ``file:line: reason`` line per rejected row."""
        return [f"{r.where}: {r.reason}" for r in self.rejected]


def load_asset_map(path: Path) -> dict[str, str]:
    """CMMS asset name → asset id, from YAML/JSON (a mapping) or CSV (``name,asset``).

    ``ItDataError`` naming the file when it cannot be read.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ItDataError(f"{path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".csv":
        rows = list(csv.reader(text.splitlines()))
        if rows and [c.strip().lower() for c in rows[0][:2]] == ["name", "asset"]:
            rows = rows[1:]
        bad = next((i for i, r in enumerate(rows, 2) if len(r) < 2), None)  # noqa: PLR2004
        if bad is not None:
            raise ItDataError(f"{path}:{bad}: expected two columns: CMMS name, asset id")
        return {r[0].strip(): r[1].strip() for r in rows}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ItDataError(f"{path}: not YAML or JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ItDataError(f"{path}: expected a mapping of CMMS asset name to asset id")
    return {str(k).strip(): v.strip() for k, v in data.items()}


def read_work_orders(path: Path, spec: PlantSpec, *, asset_map: Mapping[str, str] | None = None,
                     timezone: tzinfo | None = None) -> ImportResult:
    """Read a CSV / JSON / JSON Lines export; good rows as orders, the others as rejects.

    ``ItDataError`` when the file as a whole cannot be read.
    """
    assets = _AssetNames(spec, asset_map or {})
    result = ImportResult()
    for line, row in _rows(path):
        result.read += 1
        try:
            result.orders.append(_order(row, assets, timezone, path.name))
        except _Bad as exc:
            raw = json.dumps(row, default=str, ensure_ascii=False)[:_MAX_TEXT]
            result.rejected.append(RejectedRow(f"{path.name}:{line}", str(exc), raw))
    return result


def confirmed_failures(store: WorkOrderBook, *, assets: Sequence[str] | None = None,
                       start: datetime | None = None,
                       end: datetime | None = None) -> dict[str, list[datetime]]:
    """Asset → times (oldest first) of confirmed failures opened in ``[start, end)``.

    "Failure confirmed on this asset at this time": the join reports, training labels and
    replay lead times use. The time is the work order's ``opened_at``.
    """
    wanted = None if assets is None else set(assets)
    out: dict[str, list[datetime]] = {}
    for order in store.work_orders(start=start, end=end, failure_confirmed=True, limit=None):
        if wanted is None or order.asset in wanted:
            out.setdefault(order.asset, []).append(order.opened_at)
    return out


# -- reading ---------------------------------------------------------------------------------
class _AssetNames:
    """CMMS asset text → spec asset id: the map first, then the id, then the name."""

    def __init__(self, spec: PlantSpec, asset_map: Mapping[str, str]) -> None:
        ids = {x.id for *_, x in spec.assets()}
        unknown = sorted(v for v in asset_map.values() if v not in ids)
        if unknown:
            raise ItDataError(f"asset map names assets the spec does not have: "
                              f"{', '.join(unknown[:10])}")
        self.by_name = {k.casefold(): v for k, v in asset_map.items()}
        for *_, x in spec.assets():
            self.by_name.setdefault(x.id.casefold(), x.id)
            self.by_name.setdefault(x.name.casefold(), x.id)

    def __call__(self, text: str) -> str:
        found = self.by_name.get(text.strip().casefold())
        if found is None:
            raise _Bad(f"unknown asset {text[:100]!r}: not an asset id or name of the spec, "
                       "and not in the asset map (--map-assets)")
        return found


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row with canonical keys) of every record of the file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ItDataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ItDataError(f"{path}: cannot be read ({exc})") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _csv_rows(path, text)
    elif suffix in {".json", ".jsonl", ".ndjson"}:
        yield from _json_rows(path, text)
    else:
        raise ItDataError(f"{path}: expected a .csv, .json or .jsonl file")


def _canonical(keys: Sequence[str]) -> dict[str, str]:
    """File key → canonical field name, for the keys that mean one."""
    out: dict[str, str] = {}
    for key in keys:
        norm = key.strip().lower().replace(" ", "_").replace("-", "_")
        for name, aliases in _ALIASES.items():
            if norm in aliases and name not in out.values():
                out[key] = name
                break
    return out


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    first = text.split("\n", 1)[0]
    reader = csv.DictReader(text.splitlines(keepends=True),
                            delimiter=max(",;\t|", key=first.count))
    names = _canonical(reader.fieldnames or [])
    missing = {"external_id", "asset", "opened_at"} - set(names.values())
    if missing:
        raise ItDataError(f"{path}:1: missing column(s) {', '.join(sorted(missing))} (got "
                          f"{', '.join(reader.fieldnames or [])[:200]})")
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:  # a NUL byte, a field over csv's size limit: the rest is lost
            raise ItDataError(f"{path}:{reader.line_num}: not readable as CSV ({exc})") from None
        line = reader.line_num
        if None in row:
            yield line, {"_problem": "more cells than header columns", **_named(row, names)}
            continue
        yield line, _named(row, names)


def _named(row: Mapping[Any, Any], names: Mapping[str, str]) -> dict[str, Any]:
    return {names[k]: v for k, v in row.items() if k in names}


def _json_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Records of a JSON array (or ``{"work_orders": [...]}``) or JSON Lines, with lines."""
    stripped = text.lstrip()
    if path.suffix.lower() != ".json" or not stripped.startswith(("[", "{")):
        yield from _json_lines(text)
    elif stripped.startswith("{"):
        yield from _json_object(path, text)
    else:
        yield from _json_array(path, text, len(text) - len(stripped) + 1)


def _json_object(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ItDataError(f"{path}: not JSON ({exc})") from None
    items = obj.get("work_orders") if isinstance(obj, dict) else None
    if not isinstance(items, list):
        raise ItDataError(f"{path}: expected a JSON array of work orders or an object with a "
                          "'work_orders' array")
    for i, item in enumerate(items, 1):
        yield i, _json_record(item)


def _json_array(path: Path, text: str, pos: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """Items of a top-level array, each with the line it starts on."""
    decoder = json.JSONDecoder()
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return
        line = text.count("\n", 0, pos) + 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError) as exc:
            raise ItDataError(f"{path}:{line}: not JSON ({exc.args[0]})") from None
        yield line, _json_record(item)


def _json_lines(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for line, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            yield line, {"_problem": f"not JSON ({exc.args[0]})"}
            continue
        yield line, _json_record(item)


def _json_record(item: object) -> dict[str, Any]:
    if not isinstance(item, dict):
        return {"_problem": f"expected a JSON object, got {type(item).__name__}"}
    names = _canonical([str(k) for k in item])
    return {names[k]: v for k, v in item.items() if k in names}


def _order(row: Mapping[str, Any], assets: _AssetNames, timezone: tzinfo | None,
           source: str) -> WorkOrder:
    if "_problem" in row:
        raise _Bad(str(row["_problem"]))
    external_id = _text(row.get("external_id"))
    if not external_id:
        raise _Bad("missing external id")
    asset = assets(_text(row.get("asset")))
    opened = _when(row.get("opened_at"), "opened_at", timezone)
    if opened is None:
        raise _Bad("missing opened_at")
    closed = _when(row.get("closed_at"), "closed_at", timezone)
    if closed is not None and closed < opened:
        raise _Bad(f"closed_at {closed.isoformat()} is before opened_at {opened.isoformat()}")
    kind = _TYPES.get(_text(row.get("type")).lower() or "corrective")
    if kind is None:
        raise _Bad(f"type {_text(row.get('type'))[:40]!r} is not corrective, preventive or "
                   "inspection")
    return WorkOrder(
        external_id=external_id[:200], asset=asset, opened_at=opened, type=kind,
        failure_confirmed=_flag(row.get("failure_confirmed")), closed_at=closed,
        failure_mode=_text(row.get("failure_mode"))[:_MAX_TEXT],
        failure_code=_text(row.get("failure_code"))[:100],
        description=_text(row.get("description"))[:_MAX_TEXT], source=source,
    )


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Bad(f"failure_confirmed {text[:40]!r} is not true/false, yes/no or 1/0")


def _when(value: object, what: str, timezone: tzinfo | None) -> datetime | None:
    text = _text(value)
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise _Bad(f"{what} {text[:60]!r} is not an ISO 8601 date/time") from None
    if when.tzinfo is None or when.utcoffset() is None:
        if timezone is None:
            raise _Bad(f"{what} {text[:60]!r} has no UTC offset; pass --timezone (e.g. "
                       "Europe/Brussels)")
        when = when.replace(tzinfo=timezone)
    return when

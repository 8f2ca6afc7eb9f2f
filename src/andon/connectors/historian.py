"""Historian export replay: a CSV or Parquet export read as canonical samples.

Plants keep years of history in a historian (PI, Wonderware, Canary, a SCADA archive) and
export it as files. ``HistorianExport`` reads such a file, streaming (a 1 GB CSV is never
held in memory), and hands every value to a ``PointSink`` as a canonical ``Sample``; it is a
finite ``Connector``: ``run`` returns at the end of the file.

Two layouts, recognised from the header (or forced with ``layout``):

* **long** — one value per row: ``timestamp, tag, value[, unit][, quality]``;
* **wide** — one row per time: ``timestamp, TAG1, TAG2, ...``. Units come from a units row
  right under the header (first cell ``unit``/``units``/``uom``), from a ``TAG [unit]``
  header, or from the spec's tag. An empty cell means "no value at this time" and yields
  nothing.

A tag name is a raw name resolved through a ``TagMap`` (its unit and scaling win over what
the file says: the map is the authority on raw names), a canonical UNS path
(``andon/v1/ent/site/area/line/asset/tag`` or the same without ``andon/v1/``), or, with a
spec, ``asset/tag``. Timestamps are ISO 8601 with an offset or epoch milliseconds; a
timestamp without an offset needs an explicit ``timezone`` (IANA name), else the file is
refused with one line naming the file and the value. CSV delimiters ``,``, ``;``, tab and
``|`` are recognised from the header line.

Bad input never stops a replay: a malformed row (or cell) goes to
``sink.reject(f"{file}:{line}", raw_row, reason)`` and reading goes on (a CSV row the csv
module cannot parse, e.g. a field over its size limit, too). Problems with the file as a whole
(missing, empty, no timestamp column, naive times without a time zone) raise
``HistorianError`` before the first sample; a Parquet file corrupt part-way raises it where
reading stops. ``line`` is the physical CSV line (the header is
line 1) or, for Parquet, the 1-based row number.

Each sample gets ``source`` (default ``historian:{file name}``) and, as producer sequence,
its line (row) number: replaying the same file twice into a store stores nothing twice.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from andon.errors import HistorianError
from andon.namespace.sample import MAX_TS_MS, MIN_TS_MS, Quality, Sample
from andon.namespace.topics import PREFIX, TagAddress, parse_tag_topic

if TYPE_CHECKING:
    from andon.connectors.base import PointSink
    from andon.namespace.tagmap import TagMap
    from andon.spec.model import PlantSpec

__all__ = [
    "HistorianExport",
    "HistorianStats",
    "Layout",
    "Progress",
    "parse_timezone",
]

Layout = Literal["auto", "long", "wide"]
#: progress callback: (done, total) in ``HistorianExport.progress_unit`` (bytes or rows)
Progress = Callable[[int, int], None]

_TIME_NAMES = ("timestamp", "time", "ts", "datetime", "date_time", "date", "t")
_TAG_NAMES = ("tag", "tagname", "tag_name", "name", "point", "path", "tag_path")
_VALUE_NAMES = ("value", "val", "v")
_UNIT_NAMES = ("unit", "units", "uom", "eu", "eng_units")
_QUALITY_NAMES = ("quality", "q", "status")
_UNITS_ROW = frozenset({"unit", "units", "uom", "eu", "eng_units", "engineering units"})
_BRACKET_UNIT = re.compile(r"^(?P<name>.*?)\s*\[(?P<unit>[^\]]+)\]\s*$")
_QUALITIES = {
    "good": Quality.GOOD, "ok": Quality.GOOD, "uncertain": Quality.UNCERTAIN,
    "questionable": Quality.UNCERTAIN, "suspect": Quality.UNCERTAIN, "bad": Quality.BAD,
}
_BOOLS = {"true": 1.0, "false": 0.0, "on": 1.0, "off": 0.0}
_CHUNK_ROWS = 2000  # rows between progress reports and cooperative yields
_PARQUET_BATCH = 8192
_MAX_RAW = 4096  # bytes of a rejected row kept
_FAST_DIGITS = 15  # a digit string shorter than this is epoch ms below MAX_TS_MS
_CACHE_MAX = 10_000  # distinct tag/unit and quality cells remembered per file


@dataclass
class HistorianStats:
    """What a read did: rows read, samples delivered, inputs rejected, time span."""

    rows: int = 0  # data rows read (header and units rows excluded)
    samples: int = 0  # samples handed to the sink
    rejected: int = 0  # rows or cells handed to ``sink.reject``
    out_of_order: int = 0  # samples older than one already delivered for the same tag
    first_ms: int | None = None  # earliest source time delivered
    last_ms: int | None = None  # latest source time delivered
    _last_by_tag: dict[object, int] = field(default_factory=dict, repr=False)

    def note_many(self, ts: Any, keys: Any, names: Sequence[object]) -> None:
        """``note`` of many samples at once (the columnar reader's chunks).

        ``ts`` and ``keys`` are numpy arrays, in delivery order: source times, and indices
        into ``names`` (each sample's key).
        """
        import numpy as np  # noqa: PLC0415 (the columnar reader's, with pyarrow)

        n = len(ts)
        if n == 0:
            return
        self.samples += n
        lo, hi = int(ts.min()), int(ts.max())
        self.first_ms = lo if self.first_ms is None else min(self.first_ms, lo)
        self.last_ms = hi if self.last_ms is None else max(self.last_ms, hi)
        order = np.argsort(keys, kind="stable")  # each key's samples, in delivery order
        grouped, times = keys[order], ts[order]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]]).tolist()
        for start, end in zip(starts, [*starts[1:], n], strict=True):
            key = names[int(grouped[start])]
            seg = times[start:end]
            running = np.maximum.accumulate(seg)  # a sample older than the newest before it
            last = self._last_by_tag.get(key)
            late = int((seg[1:] < running[:-1]).sum())
            if last is not None:
                late = int((seg < np.maximum(running, last)).sum())
            self.out_of_order += late
            newest = int(running[-1])
            self._last_by_tag[key] = newest if last is None else max(last, newest)

    def note(self, sample: Sample, key: object = None) -> None:
        """Count one delivered sample (``key``: a cheap stand-in for its tag's address)."""
        self.samples += 1
        ts = sample.ts_ms
        if self.first_ms is None or ts < self.first_ms:
            self.first_ms = ts
        if self.last_ms is None or ts > self.last_ms:
            self.last_ms = ts
        key = sample.address if key is None else key
        last = self._last_by_tag.get(key)
        if last is not None and ts < last:
            self.out_of_order += 1
        else:
            self._last_by_tag[key] = ts


def parse_timezone(name: str | None) -> tzinfo | None:
    """An IANA zone (``Europe/Brussels``) or ``UTC``; ``HistorianError`` if unknown."""
    if name is None:
        return None
    if name.upper() in {"UTC", "Z"}:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HistorianError(f"unknown time zone {name!r} (expected an IANA name such as "
                             "Europe/Brussels, or UTC)") from None


class _Bad(Exception):
    """One row or cell cannot be used; ``args[0]`` is the one-line reason."""


@dataclass(frozen=True, slots=True)
class _Target:
    """Where a raw tag name goes: the canonical address, a unit and the value scaling."""

    address: TagAddress
    unit: str | None
    scale: float = 1.0
    offset: float = 0.0
    mapped: bool = False  # from the tag map: its unit is the raw unit, whatever the file says


class _Resolver:
    """Raw tag name → target, cached (a name is resolved once per file)."""

    def __init__(self, tagmap: TagMap | None, spec: PlantSpec | None) -> None:
        self.tagmap = tagmap
        self.spec = spec
        self._cache: dict[str, _Target | str] = {}

    def __call__(self, raw: str) -> _Target:
        found = self._cache.get(raw)
        if found is None:
            found = self._resolve(raw)
            if len(self._cache) < _CACHE_MAX:  # a hostile file may name millions of tags
                self._cache[raw] = found
        if isinstance(found, str):
            raise _Bad(found)
        return found

    def _resolve(self, raw: str) -> _Target | str:
        if self.tagmap is not None:
            binding = self.tagmap.resolve(raw)
            if binding is not None:
                return _Target(binding.address, binding.unit, binding.scale, binding.offset,
                               mapped=True)
        name = raw.strip()
        address = parse_tag_topic(name) if name.startswith(f"{PREFIX}/") else (
            parse_tag_topic(f"{PREFIX}/{name}"))
        if address is not None:
            return _Target(address, self._spec_unit(address))
        if self.spec is not None and name.count("/") == 1:
            asset_id, tag = name.split("/")
            try:
                site, area, line, asset = self.spec.asset(asset_id)
            except KeyError:
                pass
            else:
                unit = next((t.unit for t in asset.tags if t.name == tag), None)
                if unit is not None:
                    return _Target(TagAddress(self.spec.enterprise.id, site.id, area.id,
                                              line.id, asset.id, tag), unit)
        where = "not in the tag map" if self.tagmap is not None else "no tag map given"
        return (f"unknown tag {raw[:200]!r}: {where}, not a UNS path "
                "(enterprise/site/area/line/asset/tag)"
                + (" and not asset/tag of the spec" if self.spec is not None else ""))

    def _spec_unit(self, address: TagAddress) -> str | None:
        if self.spec is None:
            return None
        try:
            *_, asset = self.spec.asset(address.asset)
        except KeyError:
            return None
        return next((t.unit for t in asset.tags if t.name == address.tag), None)


@dataclass(frozen=True, slots=True)
class _Unreadable:
    """A CSV row the csv module refused (its text is not available)."""

    reason: str


class _Seen:
    """Per-file caches: (tag, stated unit) → (target, unit); quality cell → quality."""

    def __init__(self, resolve: _Resolver) -> None:
        self.resolve = resolve
        self.targets: dict[tuple[Any, Any], tuple[_Target, str]] = {}
        self.qualities: dict[Any, Quality] = {}

    def target(self, tag: Any, stated: Any) -> tuple[_Target, str]:
        target = self.resolve(str(tag))
        unit = _unit_of(target, str(stated or "").strip() or None, f"tag {str(tag)[:100]!r}")
        if len(self.targets) < _CACHE_MAX:
            self.targets[tag, stated] = (target, unit)
        return target, unit

    def quality(self, cell: Any) -> Quality:
        quality = _quality(cell)
        if len(self.qualities) < _CACHE_MAX:
            self.qualities[cell] = quality
        return quality


#: the columnar reader reads the whole file into memory: larger ones are read row by row
_COLUMNAR_MAX_BYTES = 1 << 30


@dataclass(frozen=True, slots=True)
class _Columns:
    """A long CSV read column-wise: per row, time, value, (tag, unit) pair and quality."""

    n: int
    ts: list[int]
    values: list[float]
    pair: list[int]  # key of ``targets``
    targets: dict[int, tuple[_Target, str, str]]  # pair -> (target, unit, raw tag)
    quality: list[int]  # index into ``quality_names``
    quality_names: list[Quality]
    size: int  # bytes (the progress total)
    ts_array: Any  # numpy: the times, and each row's tag as an index into ``tag_names``
    tag_index: Any
    tag_names: list[str]


class HistorianExport:
    """A historian export file (CSV or Parquet) as a finite ``Connector``.

    ``tagmap`` resolves raw names; ``spec`` (optional) resolves ``asset/tag`` names and gives
    units a file does not state; ``timezone`` (IANA name or ``UTC``) is the zone of
    timestamps written without an offset; ``source`` is the producer id of every sample;
    ``progress(done, total)`` is called every few thousand rows and at the end, in bytes
    (CSV) or rows (Parquet), see ``progress_unit``.
    """

    kind = "historian"

    def __init__(self, path: str | Path, *, tagmap: TagMap | None = None,
                 spec: PlantSpec | None = None, timezone: str | None = None,
                 source: str | None = None, layout: Layout = "auto",
                 progress: Progress | None = None) -> None:
        self.path = Path(path)
        self.tagmap = tagmap
        self.spec = spec
        self.timezone = parse_timezone(timezone)
        self.source = source or f"historian:{self.path.name}"
        self.layout = layout
        self.progress = progress
        self.stats = HistorianStats()
        self.parquet = self.path.suffix.lower() in {".parquet", ".pq"}
        #: try the columnar reader first (``andon replay``'s fast path; see ``_columnar``)
        self.columnar = False
        #: which reader ran, once read: "columnar (pyarrow)" or "rows (csv module...)"
        self.reader = ""
        self._name = self.path.name
        self._position: Callable[[], int] = lambda: 0  # progress so far (bytes or rows)

    @property
    def progress_unit(self) -> str:
        """What ``progress`` counts: ``bytes`` (CSV) or ``rows`` (Parquet)."""
        return "rows" if self.parquet else "bytes"

    def total(self) -> int:
        """The progress total: file size in bytes (CSV) or row count (Parquet)."""
        if self.parquet:
            import pyarrow.parquet as pq  # noqa: PLC0415 (optional heavy import)

            return int(pq.ParquetFile(self.path).metadata.num_rows)
        return self.path.stat().st_size

    # -- Connector -----------------------------------------------------------------------
    async def run(self, sink: PointSink, stop: asyncio.Event) -> None:
        """Read the whole file into ``sink`` (or until ``stop`` is set), then return.

        Yields to the event loop every few thousand rows. ``HistorianError`` if the file as a
        whole cannot be read.
        """
        for _ in self._chunks(sink, stop.is_set):
            await asyncio.sleep(0)

    def read(self, sink: PointSink, *, stopped: Callable[[], bool] = lambda: False,
             ) -> HistorianStats:
        """Read the whole file into ``sink`` synchronously, at full speed; the stats."""
        for _ in self._chunks(sink, stopped):
            pass
        return self.stats

    # -- reading ---------------------------------------------------------------------------
    def _chunks(self, sink: PointSink, stopped: Callable[[], bool]) -> Iterator[None]:  # noqa: C901
        if not self.path.is_file():
            raise HistorianError(f"{self.path}: no such file")
        if self.columnar:
            plan = self._columnar()
            if not isinstance(plan, str):
                self.reader = "columnar (pyarrow)"
                yield from self._columnar_chunks(plan, sink, stopped)
                return
            self.reader = f"rows (csv module; not columnar: {plan})"
        else:
            self.reader = "rows (parquet)" if self.parquet else "rows (csv module)"
        rows = self._parquet_rows() if self.parquet else self._csv_rows()
        header = next(rows, None)
        if header is None:
            raise HistorianError(f"{self._name}: empty file (no header row)")
        decode = self._decoder(header)
        total = self.total()
        for n, (line, cells) in enumerate(rows, start=1):
            if isinstance(cells, _Unreadable):
                self.stats.rows += 1
                self.stats.rejected += 1
                sink.reject(f"{self._name}:{line}", b"", f"unreadable CSV row: {cells.reason}")
            elif decode(sink, line, cells):  # False: not data (a units row)
                self.stats.rows += 1
            if n % _CHUNK_ROWS == 0:
                if self.progress is not None:
                    self.progress(self._position(), total)
                yield
                if stopped():
                    return
        if self.progress is not None:
            self.progress(total, total)

    # -- the columnar reader ---------------------------------------------------------------
    def _columnar(self) -> _Columns | str:
        """The whole file as typed columns, if the row reader would take every row as is.

        For a long CSV of epoch-millisecond times, one sample per line: pyarrow parses it in
        C, and every check the row reader makes per row is made here once per distinct tag,
        unit and quality cell, or over a whole column (no empty line, no null, every value
        finite, every time in range, every tag known, every quality word known). Anything
        else (ISO times, a bad row, Parquet, a wide layout, a file over 1 GiB) returns the
        reason, and the row reader reads the file, reporting bad rows with ``file:line``.
        """
        if self.parquet:
            return "a Parquet file"
        size = self.path.stat().st_size
        if size > _COLUMNAR_MAX_BYTES:
            return "over 1 GiB"
        _, names = next(self._csv_rows(), (0, _Unreadable("empty file")))  # its file closes
        if isinstance(names, _Unreadable):
            return "no readable header"
        columns = [str(c).strip() for c in names]
        lowered = [c.lower() for c in columns]
        time_col, tag_col = _find(lowered, _TIME_NAMES), _find(lowered, _TAG_NAMES)
        value_col = _find(lowered, _VALUE_NAMES)
        if self.layout == "wide" or time_col is None or tag_col is None or value_col is None:
            return "a wide layout"
        units, quality = _find(lowered, _UNIT_NAMES), _find(lowered, _QUALITY_NAMES)
        return self._typed(columns, time_col, tag_col, value_col, units, quality)

    def _typed(self, columns: list[str], time_col: int, tag_col: int,  # noqa: C901, PLR0911, PLR0912, PLR0915, PLR0917 - one pass of checks, each saying why not
               value_col: int, unit_col: int | None, quality_col: int | None,
               ) -> _Columns | str:
        import numpy as np  # noqa: PLC0415 (with pyarrow: only for this reader)
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.compute as pc  # noqa: PLC0415
        import pyarrow.csv as pacsv  # noqa: PLC0415

        data = self.path.read_bytes()
        if data.startswith(b"\xef\xbb\xbf") or data.count(b"\r") != data.count(b"\r\n"):
            return "a byte-order mark or a carriage return not ending a line"
        first = data[:data.find(b"\n") + 1 or len(data)].decode("utf-8", "replace")
        delimiter = max(",;\t|", key=first.count)
        lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        names = [f"c{i}" for i in range(len(columns))]
        types = {names[time_col]: pa.int64(), names[tag_col]: pa.string(),
                 names[value_col]: pa.float64()}
        for col in (unit_col, quality_col):
            if col is not None:
                types[names[col]] = pa.string()
        try:
            table = pacsv.read_csv(
                pa.py_buffer(data),
                read_options=pacsv.ReadOptions(column_names=names, skip_rows=1,
                                               use_threads=False),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False,
                                                 ignore_empty_lines=False),
                convert_options=pacsv.ConvertOptions(
                    column_types=types, strings_can_be_null=False,
                    include_columns=list(types)))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            return f"not plain typed columns ({_first_line(exc)[:120]})"
        n = table.num_rows
        if n != lines - 1 or n == 0:
            return "empty lines, quoted line breaks or no rows"
        ts, value = table.column(names[time_col]), table.column(names[value_col])
        if ts.null_count or value.null_count:
            return "an empty time or value"
        ts_np = ts.to_numpy()
        values = value.to_numpy()
        if not np.isfinite(values).all():
            return "a value that is not a finite number"
        if int(ts_np.min()) < MIN_TS_MS or int(ts_np.max()) > MAX_TS_MS:
            return "a time out of range"
        seen = _Seen(_Resolver(self.tagmap, self.spec))
        tags = pc.dictionary_encode(table.column(names[tag_col])).combine_chunks()
        tag_names = tags.dictionary.to_pylist()
        tag_idx = tags.indices.to_numpy()
        if unit_col is None:
            unit_names: list[Any] = [None]
            unit_idx = np.zeros(n, dtype=np.int64)
        else:
            units = pc.dictionary_encode(table.column(names[unit_col])).combine_chunks()
            unit_names, unit_idx = units.dictionary.to_pylist(), units.indices.to_numpy()
        pair = tag_idx.astype(np.int64) * len(unit_names) + unit_idx
        pairs = np.unique(pair)
        targets: dict[int, tuple[_Target, str, str]] = {}
        try:
            for p in pairs.tolist():
                tag, stated = tag_names[p // len(unit_names)], unit_names[p % len(unit_names)]
                target, unit = seen.target(tag, stated)
                targets[p] = (target, unit, tag)
            if quality_col is None:
                quality_names, quality_idx = [Quality.GOOD], np.zeros(n, dtype=np.int64)
            else:
                qs = pc.dictionary_encode(table.column(names[quality_col])).combine_chunks()
                quality_names = [seen.quality(q) for q in qs.dictionary.to_pylist()]
                quality_idx = qs.indices.to_numpy()
        except _Bad as exc:
            return f"a row the row reader rejects ({exc})"
        scale = np.ones(int(pairs.max()) + 1)
        offset = np.zeros(int(pairs.max()) + 1)
        for p, (target, _unit, _tag) in targets.items():
            scale[p], offset[p] = target.scale, target.offset
        if not np.isfinite(values * scale[pair] + offset[pair]).all():
            return "a value not finite after scaling"
        return _Columns(n, ts_np.tolist(), values.tolist(), pair.tolist(), targets,
                        quality_idx.tolist(), quality_names, len(data), ts_np, tag_idx,
                        tag_names)

    def _columnar_chunks(self, cols: _Columns, sink: PointSink,
                         stopped: Callable[[], bool]) -> Iterator[None]:
        """Hand the typed rows to ``sink`` as the row reader would (same samples, in order)."""
        stats, source = self.stats, self.source
        deliver = sink.on_sample
        targets = {p: (t.address, unit, t.scale, t.offset, tag)
                   for p, (t, unit, tag) in cols.targets.items()}
        qualities = cols.quality_names
        total = cols.size
        for start in range(0, cols.n, _CHUNK_ROWS):
            end = min(cols.n, start + _CHUNK_ROWS)
            for line, pair, value, quality, ts in zip(
                    range(start + 2, end + 2), cols.pair[start:end], cols.values[start:end],
                    cols.quality[start:end], cols.ts[start:end], strict=True):
                address, unit, scale, offset, _tag = targets[pair]
                deliver(Sample(address, value * scale + offset, unit, qualities[quality], ts,
                               line, source), None, None)
            stats.rows += end - start
            stats.note_many(cols.ts_array[start:end], cols.tag_index[start:end], cols.tag_names)
            if end < cols.n:
                if self.progress is not None:
                    self.progress(total * end // cols.n, total)
                yield
                if stopped():
                    return
        if self.progress is not None:
            self.progress(total, total)

    def _decoder(self, header: tuple[int, Sequence[Any] | _Unreadable],
                 ) -> Callable[[PointSink, int, Sequence[Any]], bool]:
        _, names = header
        if isinstance(names, _Unreadable):
            raise HistorianError(f"{self._name}:1: unreadable header ({names.reason})")
        columns = [str(c).strip() for c in names]
        lowered = [c.lower() for c in columns]
        time_col = _find(lowered, _TIME_NAMES)
        if time_col is None:
            raise HistorianError(f"{self._name}:1: no timestamp column (expected one of "
                                 f"{', '.join(_TIME_NAMES)}), got {', '.join(columns)[:200]}")
        tag_col, value_col = _find(lowered, _TAG_NAMES), _find(lowered, _VALUE_NAMES)
        long = self.layout == "long" or (self.layout == "auto" and tag_col is not None
                                         and value_col is not None)
        resolve = _Resolver(self.tagmap, self.spec)
        if long:
            if tag_col is None or value_col is None:
                raise HistorianError(f"{self._name}:1: long layout needs 'tag' and 'value' "
                                     "columns")
            return self._long(resolve, time_col, tag_col, value_col,
                              _find(lowered, _UNIT_NAMES), _find(lowered, _QUALITY_NAMES))
        return self._wide(resolve, time_col, columns)

    def _long(self, resolve: _Resolver, time_col: int, tag_col: int,  # noqa: PLR0917
              value_col: int, unit_col: int | None, quality_col: int | None,
              ) -> Callable[[PointSink, int, Sequence[Any]], bool]:
        width = 1 + max(c for c in (time_col, tag_col, value_col, unit_col, quality_col)
                        if c is not None)
        name, source, stats, time_of = self._name, self.source, self.stats, self._time
        seen = _Seen(resolve)
        known, qualities = seen.targets, seen.qualities
        target_of, quality_of = seen.target, seen.quality

        def sample_of(line: int, cells: Sequence[Any]) -> tuple[Sample, Any]:
            if len(cells) < width:
                raise _Bad(f"expected at least {width} columns, got {len(cells)}")
            ts = time_of(cells[time_col])
            tag = cells[tag_col]
            stated = None if unit_col is None else cells[unit_col]
            hit = known.get((tag, stated))
            target, unit = target_of(tag, stated) if hit is None else hit
            value = _number(cells[value_col], "value")
            if value is None:
                raise _Bad("empty value")
            if quality_col is None:
                quality = Quality.GOOD
            else:
                cell = cells[quality_col]
                quality = qualities.get(cell) or quality_of(cell)
            return Sample(target.address, _scaled(value, target.scale, target.offset), unit,
                          quality, ts, line, source), tag

        def decode(sink: PointSink, line: int, cells: Sequence[Any]) -> bool:
            try:
                sample, key = sample_of(line, cells)
            except _Bad as exc:
                stats.rejected += 1
                sink.reject(f"{name}:{line}", _raw(cells), str(exc))
                return True
            stats.note(sample, key)
            sink.on_sample(sample, None, None)
            return True

        return decode

    def _wide(self, resolve: _Resolver, time_col: int, columns: list[str],
              ) -> Callable[[PointSink, int, Sequence[Any]], bool]:
        name, source, stats = self._name, self.source, self.stats
        heads, units = _wide_heads(columns, time_col)
        first = True

        def cell_sample(i: int, tag: str, ts: int, line: int, cells: Sequence[Any],
                        ) -> Sample | None:
            value = _number(cells[i], tag)
            if value is None:
                return None  # no value for this tag at this time
            target = resolve(tag)
            unit = _unit_of(target, units.get(i), f"column {tag!r}")
            return Sample(target.address, _scaled(value, target.scale, target.offset), unit,
                          Quality.GOOD, ts, line, source)

        def decode(sink: PointSink, line: int, cells: Sequence[Any]) -> bool:
            nonlocal first
            if first:
                first = False
                if _units_row(cells, time_col, heads, units):
                    return False
            try:
                ts = self._row_time(cells, len(columns), time_col)
            except _Bad as exc:
                stats.rejected += 1
                sink.reject(f"{name}:{line}", _raw(cells), str(exc))
                return True
            for i, tag in heads:
                try:
                    sample = cell_sample(i, tag, ts, line, cells)
                except _Bad as exc:
                    stats.rejected += 1
                    sink.reject(f"{name}:{line}", _raw(cells), f"column {tag!r}: {exc}")
                    continue
                if sample is not None:
                    stats.note(sample, i)
                    sink.on_sample(sample, None, None)
            return True

        return decode

    def _row_time(self, cells: Sequence[Any], width: int, time_col: int) -> int:
        if len(cells) != width:
            raise _Bad(f"expected {width} columns, got {len(cells)}")
        return self._time(cells[time_col])

    def _time(self, cell: Any) -> int:
        """Epoch milliseconds of a timestamp cell; ``_Bad`` (or ``HistorianError``)."""
        if type(cell) is str and cell.isascii() and cell.isdigit() and len(cell) < _FAST_DIGITS:
            return int(cell)  # the common case: epoch ms, in range by its length
        return self._time_slow(cell)

    def _time_slow(self, cell: Any) -> int:
        if isinstance(cell, datetime):
            when = cell
        elif isinstance(cell, bool):
            raise _Bad(f"timestamp {cell!r} is not a time")
        elif isinstance(cell, int | float):
            return _epoch_ms(cell)
        else:
            text = "" if cell is None else str(cell).strip()
            if not text:
                raise _Bad("empty timestamp")
            digits = text.removeprefix("-")
            if digits.isascii() and digits.isdigit():  # str.isdigit alone takes '²' too
                return _epoch_ms(int(text))
            try:
                when = datetime.fromisoformat(text)
            except ValueError:
                raise _Bad(f"timestamp {text[:60]!r} is neither ISO 8601 nor epoch "
                           "milliseconds") from None
        return self._aware_ms(when)

    def _aware_ms(self, when: datetime) -> int:
        """Epoch ms of ``when``; without an offset, in ``timezone`` (refused if none)."""
        if when.tzinfo is None or when.utcoffset() is None:
            if self.timezone is None:
                reason = (f"timestamp {when.isoformat()!r} has no UTC offset; pass --timezone "
                          "(an IANA name such as Europe/Brussels, or UTC)")
                if self.stats.samples == 0:  # the file's convention: refuse it as a whole
                    raise HistorianError(f"{self._name}: {reason}")
                raise _Bad(reason)  # one odd row in a file with offsets
            when = when.replace(tzinfo=self.timezone)
        try:
            return _epoch_ms(round(when.timestamp() * 1000))
        except OverflowError:  # year 1 or 9999 moved out of range by the offset
            raise _Bad(f"timestamp {when.isoformat()!r} is out of range") from None

    def _csv_rows(self) -> Iterator[tuple[int, Sequence[Any] | _Unreadable]]:
        """(line, cells) per CSV row; the first one is the header. Progress: bytes read."""
        with self.path.open("rb") as raw:
            self._position = raw.tell
            head = raw.readline()
            raw.seek(0)
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
            first = head.decode("utf-8", "replace")
            delimiter = max(",;\t|", key=first.count)
            reader = csv.reader(text, delimiter=delimiter)
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:  # e.g. a field over csv's size limit: skip the row
                    yield reader.line_num, _Unreadable(str(exc))
                    continue
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue
                yield reader.line_num, cells

    def _parquet_rows(self) -> Iterator[tuple[int, Sequence[Any] | _Unreadable]]:
        """(row number, cells) per Parquet row; the first one is the header. Progress: rows."""
        import pyarrow.parquet as pq  # noqa: PLC0415 (optional heavy import)

        try:
            pf = pq.ParquetFile(self.path)
        except Exception as exc:  # noqa: BLE001 (pyarrow raises several types for bad files)
            raise HistorianError(f"{self.path}: not a readable Parquet file "
                                 f"({_first_line(exc)})") from None
        names = pf.schema_arrow.names
        row = 0
        self._position = lambda: row
        yield 0, names
        batches = pf.iter_batches(batch_size=_PARQUET_BATCH)
        while True:
            try:
                batch = next(batches, None)
            except Exception as exc:  # noqa: BLE001 (a corrupt page: the rest is unreadable)
                raise HistorianError(f"{self._name}: unreadable after row {row} "
                                     f"({_first_line(exc)})") from None
            if batch is None:
                return
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for cells in zip(*columns, strict=True):
                row += 1
                yield row, cells


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _wide_heads(columns: list[str], time_col: int,
                ) -> tuple[list[tuple[int, str]], dict[int, str]]:
    """(column, tag name) of each value column, and units given as ``name [unit]``."""
    heads: list[tuple[int, str]] = []
    units: dict[int, str] = {}
    for i, col in enumerate(columns):
        if i == time_col or not col:
            continue
        m = _BRACKET_UNIT.match(col)
        heads.append((i, m["name"] if m else col))
        if m:
            units[i] = m["unit"].strip()
    return heads, units


def _units_row(cells: Sequence[Any], time_col: int, heads: list[tuple[int, str]],
               units: dict[int, str]) -> bool:
    """Take the units row right under a wide header into ``units``, if this is it."""
    head = str(cells[time_col] if time_col < len(cells) else "").strip().lower()
    if head not in _UNITS_ROW:
        return False
    for i, _ in heads:
        if i < len(cells) and str(cells[i] or "").strip():
            units[i] = str(cells[i]).strip()
    return True


def _unit_of(target: _Target, stated: str | None, what: str) -> str:
    """The sample's unit: the tag map's, else the one the file states, else the spec's."""
    unit = target.unit if target.mapped else (stated or target.unit)
    if not unit:
        raise _Bad(f"no unit for {what}: state it in the file (unit column, units row or "
                   "'name [unit]' header), a tag map or the spec")
    return unit


def _find(lowered: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _epoch_ms(value: float) -> int:
    if isinstance(value, float) and not math.isfinite(value):
        raise _Bad(f"timestamp {value!r} is not a time")
    ms = int(value)
    if not MIN_TS_MS <= ms <= MAX_TS_MS:
        raise _Bad(f"timestamp {value!r} is out of range (epoch milliseconds)")
    return ms


def _scaled(value: float, scale: float, offset: float) -> float:
    """``value * scale + offset``; ``_Bad`` when that is no longer finite (1e308 * 10)."""
    scaled = value * scale + offset
    if not math.isfinite(scaled):
        raise _Bad(f"value {value!r} is not finite after scaling")
    return scaled


def _number(cell: Any, what: str) -> float | None:
    """A finite float, None for an empty cell; ``_Bad`` otherwise."""
    if type(cell) is str:
        try:
            number = float(cell)
        except ValueError:
            pass  # empty, a word (true/off) or garbage: the slow path says which
        else:
            if math.isfinite(number):
                return number
    return _number_slow(cell, what)


def _number_slow(cell: Any, what: str) -> float | None:
    if cell is None:
        return None
    if isinstance(cell, bool):
        return 1.0 if cell else 0.0
    if isinstance(cell, int | float):
        number = float(cell)
    else:
        text = str(cell).strip()
        if not text:
            return None
        flag = _BOOLS.get(text.lower())
        if flag is not None:
            return flag
        try:
            number = float(text)
        except ValueError:
            raise _Bad(f"{what} {text[:60]!r} is not a number") from None
    if not math.isfinite(number):
        raise _Bad(f"{what} {cell!r} is not a finite number")
    return number


def _quality(cell: Any) -> Quality:
    """Good / uncertain / bad from a word or an OPC DA quality code (192 good, 64 uncertain)."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return Quality.GOOD
    text = str(cell).strip().lower()
    found = _QUALITIES.get(text)
    if found is not None:
        return found
    try:
        code = int(text)
    except ValueError:
        raise _Bad(f"quality {text[:40]!r} is not good, uncertain, bad or an OPC code") from None
    if code >= 192:  # noqa: PLR2004 (OPC DA quality bands)
        return Quality.GOOD
    return Quality.UNCERTAIN if code >= 64 else Quality.BAD  # noqa: PLR2004


def _raw(cells: Sequence[Any]) -> bytes:
    """The row as it was (CSV) or as JSON (Parquet), capped."""
    if all(isinstance(c, str) for c in cells):
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(cells)
        return out.getvalue().encode()[:_MAX_RAW]
    return json.dumps(list(cells), default=str).encode()[:_MAX_RAW]

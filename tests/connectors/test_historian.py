"""Historian export reader: CSV and Parquet, long and wide, maps, units, bad rows, progress.

Every test reads a real file written to ``tmp_path`` (or a real public dataset) into a
``CollectingSink``; nothing is mocked.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from andon.clock import to_ms, utc
from andon.connectors.base import CollectingSink, Connector
from andon.connectors.historian import HistorianExport
from andon.errors import HistorianError
from andon.namespace.sample import Quality
from andon.namespace.tagmap import TagBinding, TagMap
from andon.namespace.topics import TagAddress
from andon.spec import PlantSpec

P101 = "acme/ghent/utilities/cooling-water/p-101"
T = utc(2026, 3, 2, 8)
SKAB = Path("/work/shared/data/skab/anomaly-free/anomaly-free.csv")


def _addr(asset: str, tag: str, site: str = "ghent", area: str = "utilities",
          line: str = "cooling-water") -> TagAddress:
    return TagAddress("acme", site, area, line, asset, tag)


def test_is_a_connector_and_reads_long_csv_with_every_field(tmp_path: Path) -> None:
    """Long layout: ISO with offset and epoch ms, unit and quality per row, seq = line."""
    path = tmp_path / "long.csv"
    path.write_text(
        "Timestamp,Tag,Value,Unit,Quality\n"
        f"2026-03-02T09:00:00+01:00,{P101}/flow,120.5,m^3/h,good\n"
        f"{to_ms(T) + 60_000},andon/v1/{P101}/vibration,2.25,mm/s,Uncertain\n"
        f"2026-03-02T08:02:00Z,{P101}/vibration,2.5,mm/s,0\n",
        encoding="utf-8")
    export = HistorianExport(path)
    assert isinstance(export, Connector)
    assert export.kind == "historian"
    sink = CollectingSink()
    stats = export.read(sink)
    assert [(s.address, s.value, s.unit, s.quality, s.ts_ms, s.seq, s.source)
            for s in sink.samples] == [
        (_addr("p-101", "flow"), 120.5, "m^3/h", Quality.GOOD, to_ms(T), 2,
         "historian:long.csv"),
        (_addr("p-101", "vibration"), 2.25, "mm/s", Quality.UNCERTAIN, to_ms(T) + 60_000, 3,
         "historian:long.csv"),
        (_addr("p-101", "vibration"), 2.5, "mm/s", Quality.BAD, to_ms(T) + 120_000, 4,
         "historian:long.csv"),
    ]
    assert (stats.rows, stats.samples, stats.rejected) == (3, 3, 0)
    assert (stats.first_ms, stats.last_ms) == (to_ms(T), to_ms(T) + 120_000)


def test_wide_csv_takes_units_from_units_row_brackets_and_spec(tmp_path: Path,
                                                               demo_spec: PlantSpec) -> None:
    """Wide layout with ';': units row, 'name [unit]' header, the spec's unit; an empty cell
    is no value (nothing delivered, nothing rejected)."""
    path = tmp_path / "wide.csv"
    path.write_text(
        "time;p-101/flow;p-101/vibration [in/s];p-101/speed\n"
        "units;m^3/h;;\n"
        "2026-03-02T08:00:00Z;120;0.1;1480\n"
        "2026-03-02T08:01:00Z;;0.2;1481\n",
        encoding="utf-8")
    sink = CollectingSink()
    stats = HistorianExport(path, spec=demo_spec).read(sink)
    got = [(s.address.tag, s.value, s.unit, s.seq) for s in sink.samples]
    assert got == [("flow", 120.0, "m^3/h", 3), ("vibration", 0.1, "in/s", 3),
                   ("speed", 1480.0, "rpm", 3), ("vibration", 0.2, "in/s", 4),
                   ("speed", 1481.0, "rpm", 4)]
    assert (stats.rows, stats.rejected) == (2, 0)


def test_raw_names_resolve_through_a_site_tag_map_with_scaling(tmp_path: Path,
                                                               demo_spec: PlantSpec) -> None:
    """Porto's legacy names (PLC addresses, °F, psi x 0.1) through its tag map."""
    path = tmp_path / "porto.csv"
    path.write_text(
        "timestamp,Pump_01_Temp_F,PLC2.DB10.W4,P301_VIB_INS,UNMAPPED\n"
        "2026-03-02T08:00:00+00:00,104,1450,0.12,7\n",
        encoding="utf-8")
    sink = CollectingSink()
    HistorianExport(path, tagmap=TagMap.of_site(demo_spec, "porto")).read(sink)
    got = {s.address.tag: (s.value, s.unit) for s in sink.samples}
    assert got == {"bearing_temp": (104.0, "degF"), "discharge_pressure": (145.0, "psi"),
                   "vibration": (0.12, "in/s")}
    assert {s.address.asset for s in sink.samples} == {"p-301"}
    [bad] = sink.rejected
    assert bad.where == "porto.csv:2"
    assert bad.reason.startswith("column 'UNMAPPED': unknown tag 'UNMAPPED': not in the tag map")


def test_malformed_rows_and_cells_are_rejected_with_file_line_and_reason(tmp_path: Path,
                                                                         ) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "timestamp,tag,value,unit\n"
        f"{to_ms(T)},{P101}/flow,1,m^3/h\n"
        f"{to_ms(T)},{P101}/flow,inf,m^3/h\n"
        f"{to_ms(T)},{P101}/flow,,m^3/h\n"
        f"{to_ms(T)},{P101}/flow,3\n"
        f"{to_ms(T)},{P101}/flow,3,\n"
        f"99999999999999999999,{P101}/flow,3,m^3/h\n"
        "\n"
        f"2026-13-45T00:00:00Z,{P101}/flow,3,m^3/h\n",
        encoding="utf-8")
    sink = CollectingSink()
    stats = HistorianExport(path).read(sink)
    assert len(sink.samples) == 1
    reasons = {r.where: r.reason for r in sink.rejected}
    assert reasons == {
        "bad.csv:3": "value 'inf' is not a finite number",
        "bad.csv:4": "empty value",
        "bad.csv:5": "expected at least 4 columns, got 3",
        "bad.csv:6": (f"no unit for tag '{P101}/flow': state it in the file (unit column, "
                      "units row or 'name [unit]' header), a tag map or the spec"),
        "bad.csv:7": "timestamp 99999999999999999999 is out of range (epoch milliseconds)",
        "bad.csv:9": ("timestamp '2026-13-45T00:00:00Z' is neither ISO 8601 nor epoch "
                      "milliseconds"),
    }
    assert sink.rejected[0].payload == f"{to_ms(T)},{P101}/flow,inf,m^3/h".encode()
    assert stats.rejected == 6


def test_odd_digits_offsets_at_the_edge_of_time_and_overflowing_scales_are_rejects(
    tmp_path: Path,
) -> None:
    """Superscript digits, a time the offset moves past year 9999, 1e308 * 10: each one reject
    with its reason, and reading goes on (none escapes as an exception)."""
    path = tmp_path / "odd.csv"
    path.write_text(
        "timestamp,tag,value,unit\n"
        f"\u00b2,{P101}/flow,1,m^3/h\n"
        f"-\u00b2,{P101}/flow,1,m^3/h\n"
        f"9999-12-31T23:00:00-05:00,{P101}/flow,1,m^3/h\n"
        f"{to_ms(T)},{P101}/flow,1,m^3/h\n",
        encoding="utf-8")
    sink = CollectingSink()
    stats = HistorianExport(path).read(sink)
    assert [r.where for r in sink.rejected] == ["odd.csv:2", "odd.csv:3", "odd.csv:4"]
    assert "out of range" in sink.rejected[2].reason
    assert (len(sink.samples), stats.rejected) == (1, 3)
    mapped = tmp_path / "mapped.csv"
    mapped.write_text(f"timestamp,tag,value,unit\n{to_ms(T)},W1,1e308,m^3/h\n", encoding="utf-8")
    tags = TagMap.of([TagBinding("W1", _addr("p-101", "flow"), "m^3/h", scale=10.0)])
    sink = CollectingSink()
    HistorianExport(mapped, tagmap=tags).read(sink)
    assert [r.reason for r in sink.rejected] == ["value 1e+308 is not finite after scaling"]


def test_a_field_over_the_csv_size_limit_is_one_reject_and_reading_goes_on(tmp_path: Path,
                                                                          ) -> None:
    path = tmp_path / "huge.csv"
    path.write_text(f"timestamp,tag,value,unit\n{to_ms(T)},\"{'x' * 200_000}\",1,A\n"
                    f"{to_ms(T)},{P101}/flow,2,m^3/h\n", encoding="utf-8")
    sink = CollectingSink()
    stats = HistorianExport(path).read(sink)
    assert [s.value for s in sink.samples] == [2.0]
    [bad] = sink.rejected
    assert bad.where == "huge.csv:2"
    assert bad.reason.startswith("unreadable CSV row: field larger than field limit")
    assert (stats.rows, stats.rejected) == (2, 1)


def test_whole_file_problems_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(HistorianError, match=r"missing.csv: no such file"):
        HistorianExport(tmp_path / "missing.csv").read(CollectingSink())
    no_time = tmp_path / "no_time.csv"
    no_time.write_text("when,tag,value\n1,a,2\n", encoding="utf-8")
    with pytest.raises(HistorianError, match=r"no_time.csv:1: no timestamp column"):
        HistorianExport(no_time).read(CollectingSink())
    naive = tmp_path / "naive.csv"
    naive.write_text(f"timestamp,tag,value,unit\n2026-03-02 09:00,{P101}/flow,1,m^3/h\n",
                     encoding="utf-8")
    with pytest.raises(HistorianError) as caught:
        HistorianExport(naive).read(CollectingSink())
    assert str(caught.value) == ("naive.csv: timestamp '2026-03-02T09:00:00' has no UTC "
                                 "offset; pass --timezone (an IANA name such as "
                                 "Europe/Brussels, or UTC)")
    assert "\n" not in str(caught.value)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(HistorianError, match=r"empty.csv: empty file \(no header row\)"):
        HistorianExport(empty).read(CollectingSink())
    not_parquet = tmp_path / "fake.parquet"
    not_parquet.write_text("timestamp,tag\n", encoding="utf-8")
    with pytest.raises(HistorianError, match=r"fake\.parquet: not a readable Parquet file"):
        HistorianExport(not_parquet).read(CollectingSink())
    with pytest.raises(HistorianError, match="unknown time zone 'Mars/Olympus'"):
        HistorianExport(naive, timezone="Mars/Olympus")
    sink = CollectingSink()
    HistorianExport(naive, timezone="Europe/Brussels").read(sink)
    assert sink.samples[0].ts_ms == to_ms(T)


def test_parquet_long_and_wide_with_typed_columns(tmp_path: Path) -> None:
    """Parquet: timestamp columns (aware or naive + timezone), numeric values, row numbers."""
    long = tmp_path / "long.parquet"
    pq.write_table(pa.table({
        "timestamp": pa.array([T, T, T], type=pa.timestamp("ms", tz="UTC")),
        "tag": [f"{P101}/flow", f"{P101}/vibration", "nope"],
        "value": [1.5, None, 3.0],
        "unit": ["m^3/h", "mm/s", "A"],
    }), long)
    sink = CollectingSink()
    export = HistorianExport(long)
    assert export.progress_unit == "rows"
    stats = export.read(sink)
    assert [(s.address.tag, s.value, s.ts_ms, s.seq) for s in sink.samples] == [
        ("flow", 1.5, to_ms(T), 1)]
    assert [(r.where, r.reason.split(":")[0]) for r in sink.rejected] == [
        ("long.parquet:2", "empty value"), ("long.parquet:3", "unknown tag 'nope'")]
    assert stats.rows == 3
    wide = tmp_path / "wide.parquet"
    naive = datetime(2026, 3, 2, 9, 0)  # Brussels local time, no zone stored
    pq.write_table(pa.table({"time": [naive], f"{P101}/flow [m^3/h]": [7]}), wide)
    sink = CollectingSink()
    HistorianExport(wide, timezone="Europe/Brussels").read(sink)
    [s] = sink.samples
    assert (s.value, s.unit, s.ts_ms) == (7.0, "m^3/h", to_ms(T))


def test_progress_reports_bytes_up_to_the_file_size(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    lines = ["timestamp,tag,value,unit"] + [
        f"{to_ms(T) + i * 1000},{P101}/flow,{i % 100},m^3/h" for i in range(10_000)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen: list[tuple[int, int]] = []
    export = HistorianExport(path, progress=lambda done, total: seen.append((done, total)))
    assert export.progress_unit == "bytes"
    stats = export.read(CollectingSink())
    size = path.stat().st_size
    assert stats.samples == 10_000
    assert len(seen) >= 5
    assert all(total == size for _, total in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (size, size)


def test_run_delivers_everything_then_returns_and_honours_stop(tmp_path: Path) -> None:
    """As a Connector: ``run`` returns at the end of the file; a set ``stop`` ends it early."""
    path = tmp_path / "many.csv"
    rows = [f"{to_ms(T) + i},{P101}/flow,1,m^3/h" for i in range(9000)]
    path.write_text("timestamp,tag,value,unit\n" + "\n".join(rows) + "\n", encoding="utf-8")

    async def full() -> CollectingSink:
        sink = CollectingSink()
        await asyncio.wait_for(HistorianExport(path).run(sink, asyncio.Event()), 30)
        return sink

    assert len(asyncio.run(full()).samples) == 9000

    async def stopped() -> CollectingSink:
        sink = CollectingSink()
        stop = asyncio.Event()
        stop.set()
        await asyncio.wait_for(HistorianExport(path).run(sink, stop), 30)
        return sink

    assert 0 < len(asyncio.run(stopped()).samples) < 9000


def test_out_of_order_samples_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "sorted_by_tag.csv"
    path.write_text(
        "timestamp,tag,value,unit\n"
        f"{to_ms(T)},{P101}/flow,1,m^3/h\n{to_ms(T) + 60_000},{P101}/flow,1,m^3/h\n"
        f"{to_ms(T) + 30_000},{P101}/flow,1,m^3/h\n{to_ms(T)},{P101}/speed,1,rpm\n",
        encoding="utf-8")
    assert HistorianExport(path).read(CollectingSink()).out_of_order == 1


@pytest.mark.skipif(not SKAB.is_file(), reason=f"SKAB dataset not at {SKAB}")
def test_real_skab_export_through_a_tag_map() -> None:
    """SKAB's anomaly-free run (';', naive local times, raw column names) read through a map
    onto a pump's canonical tags: every row read, every mapped cell a sample."""
    p = _addr("p-101", "x")
    columns = {"Accelerometer1RMS": ("vibration_1", "g"), "Accelerometer2RMS": ("vibration_2", "g"),
               "Current": ("motor_current", "A"), "Pressure": ("discharge_pressure", "bar"),
               "Temperature": ("motor_temp", "degC"), "Thermocouple": ("water_temp", "degC"),
               "Voltage": ("voltage", "V"), "Volume Flow RateRMS": ("flow", "L/min")}
    tagmap = TagMap.of(TagBinding(raw, TagAddress(p.enterprise, p.site, p.area, p.line,
                                                  p.asset, tag), unit)
                       for raw, (tag, unit) in columns.items())
    sink = CollectingSink()
    stats = HistorianExport(SKAB, tagmap=tagmap, timezone="Europe/Moscow").read(sink)
    assert stats.rows == 9405
    assert stats.rejected == 0
    assert stats.samples == 9405 * 8
    first = sink.samples[0]
    assert (first.address.tag, first.unit, first.value) == ("vibration_1", "g", 0.202394)
    assert first.ts == datetime(2020, 2, 8, 10, 30, 47, tzinfo=UTC)  # 13:30:47 MSK
    assert stats.out_of_order == 0





def test_meets_the_connector_conformance_properties(tmp_path: Path) -> None:
    """What ``test_conformance.py`` checks of live connectors, for this finite source (its
    harness protocol sends input after ``run`` starts, which a file cannot take): mapped and
    scaled canonical samples with a rising sequence, one-line rejects naming where, the
    unknown raw name named, nothing guessed, and ``stop`` ending ``run``."""
    address = TagAddress("acme", "porto", "press", "l1", "p-101", "bearing_temp")
    tagmap = TagMap.of([TagBinding("PLC1.DB4.W2", address, "degF", 0.1)])
    path = tmp_path / "conformance.csv"
    path.write_text("timestamp,tag,value\n"
                    f"{to_ms(T) + 1},PLC1.DB4.W2,725\n"
                    f"{to_ms(T) + 2},PLC1.DB4.W2,730\n"
                    f"{to_ms(T) + 3},PLC1.DB4.W2,hot\n"
                    f"{to_ms(T) + 4},PLC9.NOPE,1\n", encoding="utf-8")
    sink = CollectingSink()

    async def main() -> None:
        await asyncio.wait_for(HistorianExport(path, tagmap=tagmap).run(sink, asyncio.Event()),
                               5)

    asyncio.run(main())
    assert [s.value for s in sink.samples] == pytest.approx([72.5, 73.0])
    for s in sink.samples:
        assert (s.address, s.unit, s.quality, s.reason) == (address, "degF", Quality.GOOD, None)
        assert s.source == "historian:conformance.csv"
    assert sink.samples[0].seq < sink.samples[1].seq
    assert [r.where for r in sink.rejected] == ["conformance.csv:4", "conformance.csv:5"]
    assert all(r.reason.strip() and "\n" not in r.reason for r in sink.rejected)
    assert "PLC9.NOPE" in sink.rejected[1].reason


def _both_readers(path: Path, **kw: object) -> tuple[HistorianExport, CollectingSink,
                                                     HistorianExport, CollectingSink]:
    rows, columns = HistorianExport(path, **kw), HistorianExport(path, **kw)  # type: ignore[arg-type]
    columns.columnar = True
    by_rows, by_columns = CollectingSink(), CollectingSink()
    rows.read(by_rows)
    columns.read(by_columns)
    return rows, by_rows, columns, by_columns


def test_the_columnar_reader_gives_the_row_readers_samples_or_leaves_the_file_to_it(
    tmp_path: Path, demo_spec: PlantSpec,
) -> None:
    """A clean long CSV of epoch-ms times (CRLF line ends, a tag map's scaling, spec units,
    OPC quality codes, out-of-order rows) is read column-wise into the very samples, seqs,
    stats and order the row reader gives; a file with anything the row reader would reject
    or treat specially is left to the row reader, which says why."""
    base = to_ms(T)
    clean = tmp_path / "clean.csv"
    rows = ["timestamp,tag,value,unit,quality"]
    for i in range(2500):  # over one progress chunk
        rows.append(f"{base + i * 1000},{P101}/vibration,{0.1 * i!r},mm/s,"
                    f"{('good', 'Uncertain', '0', '192')[i % 4]}")
        rows.append(f"{base + i * 1000 - 500},p-101/flow,{i},,good")  # spec unit
        rows.append(f"{base + i * 1000},W1,1e-3,raw,good")  # tag map: x10, unit from the map
    rows.append(f"{base},{P101}/vibration,1.5,mm/s,good")  # older than the tag's last
    rows.insert(30, f"{base},{P101}/vibration,1.25,mm/s,good")  # and in the first chunk
    clean.write_bytes(("\r\n".join(rows) + "\r\n").encode())
    tags = TagMap.of([TagBinding("W1", _addr("p-102", "flow"), "m^3/h", scale=10.0)])
    slow, by_rows, fast, by_columns = _both_readers(clean, spec=demo_spec, tagmap=tags)
    assert fast.reader == "columnar (pyarrow)"
    assert slow.reader == "rows (csv module)"
    assert len(by_columns.samples) == 7502
    assert by_columns.samples == by_rows.samples
    assert by_columns.rejected == by_rows.rejected == []
    assert fast.stats == slow.stats
    assert fast.stats.out_of_order == 2

    cases = {
        "iso.csv": (f"2026-03-02T09:00:00+01:00,{P101}/flow,1,m^3/h,good", "not plain typed"),
        "inf.csv": (f"{base},{P101}/flow,-inf,m^3/h,good", "not a finite number"),
        "nan.csv": (f"{base},{P101}/flow,NaN,m^3/h,good", "an empty time or value"),
        "tag.csv": (f"{base},no/such/tag,1,m^3/h,good", "unknown tag 'no/such/tag'"),
        "quality.csv": (f"{base},{P101}/flow,1,m^3/h,dreadful", "quality 'dreadful'"),
        "blank.csv": ("", "an empty time or value"),
        "word.csv": (f"{base},{P101}/flow,on,m^3/h,good", "not plain typed"),
    }
    for name, (odd, why) in cases.items():
        path = tmp_path / name
        path.write_text(f"timestamp,tag,value,unit,quality\n{base},{P101}/flow,2,m^3/h,good\n"
                        f"{odd}\n{base + 1},{P101}/flow,3,m^3/h,good\n", encoding="utf-8")
        slow, by_rows, fast, by_columns = _both_readers(path)
        assert fast.reader.startswith("rows (csv module; not columnar: "), name
        assert why in fast.reader, (name, fast.reader)
        assert (by_columns.samples, by_columns.rejected) == (by_rows.samples, by_rows.rejected)

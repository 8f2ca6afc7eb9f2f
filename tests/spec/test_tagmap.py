"""Tag maps in the plant spec: inline or in a CSV/YAML file, each problem one located line.

The expected line numbers are found in the text that was built, never hard-coded.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from andon.errors import SpecErrors
from andon.namespace import TagAddress
from andon.namespace.tagmap import TagMap, site_maps
from andon.spec import load_spec, load_spec_text

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-plant.yaml"

SPEC = """\
version: 1
enterprise: {id: acme, name: ACME}
roles:
- {id: operator, name: Operator, access: operator}
- {id: shift_lead, name: Shift lead, access: operator}
- {id: maintenance_planner, name: Planner, access: operator}
- {id: plant_manager, name: Plant manager, access: viewer}
sites:
- id: porto
  name: Porto
  tag_map:
  - {raw: "PLC2.DB10.W4", asset: p-301, tag: discharge_pressure, unit: psi, scale: 0.1}
  - {raw: Pump_01_Temp_F, asset: p-301, tag: bearing_temp, unit: degF}
  areas:
  - id: utilities
    name: Utilities
    lines:
    - id: process-water
      name: Process water
      assets:
      - id: p-301
        name: Pump P-301
        kind: pump
        tags:
        - {name: discharge_pressure, quantity: pressure, unit: bar, range: [0, 16], period: 60s}
        - {name: bearing_temp, quantity: temperature, unit: degC, range: [-10, 150], period: 60s}
"""


def line_of(text: str, needle: str) -> int:
    return next(i for i, t in enumerate(text.splitlines(), 1) if needle in t)


def errors_of(text: str, tmp_path: Path | None = None) -> list[str]:
    if tmp_path is None:
        with pytest.raises(SpecErrors) as caught:
            load_spec_text(text, "plant.yaml")
    else:
        (tmp_path / "plant.yaml").write_text(text, encoding="utf-8")
        with pytest.raises(SpecErrors) as caught:
            load_spec(tmp_path / "plant.yaml")
    return [str(e) for e in caught.value.errors]


def test_an_inline_map_loads_into_a_tag_map_with_addresses_and_scaling() -> None:
    spec = load_spec_text(SPEC)
    tag_map = TagMap.of_site(spec, "porto")
    binding = tag_map.resolve("PLC2.DB10.W4")
    assert binding is not None
    assert binding.address == TagAddress("acme", "porto", "utilities", "process-water", "p-301",
                                         "discharge_pressure")
    assert (binding.unit, binding.value(1000.0)) == ("psi", 100.0)
    assert binding.raw_value(binding.value(1234.0)) == pytest.approx(1234.0)
    assert tag_map.binding_of(binding.address) == binding
    assert tag_map.resolve("PLC2.DB10.W5") is None
    assert list(site_maps(spec)) == ["porto"]


def test_the_demo_plant_maps_every_porto_tag_and_no_ghent_tag() -> None:
    spec = load_spec(DEMO)
    maps = site_maps(spec)
    assert list(maps) == ["porto"]
    porto = next(s for s in spec.sites if s.id == "porto")
    tags = {(x.id, t.name) for a in porto.areas for ln in a.lines for x in ln.assets
            for t in x.tags}
    mapped = {(b.address.asset, b.address.tag) for b in maps["porto"].bindings.values()}
    assert mapped == tags
    units = {b.unit for b in maps["porto"].bindings.values()}
    assert {"degF", "psi", "in/s"} <= units


@pytest.mark.parametrize(("old", "new", "field", "reason"), [
    ("unit: degF}", "unit: psi}", "unit",
     ("Pump_01_Temp_F: unit 'psi' cannot be converted to p-301/bearing_temp (degC): 'psi' is not "
     "a temperature unit (it is a pressure unit; use e.g. degC)")),
    ("asset: p-301, tag: bearing_temp", "asset: p-999, tag: bearing_temp", "asset",
     "unknown asset 'p-999' in site 'porto' (known: p-301)"),
    ("tag: bearing_temp, unit: degF", "tag: bearing_tmp, unit: degF", "tag",
     "asset 'p-301' has no tag 'bearing_tmp' (tags: bearing_temp, discharge_pressure)"),
    ("unit: degF}", "unit: degrees_fahrenheight}", "unit",
     "'degrees_fahrenheight' is not a unit pint knows"),
    ("unit: degF}", "unit: degF, scale: 0}", "scale",
     "scale 0 would map every raw value to the offset"),
])
def test_a_bad_inline_entry_is_one_line_naming_file_line_and_field(
        old: str, new: str, field: str, reason: str) -> None:
    text = SPEC.replace(old, new)
    line = line_of(text, "Pump_01_Temp_F")
    assert errors_of(text) == [f"plant.yaml:{line} sites[0].tag_map[1].{field}: {reason}"]


def test_a_raw_name_mapped_twice_names_both_places() -> None:
    text = SPEC.replace("raw: Pump_01_Temp_F", 'raw: "PLC2.DB10.W4"')
    first = line_of(text, "tag: discharge_pressure, unit: psi")
    second = line_of(text, "tag: bearing_temp, unit: degF")
    assert errors_of(text) == [
        (f"plant.yaml:{second} sites[0].tag_map[1].raw: raw name 'PLC2.DB10.W4' is mapped twice "
        f"in site 'porto' (also at plant.yaml:{first})"),
    ]


CSV_MAP = """\
raw,asset,tag,unit,scale,offset,description
PLC2.DB10.W4,p-301,discharge_pressure,psi,0.1,,PLC word in tenths of psi
Pump_01_Temp_F,p-301,bearing_temp,degF,,,
"""


def with_file(ref: str) -> str:
    start = SPEC.index("  tag_map:")
    end = SPEC.index("  areas:")
    return SPEC[:start] + f"  tag_map_file: {ref}\n" + SPEC[end:]


def test_a_csv_map_file_next_to_the_spec_loads(tmp_path: Path) -> None:
    (tmp_path / "porto.csv").write_text(CSV_MAP, encoding="utf-8")
    (tmp_path / "plant.yaml").write_text(with_file("porto.csv"), encoding="utf-8")
    spec = load_spec(tmp_path / "plant.yaml")
    tag_map = TagMap.of_site(spec, "porto")
    assert len(tag_map) == 2
    binding = tag_map.resolve("PLC2.DB10.W4")
    assert binding is not None
    assert (binding.scale, binding.offset) == (0.1, 0.0)


def test_a_bad_csv_row_names_the_map_file_and_its_line(tmp_path: Path) -> None:
    bad = CSV_MAP.replace("bearing_temp,degF", "bearing_temp,bar")
    (tmp_path / "porto.csv").write_text(bad, encoding="utf-8")
    assert errors_of(with_file("porto.csv"), tmp_path) == [
        ("porto.csv:3 tag_map[1].unit: Pump_01_Temp_F: unit 'bar' cannot be converted to "
        "p-301/bearing_temp (degC): 'bar' is not a temperature unit (it is a pressure unit; "
        "use e.g. degC)"),
    ]


def test_csv_shape_problems_are_one_line_each(tmp_path: Path) -> None:
    (tmp_path / "porto.csv").write_text("raw,asset,tag\nX,p-301,flow\n", encoding="utf-8")
    assert errors_of(with_file("porto.csv"), tmp_path) == [
        ("porto.csv:1: missing column 'unit'; the header is "
        "raw,asset,tag,unit[,scale][,offset][,description]"),
    ]
    (tmp_path / "porto.csv").write_text(CSV_MAP + "X,p-301\n", encoding="utf-8")
    assert errors_of(with_file("porto.csv"), tmp_path) == [
        "porto.csv:4: 2 cells where the header has 7",
    ]
    (tmp_path / "porto.csv").write_text(CSV_MAP.replace(",0.1,", ",ten,"), encoding="utf-8")
    [error] = errors_of(with_file("porto.csv"), tmp_path)
    assert error.startswith("porto.csv:2 tag_map[0].scale: Input should be a valid number")


def test_a_yaml_map_file_loads_and_its_errors_name_its_lines(tmp_path: Path) -> None:
    yaml_map = ("# porto raw names\n"
                "- {raw: '22:00', asset: p-301, tag: bearing_temp, unit: degF}\n"
                "- raw: PLC2.DB10.W4\n  asset: p-301\n  tag: discharge_pressure\n  unit: psi\n"
                "  scale: 0.1\n")
    (tmp_path / "porto.yaml").write_text(yaml_map, encoding="utf-8")
    (tmp_path / "plant.yaml").write_text(with_file("porto.yaml"), encoding="utf-8")
    tag_map = TagMap.of_site(load_spec(tmp_path / "plant.yaml"), "porto")
    assert tag_map.resolve("22:00") is not None  # a raw name stays text, never a number
    (tmp_path / "porto.yaml").write_text(yaml_map.replace("unit: psi", "unit: in/s"),
                                         encoding="utf-8")
    [error] = errors_of(with_file("porto.yaml"), tmp_path)
    assert error.startswith("porto.yaml:3 tag_map[1].unit: PLC2.DB10.W4: unit 'in/s' cannot be "
                            "converted to p-301/discharge_pressure (bar)")


def test_a_missing_map_file_names_the_spec_field(tmp_path: Path) -> None:
    text = with_file("nowhere.csv")
    line = line_of(text, "tag_map_file")
    [error] = errors_of(text, tmp_path)
    assert error.startswith(f"plant.yaml:{line} sites[0].tag_map_file: map file not found")


def test_a_map_file_in_a_spec_given_as_text_is_refused_in_one_line() -> None:
    text = with_file("porto.csv")
    line = line_of(text, "tag_map_file")
    assert errors_of(text) == [
        (f"plant.yaml:{line} sites[0].tag_map_file: a map file needs a spec loaded from a file; "
        "inline the map (tag_map:) in a spec given as text"),
    ]


def test_inline_and_file_entries_are_checked_together_for_duplicates(tmp_path: Path) -> None:
    start = SPEC.index("  areas:")
    text = SPEC[:start] + "  tag_map_file: porto.csv\n" + SPEC[start:]
    (tmp_path / "porto.csv").write_text(CSV_MAP, encoding="utf-8")
    errors = errors_of(text, tmp_path)
    assert errors == [
        ("porto.csv:2 tag_map[0].raw: raw name 'PLC2.DB10.W4' is mapped twice in site 'porto' "
        f"(also at plant.yaml:{line_of(text, 'PLC2.DB10.W4')})"),
        ("porto.csv:3 tag_map[1].raw: raw name 'Pump_01_Temp_F' is mapped twice in site 'porto' "
        f"(also at plant.yaml:{line_of(text, 'Pump_01_Temp_F')})"),
    ]


def test_andon_spec_check_reports_a_bad_map_in_one_line(tmp_path: Path) -> None:
    text = DEMO.read_text(encoding="utf-8").replace(
        'raw: "Pump_01_Temp_F", asset: p-301, tag: bearing_temp, unit: "degF"',
        'raw: "Pump_01_Temp_F", asset: p-301, tag: bearing_temp, unit: "psi"')
    (tmp_path / "plant.yaml").write_text(text, encoding="utf-8")
    out = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "andon", "spec", "check", str(tmp_path / "plant.yaml")],
        capture_output=True, text=True, timeout=120, check=False,
        env={"COLUMNS": "200", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 3  # ExitCode.BAD_INPUT
    line = line_of(text, 'raw: "Pump_01_Temp_F"')
    assert out.stderr.strip().splitlines() == [
        (f"error: plant.yaml:{line} sites[1].tag_map[4].unit: Pump_01_Temp_F: unit 'psi' cannot "
        "be converted to p-301/bearing_temp (degC): 'psi' is not a temperature unit (it is a "
        "pressure unit; use e.g. degC)"),
    ]


def test_andon_spec_check_counts_the_mapped_raw_names() -> None:
    out = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "andon", "spec", "check", str(DEMO)],
        capture_output=True, text=True, timeout=120, check=False,
        env={"COLUMNS": "300", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert "27 raw names in tag maps" in out.stdout

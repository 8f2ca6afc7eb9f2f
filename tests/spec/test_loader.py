"""The plant spec loader: the demo loads, and every broken file says what is wrong in one line.

Each problem is pinned as the exact line a plant engineer reads:
``file:line field.path: reason``. Broken files are built by editing a small valid spec (or the
demo) and the expected line number is found in the text that was built, never hard-coded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from andon.clock import utc
from andon.errors import SpecError, SpecErrors
from andon.spec import load_spec, load_spec_text
from andon.spec.calendar import planned_stops

if TYPE_CHECKING:
    from andon.spec.model import PlantSpec

DEMO_SPEC = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"

MINIMAL = """\
# Minimal valid plant spec: one site, two lines, three assets, one use case.
version: 1
enterprise: {id: acme, name: ACME Water & Power}
roles:
- {id: planner, name: Maintenance planner, access: operator}
- {id: engineer, name: Reliability engineer, access: engineer}
people:
- {id: ana, name: Ana Peeters, role: planner, site: ghent}
sites:
- id: ghent
  name: Ghent water treatment
  timezone: Europe/Brussels
  areas:
  - id: utilities
    name: Utilities
    lines:
    - id: cooling-water
      name: Cooling water loop
      calendar:
        planned_downtime:
        - {name: Early-shift stop, days: [daily], start: "05:30", duration: 1h}
      assets:
      - id: p-101
        name: Pump P-101
        kind: pump
        tags:
        - {name: flow, quantity: flow, unit: "m^3/h", range: [0, 400], period: 60s}
        - {name: bearing_temp, quantity: temperature, unit: degC, range: [-10, 150], period: 60s}
      - id: m-103
        name: Fan motor M-103
        kind: motor
        tags:
        - {name: current, quantity: current, unit: A, range: [0, 200], period: 60s}
    - id: press-line
      name: Press line 2
      assets:
      - id: pr-201
        name: Hydraulic press PR-201
        kind: press
        tags:
        - {name: oil_temp, quantity: temperature, unit: degC, range: [-10, 120], period: 30s}
use_cases:
- id: pump-bearing
  name: Pump bearing wear
  asset_kind: pump
  model: pump-bearing
  action: "Inspect {asset} at the {deadline}"
  owner_role: planner
  horizon: 24h
"""

P101 = "sites[0].areas[0].lines[0].assets[0]"
TEMP = f"{P101}.tags[1]"
DOWNTIME = "sites[0].areas[0].lines[0].calendar.planned_downtime[0]"
TOPIC_SAFE = ("is not topic-safe: use 1-63 lowercase letters, digits, '-' or '_', starting with "
              "a letter or digit (it becomes an MQTT topic level, so no capitals, spaces or '/')")


def minimal_spec() -> str:
    """Text of a small valid spec that each broken-file test edits in one place."""
    return MINIMAL


def edit(text: str, old: str, new: str) -> str:
    """Replace ``old`` (which must occur exactly once) by ``new``."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """1-based number of the only line of ``text`` containing ``needle``."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(found) == 1, f"{needle!r} is on lines {found}"
    return found[0]


def problems(text: str, filename: str = "plant.yaml") -> list[str]:
    """The one-line messages a broken spec text produces."""
    with pytest.raises(SpecErrors) as info:
        load_spec_text(text, filename)
    messages = [str(e) for e in info.value.errors]
    assert str(info.value) == "\n".join(messages)
    for message in messages:
        assert "\n" not in message, message
        assert "\r" not in message, message
    return messages


def only_problem(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# -- what loads -------------------------------------------------------------------------------
def test_minimal_spec_is_valid() -> None:
    spec = load_spec_text(minimal_spec())
    assert [a.id for *_, a in spec.assets()] == ["p-101", "m-103", "pr-201"]


def test_demo_spec_loads_with_two_sites_and_a_realistic_plant(demo_spec: PlantSpec) -> None:
    assert [s.id for s in demo_spec.sites] == ["ghent", "porto"]
    assert len(demo_spec.lines()) >= 2
    assets = [a for *_, a in demo_spec.assets()]
    assert len(assets) >= 6
    assert len({a.kind for a in assets}) >= 5
    assert demo_spec.tag_count() >= 40
    assert {uc.id for uc in demo_spec.use_cases} == {"pump-bearing", "motor-health"}
    assert {a.id for *_, a in demo_spec.use_case_assets(demo_spec.use_case("pump-bearing"))} == {
        "p-101", "p-102", "p-301", "p-302"}


def test_durations_are_parsed_into_seconds() -> None:
    spec = load_spec_text(minimal_spec())
    uc = spec.use_case("pump-bearing")
    assert (uc.horizon, uc.window, uc.hop, uc.persistence) == (86400.0, 1800.0, 600.0, 3)
    assert spec.asset("pr-201")[3].tags[0].period == 30.0


def test_unquoted_time_of_day_is_text_not_a_sexagesimal_number() -> None:
    """YAML 1.1 reads ``22:00`` as 1320; the spec reads it as the time it looks like."""
    text = edit(minimal_spec(), 'start: "05:30"', "start: 22:00")
    downtime = load_spec_text(text).line("ghent", "cooling-water")[2].calendar.planned_downtime[0]
    assert downtime.start == "22:00"


def test_unquoted_iso_datetimes_and_norway_words_stay_text() -> None:
    """``2026-08-01T06:00:00`` is not turned into a date object, ``no`` is not False."""
    text = edit(minimal_spec(),
                '{name: Early-shift stop, days: [daily], start: "05:30", duration: 1h}',
                "{name: no, start: 2026-08-01T06:00:00, end: 2026-08-01 08:00:00}")
    downtime = load_spec_text(text).line("ghent", "cooling-water")[2].calendar.planned_downtime[0]
    assert (downtime.name, downtime.start) == ("no", "2026-08-01T06:00:00")


def test_yaml_merge_keys_reuse_a_block_and_local_keys_win() -> None:
    text = edit(minimal_spec(), "- {name: current, quantity: current,",
                "- &amps {name: current, quantity: current,")
    text = edit(text, "range: [0, 200], period: 60s}\n",
                "range: [0, 200], period: 60s}\n"
                "        - {<<: *amps, name: current_b, range: [0, 300]}\n")
    tags = load_spec_text(text).asset("m-103")[3].tags
    assert [(t.name, t.unit, t.range, t.period) for t in tags] == [
        ("current", "A", (0.0, 200.0), 60.0), ("current_b", "A", (0.0, 300.0), 60.0)]


def test_load_spec_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(minimal_spec(), encoding="utf-8")
    assert load_spec(path).enterprise.id == "acme"


# -- one broken thing, one exact line -----------------------------------------------------------
BROKEN = [
    pytest.param(
        "range: [-10, 150]", 'range: "hot"', 'range: "hot"', f"{TEMP}.range",
        "range must be two numbers [low, high] in the tag's unit, got 'hot'",
        id="wrong-type-range"),
    pytest.param(
        "range: [-10, 150]", "range: [-10, 150, 300]", "range: [-10, 150, 300]", f"{TEMP}.range",
        "range must be two numbers [low, high] in the tag's unit, got [-10, 150, 300]",
        id="range-with-three-numbers"),
    pytest.param(
        "range: [-10, 150]", "range: [150, 150]", "range: [150, 150]", f"{TEMP}.range",
        "low 150.0 must be below high 150.0", id="range-low-not-below-high"),
    pytest.param(
        "unit: degC, range: [-10, 150]", "unit: blorp, range: [-10, 150]", "unit: blorp",
        f"{TEMP}.unit", "'blorp' is not a unit pint knows", id="unit-not-parseable"),
    pytest.param(
        "unit: degC, range: [-10, 150]", 'unit: "m^3/h)", range: [-10, 150]', "m^3/h)",
        f"{TEMP}.unit", "'m^3/h)' is not a unit pint knows", id="unit-with-unbalanced-bracket"),
    pytest.param(
        "unit: degC, range: [-10, 150]", 'unit: "1/0", range: [-10, 150]', '"1/0"',
        f"{TEMP}.unit", "'1/0' is not a unit pint knows", id="unit-dividing-by-zero"),
    pytest.param(
        "quantity: temperature, unit: degC, range: [-10, 150]",
        "quantity: heat, unit: degC, range: [-10, 150]", "quantity: heat", f"{TEMP}.quantity",
        "unknown quantity 'heat' (known: temperature, pressure, velocity, acceleration, flow, "
        "current, voltage, power, energy, speed, frequency, force, length, mass, ratio, count, "
        "state)", id="unknown-quantity"),
    pytest.param(
        "range: [-10, 150], period: 60s", "range: [-10, 150], period: fast", "period: fast",
        f"{TEMP}.period", "'fast' is not a duration (e.g. '60s', '30min', '2h')",
        id="bad-duration"),
    pytest.param(
        "range: [-10, 150], period: 60s", "range: [-10, 150], period: 5kg", "period: 5kg",
        f"{TEMP}.period", "'5kg' is not a duration (e.g. '60s', '30min', '2h')",
        id="duration-in-the-wrong-unit"),
    pytest.param(
        "range: [-10, 150], period: 60s", "range: [-10, 150], period: -5s", "period: -5s",
        f"{TEMP}.period", "'-5s' must be a positive duration", id="negative-duration"),
    pytest.param(
        "  horizon: 24h", "  horizon: .nan", "horizon:", "use_cases[0].horizon",
        "nan is not a duration (e.g. '60s', '30min', '2h')", id="nan-duration"),
    pytest.param(
        "  horizon: 24h", "  horizon: 1e15 h", "horizon:", "use_cases[0].horizon",
        "'1e15 h' is longer than 10 years", id="absurdly-long-duration"),
    pytest.param(
        "timezone: Europe/Brussels", "timezone: Europe/Gent", "timezone:", "sites[0].timezone",
        "'Europe/Gent' is not an IANA time zone (e.g. Europe/Brussels)", id="unknown-time-zone"),
    pytest.param(
        "  timezone: Europe/Brussels\n", "  timezone: Europe/Brussels\n  tz: CET\n",
        "tz: CET", "sites[0].tz",
        "unknown field 'tz' (allowed: id, name, timezone, areas, time, tag_map, tag_map_file, "
        "shifts)",
        id="unknown-field"),
    pytest.param(
        "period: 30s}", "period: 30s, colour: red}", "colour: red",
        "sites[0].areas[0].lines[1].assets[0].tags[0].colour",
        "unknown field 'colour' (allowed: name, quantity, unit, range, period, description, "
        "max_staleness, max_rate, stuck_after, enum, monotonic, fill)",
        id="unknown-field-in-a-flow-mapping"),
    pytest.param(
        "  owner_role: planner\n", "", "- id: pump-bearing", "use_cases[0].owner_role",
        "required field is missing", id="required-field-missing"),
    pytest.param(
        "  name: Ghent water treatment\n", "  name: Ghent water treatment\n  name: Gent\n",
        "name: Gent", "sites[0].name", "key 'name' appears twice",
        id="duplicate-key"),
    pytest.param(
        "id: pr-201", "id: p-101  # was pr-201", "# was", "sites[0].areas[0].lines[1].assets[0].id",
        f"duplicate asset id 'p-101' (also at {P101}.id)", id="duplicate-asset-id-across-lines"),
    pytest.param(
        "  horizon: 24h\n", "  horizon: 24h\n  assets: [p-101, p-999]\n", "assets: [p-101",
        "use_cases[0].assets[1]", "unknown asset 'p-999' (known: m-103, p-101, pr-201)",
        id="use-case-unknown-asset"),
    pytest.param(
        "  horizon: 24h\n", "  horizon: 24h\n  assets: [m-103]\n", "assets: [m-103]",
        "use_cases[0].assets[0]", "asset 'm-103' is a motor, not a pump as the use case says",
        id="use-case-asset-of-the-wrong-kind"),
    pytest.param(
        "asset_kind: pump", "asset_kind: valve", "asset_kind: valve", "use_cases[0].asset_kind",
        "unknown asset kind 'valve' (known: motor, press, pump)", id="use-case-unknown-kind"),
    pytest.param(
        "owner_role: planner", "owner_role: boss", "owner_role: boss", "use_cases[0].owner_role",
        "unknown role 'boss' (known: engineer, planner)", id="owner-role-unknown"),
    pytest.param(
        "role: planner, site: ghent", "role: operator, site: ghent", "role: operator",
        "people[0].role", "unknown role 'operator' (known: engineer, planner)",
        id="person-with-unknown-role"),
    pytest.param(
        "role: planner, site: ghent", "role: planner, site: gent", "site: gent",
        "people[0].site", "unknown site 'gent' (known: ghent)", id="person-at-unknown-site"),
    pytest.param(
        "role: planner, site: ghent", "role: planner, site: ghent, lines: [press-line, boiler]",
        "lines: [press-line", "people[0].lines[1]",
        "unknown line 'boiler' (known: cooling-water, press-line)", id="person-on-unknown-line"),
    pytest.param(
        "access: operator}", "access: superuser}", "superuser", "roles[0].access",
        "Input should be 'viewer', 'operator', 'engineer' or 'admin' (got 'superuser')",
        id="role-with-unknown-access"),
    pytest.param(
        ", duration: 1h}", "}", "Early-shift stop", f"{DOWNTIME}.duration",
        "a recurring window needs a duration, e.g. '2h'", id="recurring-window-without-duration"),
    pytest.param(
        'start: "05:30"', 'start: "5:30"', "Early-shift stop", f"{DOWNTIME}.start",
        "'5:30' is not a time of day 'HH:MM'", id="recurring-window-bad-hh-mm"),
    pytest.param(
        'start: "05:30"', 'start: "24:00"', "Early-shift stop", f"{DOWNTIME}.start",
        "'24:00' is not a time of day 'HH:MM'", id="recurring-window-hour-24"),
    pytest.param(
        "days: [daily]", "days: []", "Early-shift stop", f"{DOWNTIME}.days",
        "list at least one day (mon ... sun), or [daily]", id="recurring-window-without-days"),
    pytest.param(
        "days: [daily]", "days: [monday]", "Early-shift stop", f"{DOWNTIME}.days[0]",
        "Input should be 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun' or 'daily' "
        "(got 'monday')", id="recurring-window-unknown-day"),
    pytest.param(
        "days: [daily], ", "", "Early-shift stop", f"{DOWNTIME}.start",
        "'05:30' is not an ISO datetime such as '2026-08-01T06:00' (a one-off window; a "
        "recurring one also needs days: [...])", id="time-of-day-without-days"),
    pytest.param(
        'days: [daily], start: "05:30", duration: 1h',
        'start: "2026-08-01T10:00", end: "2026-08-01T08:00"', "Early-shift stop",
        f"{DOWNTIME}.end", "end 2026-08-01T08:00:00 is not after start 2026-08-01T10:00",
        id="one-off-window-ending-before-it-starts"),
    pytest.param(
        'days: [daily], start: "05:30", duration: 1h', 'start: "2026-08-01T10:00"',
        "Early-shift stop", f"{DOWNTIME}.end", "a one-off window needs an end or a duration",
        id="one-off-window-without-end"),
    pytest.param(
        'days: [daily], start: "05:30", duration: 1h',
        'start: "2026-08-01T06:00", end: "2026-08-01T08:00", duration: 2h', "Early-shift stop",
        f"{DOWNTIME}.duration", "give a one-off window an end or a duration, not both",
        id="one-off-window-with-end-and-duration"),
    pytest.param(
        'days: [daily], start: "05:30", duration: 1h',
        'start: "2026-08-01T10:00", end: "2026-08-01T09:00+00:00"', "Early-shift stop",
        f"{DOWNTIME}.end",
        "start and end must both be site-local times or both carry a UTC offset",
        id="one-off-window-mixing-local-and-utc"),
    pytest.param(
        "{deadline}", "{due}", "action:", "use_cases[0].action",
        "unknown placeholder {due} (use asset, asset_id, deadline, line, site)",
        id="action-unknown-placeholder"),
    pytest.param(
        "{deadline}", "{asset.name}", "action:", "use_cases[0].action",
        "unknown placeholder {asset.name} (use asset, asset_id, deadline, line, site)",
        id="action-attribute-placeholder"),
    pytest.param(
        "{deadline}", "{deadline", "action:", "use_cases[0].action",
        "unbalanced braces (expected '}' before end of string); write {{ or }} for a literal "
        "brace", id="action-unbalanced-brace"),
    pytest.param(
        "{deadline}", "{deadline!r}", "action:", "use_cases[0].action",
        "placeholder {deadline!r} takes no conversion or format; write {deadline}",
        id="action-placeholder-with-conversion"),
    pytest.param(
        "  horizon: 24h\n", "  horizon: 24h\n  window: 10min\n  hop: 30min\n",
        "hop: 30min", "use_cases[0].hop", "hop 1800s is longer than window 600s",
        id="hop-longer-than-window"),
    pytest.param(
        "  horizon: 24h\n", "  horizon: 24h\n  persistence: 0\n", "persistence: 0",
        "use_cases[0].persistence", "Input should be greater than or equal to 1 (got 0)",
        id="persistence-zero"),
    pytest.param(
        "id: p-101", "id: P-101", "id: P-101", f"{P101}.id", f"'P-101' {TOPIC_SAFE}",
        id="id-with-uppercase"),
    pytest.param(
        "id: cooling-water", "id: cooling/water", "id: cooling/water",
        "sites[0].areas[0].lines[0].id", f"'cooling/water' {TOPIC_SAFE}", id="id-with-slash"),
    pytest.param(
        "id: m-103", "id: m+103", "id: m+103", "sites[0].areas[0].lines[0].assets[1].id",
        f"'m+103' {TOPIC_SAFE}", id="id-with-mqtt-wildcard"),
    pytest.param(
        "{name: flow,", "{name: Flow Rate,", "Flow Rate", f"{P101}.tags[0].name",
        "'Flow Rate' is not a valid tag name: use 1-63 lowercase letters, digits or '_', "
        "starting with a letter (it becomes an MQTT topic level)", id="tag-name-with-space"),
    pytest.param(
        "- id: ghent", "- id: 1234", "id: 1234", "sites[0].id",
        "expected text, got 1234 (put it in quotes)", id="number-where-text-is-expected"),
    pytest.param(
        "id: p-101", "id:  # forgot", "# forgot", f"{P101}.id", "the value is empty; expected text",
        id="empty-value"),
    pytest.param(
        "version: 1", "version: 2", "version: 2", "version", "Input should be 1 (got 2)",
        id="unsupported-version"),
    pytest.param(
        "  name: Ghent water treatment", "  name: !secret ghent-name", "!secret",
        "sites[0].name", "YAML tag '!secret' is not supported; write a plain value",
        id="custom-yaml-tag"),
    pytest.param(
        "  name: Ghent water treatment", "  name: !!python/object:os.system x", "!!python",
        "sites[0].name", "YAML tag '!!python/object:os.system' is not supported; write a plain "
        "value", id="python-yaml-tag"),
    pytest.param(
        "  name: Ghent water treatment", "  name: !!int twelve", "!!int", "sites[0].name",
        "'twelve' is not a valid int", id="bad-explicit-int"),
    pytest.param(
        "  timezone: Europe/Brussels\n", "  timezone: Europe/Brussels\n  [a, b]: x\n",
        "[a, b]: x", "sites[0]", "a key must be a plain name, not a list or a mapping",
        id="list-as-key"),
    pytest.param(
        "  timezone: Europe/Brussels\n", "  timezone: Europe/Brussels\n  12: x\n", "12: x",
        "sites[0].12",
        "unknown field '12' (allowed: id, name, timezone, areas, time, tag_map, tag_map_file, "
        "shifts)",
        id="number-as-key"),
]


@pytest.mark.parametrize(("old", "new", "needle", "field", "reason"), BROKEN)
def test_broken_spec_gives_one_exact_line(
    old: str, new: str, needle: str, field: str, reason: str,
) -> None:
    text = edit(minimal_spec(), old, new)
    line = line_of(text, needle)
    assert only_problem(text) == f"plant.yaml:{line} {field}: {reason}"


def test_duplicate_tag_name_on_one_asset_names_both_places() -> None:
    text = edit(minimal_spec(), "{name: flow, quantity: flow,", "{name: bearing_temp, "
                "quantity: flow,")
    line = line_of(text, "{name: bearing_temp, quantity: temperature")
    assert only_problem(text) == (
        f"plant.yaml:{line} {P101}.tags[1].name: duplicate tag name on asset 'p-101': "
        f"'bearing_temp' (also at {P101}.tags[0].name)")


def test_unit_of_the_wrong_dimension_says_what_it_measures() -> None:
    """'bar' is refused for a temperature, and the reason says what a bar is."""
    text = edit(minimal_spec(), "unit: degC, range: [-10, 150]", "unit: bar, range: [-10, 150]")
    message = only_problem(text)
    where = f"plant.yaml:{line_of(text, 'unit: bar')} {TEMP}.unit: "
    assert message.startswith(f"{where}'bar' is not a temperature unit (")
    assert "pressure" in message
    assert "degC" in message


def test_demo_with_an_asset_id_reused_on_another_site_names_both(demo_spec: PlantSpec) -> None:
    """Edit the demo itself: Porto's P-301 given Ghent's id p-101."""
    text = edit(DEMO_SPEC.read_text(encoding="utf-8"), "- id: p-301", "- id: p-101")
    line = line_of(text, "name: Pump P-301") - 1
    assert only_problem(text) == (
        f"plant.yaml:{line} sites[1].areas[0].lines[0].assets[0].id: duplicate asset id "
        "'p-101' (also at sites[0].areas[0].lines[0].assets[0].id)")
    assert demo_spec.asset("p-101")[0].id == "ghent"


# -- whole-file problems ----------------------------------------------------------------------
def test_yaml_syntax_error_points_at_the_line_and_hints_at_quotes() -> None:
    text = edit(minimal_spec(), "name: Ghent water treatment", "name: Ghent: water treatment")
    assert only_problem(text) == (
        f"plant.yaml:{line_of(text, 'Ghent: water')}: YAML syntax error: mapping values are not "
        "allowed here; put a value that contains ': ' in quotes")


def test_unclosed_flow_mapping_names_where_it_was_opened() -> None:
    text = edit(minimal_spec(), "access: engineer}", "access: engineer")
    opened = line_of(text, "access: engineer")
    assert only_problem(text) == (
        f"plant.yaml:{opened + 1}: YAML syntax error: expected ',' or '}}', but got ':' "
        f"(while parsing a flow mapping that starts on line {opened})")


def test_tab_indentation_is_a_syntax_error_with_a_hint() -> None:
    text = edit(minimal_spec(), "  name: Ghent water treatment", "\tname: Ghent water treatment")
    assert only_problem(text) == (
        f"plant.yaml:{line_of(text, 'Ghent water')}: YAML syntax error: found character '\\t' "
        "that cannot start any token (while scanning for the next token); indent with spaces, "
        "not tabs")


def test_control_character_is_reported_on_its_line_in_one_line() -> None:
    text = edit(minimal_spec(), "name: Pump P-101", "name: Pump\x07P-101")
    line = line_of(text, "Pump\x07")
    assert only_problem(text) == (
        f"plant.yaml:{line}: YAML syntax error: character '\\x07' (#x0007) "
        "is not allowed in YAML text; remove it or write it as an escape in a quoted string")


def test_second_yaml_document_is_refused() -> None:
    text = minimal_spec() + "---\nversion: 1\n"
    assert only_problem(text) == (
        f"plant.yaml:{line_of(text, '---')}: YAML syntax error: but found another document "
        "(expected a single document in the stream)")


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing here yet\n", "---\n", "~\n"])
def test_empty_file(text: str) -> None:
    assert only_problem(text) == "plant.yaml:1: the file is empty; expected a plant spec"


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(SpecErrors) as info:
        load_spec(path)
    assert str(info.value) == f"{path}: file not found"
    assert info.value.errors[0].line is None


def test_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_bytes(b"name: Gr\xfcn\n")
    with pytest.raises(SpecErrors) as info:
        load_spec(path)
    assert str(info.value) == f"{path}: not UTF-8 text (invalid start byte)"


def test_messages_from_a_file_name_the_file_not_the_directory(tmp_path: Path) -> None:
    path = tmp_path / "ghent-plant.yaml"
    path.write_text(edit(minimal_spec(), "owner_role: planner", "owner_role: boss"),
                    encoding="utf-8")
    with pytest.raises(SpecErrors) as info:
        load_spec(path)
    assert str(info.value).startswith(f"ghent-plant.yaml:{line_of(path.read_text(), 'boss')} ")


@pytest.mark.parametrize("text", ["- enterprise\n- sites\n", "just words\n", "42\n"])
def test_top_level_must_be_a_mapping(text: str) -> None:
    assert only_problem(text) == (
        "plant.yaml:1: expected a mapping (enterprise:, sites:, ...) at the top")


def test_alias_loop_is_refused_not_recursed_forever() -> None:
    text = "version: 1\nloop: &a [*a]\n"
    assert only_problem(text) == (
        "plant.yaml:2 loop[0]: an alias refers back to a value that contains it (the data "
        "would be endless)")


def test_alias_bomb_is_refused() -> None:
    rows = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    found = problems("\n".join(rows) + "\n")
    assert len(found) == 1
    assert "aliases repeat more than 100000 values (aliases of aliases?)" in found[0]


# -- several problems -------------------------------------------------------------------------
def test_several_problems_one_line_each_in_file_order() -> None:
    """use_cases written above sites: the messages still follow the file, top to bottom."""
    text = minimal_spec()
    use_cases = text[text.index("use_cases:"):]
    text = text[:text.index("use_cases:")]
    text = edit(text, "sites:\n", use_cases + "sites:\n")
    text = edit(text, "  horizon: 24h\n", "  horizon: 24h\n  window: 10min\n  hop: 1h\n")
    text = edit(text, "timezone: Europe/Brussels", "timezone: Mars/Olympus")
    text = edit(text, "unit: degC, range: [-10, 150]", "unit: blorp, range: [-10, 150]")
    text = edit(text, "period: 30s}", "period: soon}")
    assert problems(text) == [
        (f"plant.yaml:{line_of(text, 'hop: 1h')} use_cases[0].hop: hop 3600s is longer than "
         "window 600s"),
        (f"plant.yaml:{line_of(text, 'Mars/Olympus')} sites[0].timezone: 'Mars/Olympus' is not "
         "an IANA time zone (e.g. Europe/Brussels)"),
        f"plant.yaml:{line_of(text, 'blorp')} {TEMP}.unit: 'blorp' is not a unit pint knows",
        (f"plant.yaml:{line_of(text, 'soon')} sites[0].areas[0].lines[1].assets[0].tags[0]"
         ".period: 'soon' is not a duration (e.g. '60s', '30min', '2h')"),
    ]


def test_several_cross_reference_problems_in_file_order() -> None:
    text = edit(minimal_spec(), "role: planner, site: ghent", "role: boss, site: ghent")
    text = edit(text, "id: pr-201", "id: m-103  # was pr-201")
    text = edit(text, "owner_role: planner", "owner_role: chief")
    assert problems(text) == [
        (f"plant.yaml:{line_of(text, 'role: boss')} people[0].role: unknown role 'boss' "
         "(known: engineer, planner)"),
        (f"plant.yaml:{line_of(text, '# was pr-201')} sites[0].areas[0].lines[1].assets[0].id: "
         "duplicate asset id 'm-103' (also at sites[0].areas[0].lines[0].assets[1].id)"),
        (f"plant.yaml:{line_of(text, 'chief')} use_cases[0].owner_role: unknown role 'chief' "
         "(known: engineer, planner)"),
    ]


def test_a_line_break_inside_a_value_never_splits_a_message() -> None:
    text = edit(minimal_spec(), 'action: "Inspect {asset} at the {deadline}"',
                'action: "Inspect {ass\\net} at the {deadline}"')
    assert only_problem(text) == (
        f"plant.yaml:{line_of(text, 'action:')} use_cases[0].action: unknown placeholder "
        "{ass et} (use asset, asset_id, deadline, line, site)")


def test_spec_error_fields_are_structured() -> None:
    text = edit(minimal_spec(), "owner_role: planner", "owner_role: boss")
    with pytest.raises(SpecErrors) as info:
        load_spec_text(text, "p.yaml")
    [error] = info.value.errors
    assert isinstance(error, SpecError)
    assert (error.file, error.line, error.field) == ("p.yaml", line_of(text, "boss"),
                                                     "use_cases[0].owner_role")
    assert error.reason == "unknown role 'boss' (known: engineer, planner)"


def test_one_off_windows_from_the_spec_expand() -> None:
    """A loaded one-off window is usable by the calendar (end parsed from unquoted text)."""
    text = edit(minimal_spec(),
                '{name: Early-shift stop, days: [daily], start: "05:30", duration: 1h}',
                "{name: Overhaul, start: 2026-08-01T06:00:00, end: 2026-08-01 08:30:00}")
    spec = load_spec_text(text)
    site, _, line = spec.line("ghent", "cooling-water")
    [stop] = planned_stops(line.calendar, site.timezone, utc(2026, 8, 1), utc(2026, 8, 2))
    assert (stop.start, stop.end) == (utc(2026, 8, 1, 4), utc(2026, 8, 1, 6, 30))

"""``andon quarantine list | show | replay`` over a store an edge filled with bad messages."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from andon.cli.app import app
from andon.clock import ManualClock, to_ms, utc
from andon.edge import build_edge
from andon.errors import NotFound
from andon.namespace import tag_topic
from andon.store import open_store

if TYPE_CHECKING:
    from click.testing import Result

    from andon.spec import PlantSpec

T0 = utc(2026, 3, 2, 8)
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"
TOPIC = tag_topic("acme", "ghent", "utilities", "cooling-water", "p-101", "bearing_temp")


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250", "NO_COLOR": "1"})


def msg(value: str, seq: int, minute: int = 0) -> bytes:
    return (f'{{"v":{value},"u":"degC","ts":{to_ms(T0) + minute * 60_000},"seq":{seq},'
            f'"src":"plc-ghent"}}').encode()


def fill(db: str, spec: PlantSpec, tmp_path: Path) -> None:
    with open_store(db) as store:
        edge = build_edge(spec, store, tmp_path / "models", clock=ManualClock(T0))
        edge.on_message(TOPIC, msg("41.0", 1))
        edge.on_message(TOPIC, msg("171.5", 2, 1))  # above the range [-10, 150]
        edge.on_message(TOPIC, b'{"v": oops}')
        edge.flush()


def test_list_show_and_replay_after_a_spec_fix(demo_spec: PlantSpec, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    fill(db, demo_spec, tmp_path)

    listed = run("quarantine", "list", "--db", db)
    assert listed.exit_code == 0, listed.output
    for text in ("out_of_range", "malformed", "plc-ghent", "p-101/bearing_temp",
                 "value 171.5 degC is outside the valid range [-10, 150]",
                 "2026-03-02 08:00:00 UTC", "by rule: malformed 1, out_of_range 1"):
        assert text in listed.output, text
    only = run("quarantine", "list", "--db", db, "--rule", "malformed")
    assert only.exit_code == 0, only.output  # else the negative checks below pass vacuously
    assert "out_of_range " not in only.output.split("by rule")[0]
    other_asset = run("quarantine", "list", "--db", db, "--asset", "k-104")
    assert other_asset.exit_code == 0, other_asset.output
    assert other_asset.output.count("plc-") == 0

    with open_store(db) as store:
        (oor,) = store.quarantined(rule="out_of_range")
        (bad,) = store.quarantined(rule="malformed")
    shown = run("quarantine", "show", str(bad.id), "--db", db)
    assert shown.exit_code == 0, shown.output
    assert '{"v": oops}' in shown.output
    assert "payload is not JSON" in shown.output
    assert TOPIC in shown.output
    assert "11 bytes" in shown.output
    missing = run("quarantine", "show", "9999", "--db", db)
    assert missing.exit_code == NotFound.exit_code
    assert missing.stderr == "error: quarantined message 9999 not found\n"

    unchanged = run("quarantine", "replay", "--db", db, "--spec", str(DEMO))
    assert unchanged.exit_code == 0, unchanged.output
    assert "replayed 2: 0 stored as samples; still quarantined: malformed 1, out_of_range 1" in (
        unchanged.output)

    fixed = tmp_path / "fixed.yaml"
    text = DEMO.read_text(encoding="utf-8")
    old = ('{name: bearing_temp, quantity: temperature, unit: "degC", range: [-10, 150]')
    assert old in text
    fixed.write_text(text.replace(old, old.replace("150]", "200]"), 1), encoding="utf-8")
    replayed = run("quarantine", "replay", "--db", db, "--spec", str(fixed), "--rule",
                   "out_of_range")
    assert replayed.exit_code == 0, replayed.output
    assert "replayed 1: 1 stored as samples; still quarantined: none" in replayed.output

    with open_store(db) as store:
        assert sorted(s.value for s in store.samples()) == [41.0, 171.5]
        assert store.get_quarantined(oor.id or 0).replayed_at is not None
        assert store.quarantined(replayed=False) == [bad]
        assert store.events(kind="quarantine_replayed")[0].detail.startswith("1 checked, 1 stored")
    again = run("quarantine", "list", "--db", db)
    assert "out_of_range (replayed)" in again.output


def test_hostile_names_are_shown_escaped_never_as_controls_or_markup(
        demo_spec: PlantSpec, tmp_path: Path) -> None:
    """A source id with a right-to-left override, an ANSI escape and Rich markup, out of
    range so it is quarantined: listed and shown escaped, on one line."""
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    hostile = "plc\\u202eevil\\u001b[31m[bold]x[/bold]"  # JSON escapes
    with open_store(db) as store:
        edge = build_edge(demo_spec, store, tmp_path / "models", clock=ManualClock(T0))
        edge.on_message(TOPIC, (f'{{"v":999,"u":"degC","ts":{to_ms(T0)},"seq":1,'
                                f'"src":"{hostile}"}}').encode())
        edge.flush()
        [item] = store.quarantined()
    assert item.source is not None
    assert "\u202e" in item.source, "kept as it came, for inspection"
    listed = run("quarantine", "list", "--db", db)
    shown = run("quarantine", "show", str(item.id), "--db", db)
    for out in (listed, shown):
        assert out.exit_code == 0, out.output
        assert "\u202e" not in out.output
        assert "\x1b" not in out.output
        assert "\\u202e" in out.output
        assert "\\x1b[31m[bold]x[/bold]" in out.output.replace("\n", "").replace(" ", "")

"""A governed plant from the terminal: the author signs, another person applies, as logins."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from andon.cli.app import app
from andon.store import open_store
from andon.testing.factories import add_user

PASSWORD = "correct horse battery staple"
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"


def run(*args: str, password: str = PASSWORD) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1",
                                                      "ANDON_PASSWORD": password})
    return result.exit_code, result.output


def test_spec_changes_under_two_person_governance(tmp_path: Path, sqlite_url: str) -> None:
    with open_store(sqlite_url) as store:
        add_user(store, "dana", access="engineer", password=PASSWORD)
        add_user(store, "gus", access="admin", password=PASSWORD)
    db = ["--db", sqlite_url]
    governed = tmp_path / "plant.yaml"
    text = DEMO.read_text(encoding="utf-8")
    governed.write_text(text + "\ngovernance: {esignatures: true, two_person: true}\n",
                        encoding="utf-8")
    # nothing stored yet: no governance in force, the first version goes in as it is
    assert run("spec", "apply", str(governed), "--reason", "first", *db)[0] == 0
    changed = tmp_path / "changed.yaml"
    changed.write_text(governed.read_text(encoding="utf-8").replace(
        "Reliability engineer", "Reliability eng."), encoding="utf-8")
    code, out = run("spec", "apply", str(changed), "--reason", "rename", *db)
    assert code == 6
    assert "needs your electronic signature" in out
    code, out = run("spec", "apply", str(changed), "--reason", "rename", "--user", "gus", *db)
    assert code == 6
    assert "gus cannot approve alone" in out
    code, out = run("spec", "sign", str(changed), "--user", "dana", "--meaning", "authored",
                    *db, password="wrong wrong wrong")
    assert code == 6
    assert "wrong login name or password" in out
    code, out = run("spec", "sign", str(changed), "--user", "dana", "--meaning", "authored",
                    "--reason", "my change", *db)
    assert code == 0, out
    assert "authored by Dana (dana)" in out
    code, out = run("spec", "apply", str(changed), "--reason", "rename", "--user", "gus", *db)
    assert code == 0, out
    assert "plant spec v2 in force" in out
    assert "signed: approved by Gus (gus)" in out
    code, out = run("audit", "show", "--kind", "signature", *db)
    assert code == 0
    assert "authored by Dana" in out
    assert "approved by Gus" in out

"""``andon triage list | label`` over a real store: provenance from the login, refusals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from typer.testing import CliRunner

from andon.auth.access import User, hash_password
from andon.cli.app import app
from andon.errors import NotFound
from andon.interventions.triage import TriageItem, TriageReason, TriageVerdict
from andon.store import open_store
from interventions.gate_plant import T0, WHY

if TYPE_CHECKING:
    from pathlib import Path

    from click.testing import Result


PASSWORD = "correct horse battery staple"


def run(*args: str, password: str = PASSWORD) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250", "NO_COLOR": "1",
                                                    "ANDON_PASSWORD": password})


def seed(db: str) -> int:
    with open_store(db) as store:
        store.save_user(User("dana", "reliability_engineer", "engineer", "Dana",
                             hash_password(PASSWORD)))
        store.save_user(User("ana", "operator", "operator", "Ana", hash_password(PASSWORD)))
        item = store.add_triage(TriageItem(
            id=0, use_case="pump-bearing", site="ghent", line="cooling-water", asset="p-101",
            reasons=(TriageReason.LOW_CONFIDENCE,), score=1.1, threshold=1.0,
            model="pump-bearing", model_version="3", window_end=T0, why=WHY, created_at=T0,
            updated_at=T0))
    return item.id


def test_list_then_label_keeps_the_reviewers_provenance(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    item_id = seed(db)
    listed = run("triage", "list", "--db", db)
    assert listed.exit_code == 0, listed.output
    for text in (str(item_id), "p-101 (pump-bearing)", "low_confidence", "1.10",
                 "2026-03-02 08:00 UTC"):
        assert text in listed.output, text
    done = run("triage", "label", str(item_id), "real_problem", "--note", "grease loss",
               "--user", "dana", "--db", db)
    assert done.exit_code == 0, done.output
    assert "real_problem by dana (reliability_engineer)" in done.output
    with open_store(db) as store:
        [label] = store.triage_labels(item_id)
        assert (label.verdict, label.by, label.role, label.note) == (
            TriageVerdict.REAL_PROBLEM, "dana", "reliability_engineer", "grease loss")
    relisted = run("triage", "list", "--status", "labelled", "--db", db)
    assert "real_problem by dana (reliability_engineer)" in relisted.output


def test_label_is_refused_without_review_access_or_known_item(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    item_id = seed(db)
    operator = run("triage", "label", str(item_id), "normal", "--user", "ana", "--db", db)
    assert operator.exit_code == 6  # Forbidden
    assert "may not" in operator.output
    stranger = run("triage", "label", str(item_id), "normal", "--user", "zed", "--db", db)
    assert stranger.exit_code == 6
    assert "wrong login name or password" in stranger.output
    impostor = run("triage", "label", str(item_id), "normal", "--user", "dana", "--db", db,
                   password="not dana's password")
    assert impostor.exit_code == 6
    nobody = run("triage", "label", str(item_id), "normal", "--db", db)
    assert nobody.exit_code == 2
    assert "--user" in nobody.output
    bad = run("triage", "label", str(item_id), "maybe", "--user", "dana", "--db", db)
    assert bad.exit_code == 2
    missing = run("triage", "label", "999", "normal", "--user", "dana", "--db", db)
    assert missing.exit_code == NotFound.exit_code
    assert missing.stderr == "error: triage item 999 not found\n"
    with open_store(db) as store:
        assert store.triage_labels(item_id) == []

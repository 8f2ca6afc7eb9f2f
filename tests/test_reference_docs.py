"""Reference docs are generated from the code; the committed copies must be current."""

from __future__ import annotations

import difflib
from pathlib import Path

from andon.cli.reference import generate

ROOT = Path(__file__).resolve().parents[1]


def test_reference_docs_are_current() -> None:
    stale = {p: text for p, text in generate(ROOT).items()
             if not p.exists() or p.read_text(encoding="utf-8") != text}
    diff = "\n".join(line for p, text in stale.items() for line in list(difflib.unified_diff(
        p.read_text(encoding="utf-8").splitlines() if p.exists() else [], text.splitlines(),
        str(p.relative_to(ROOT)), "generated now", lineterm=""))[:30])
    names = ", ".join(str(p.relative_to(ROOT)) for p in stale)
    assert not stale, f"run scripts/docs to regenerate: {names}\n{diff}"


def test_reference_docs_cover_every_command_route_and_spec_model() -> None:
    docs = {p.name: text for p, text in generate(ROOT).items()}
    for command in ("andon demo", "andon spec check", "andon train", "andon registry promote"):
        assert f"## `{command}`" in docs["cli.md"]
    assert "| PUT | `/api/spec` | change_spec |" in docs["routes.md"]
    assert "| GET | `/login` | public |" in docs["routes.md"]
    for model in ("PlantSpec", "Site", "Line", "Asset", "Tag", "UseCase", "Downtime"):
        assert f"## {model}\n" in docs["spec.md"]
    assert "| `db` | `--db` | `ANDON_DB` |" in docs["settings.md"]
    assert "`NotFound` | 404 Not Found | 4 (not_found) |" in docs["errors.md"]

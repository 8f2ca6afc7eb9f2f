"""Reference docs are generated from the code; the committed copies must be current."""

from __future__ import annotations

from pathlib import Path

from andon.cli.reference import generate

ROOT = Path(__file__).resolve().parents[1]


def test_reference_docs_are_current() -> None:
    stale = [str(p.relative_to(ROOT)) for p, text in generate(ROOT).items()
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    assert not stale, f"run scripts/docs to regenerate: {', '.join(stale)}"


def test_reference_docs_cover_every_command_route_and_spec_model() -> None:
    docs = {p.name: text for p, text in generate(ROOT).items()}
    for command in ("andon demo", "andon spec check", "andon train", "andon registry promote"):
        assert f"## `{command}`" in docs["cli.md"]
    assert "| PUT | `/api/spec` | change_spec |" in docs["routes.md"]
    assert "| GET | `/login` | public |" in docs["routes.md"]
    for model in ("PlantSpec", "Site", "Line", "Asset", "Tag", "UseCase", "Downtime"):
        assert f"## {model}\n" in docs["spec.md"]

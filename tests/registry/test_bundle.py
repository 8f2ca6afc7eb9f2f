"""``unpack`` refuses anything but a bundle's own files: no paths out, no oversize content."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from andon.errors import ModelError
from andon.registry import bundle


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("name", ["../model.skops", "/abs/model.skops", "sub/meta.json",
                                  "model.skops/"])
def test_a_member_outside_the_bundle_files_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ModelError, match="unexpected files"):
        bundle.unpack(_zip({name: b"x", "meta.json": b"{}"}), tmp_path / "v1")
    assert not (tmp_path / "v1").exists()
    assert not (tmp_path / "model.skops").exists()


def test_members_that_unpack_past_the_limit_together_are_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each member under the limit, their sum over it (a zip bomb split in parts)."""
    monkeypatch.setattr(bundle, "MAX_BUNDLE_BYTES", 1000)
    data = _zip({"model.skops": b"\0" * 600, "meta.json": b" " * 600})
    assert len(data) < 1000
    with pytest.raises(ModelError, match="unpacks to more than 1000 bytes"):
        bundle.unpack(data, tmp_path / "v1")
    assert not (tmp_path / "v1").exists()


def test_a_bundle_round_trips(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "model.skops").write_bytes(b"model")
    (src / "meta.json").write_text("{}", encoding="utf-8")
    bundle.unpack(bundle.pack(src), tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["meta.json", "model.skops"]

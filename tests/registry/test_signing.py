"""Ed25519 signatures over model versions: real keys, real files, one-line refusals."""

from __future__ import annotations

import base64
import json
import shutil
import stat
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives import serialization

from andon.errors import ModelError
from andon.registry import SIGNATURE_FILE, generate_keypair, read_signature, sign, verify
from andon.registry.signing import load_private_key, payload_of, trusted_keys
from andon.scoring import load_model
from andon.testing.factories import T0, save_version
from registry.conftest import Keys

if TYPE_CHECKING:
    from pathlib import Path

    from andon.scoring import PcaSpeModel


@pytest.fixture
def version(small_model: PcaSpeModel, tmp_path: Path) -> Path:
    return save_version(small_model, tmp_path / "models")


def reason_of(version: Path, trusted: Path) -> str:
    with pytest.raises(ModelError) as info:
        verify(version, trusted)
    message = str(info.value)
    assert "\n" not in message
    return info.value.reason


# -- keys ---------------------------------------------------------------------------------------
def test_keygen_writes_a_private_pem_only_its_owner_can_read(tmp_path: Path) -> None:
    private, public, key_id = generate_keypair(tmp_path / "k", "plant")
    assert (private.name, public.name) == ("plant.key", "plant.pub")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert len(key_id) == 16
    assert int(key_id, 16) >= 0
    assert list(trusted_keys(tmp_path / "k")) == [key_id]
    load_private_key(private)  # a usable Ed25519 key


def test_keygen_refuses_to_overwrite_a_key(keys: Keys) -> None:
    before = keys.private.read_bytes()
    with pytest.raises(ModelError, match="already exists; refusing to overwrite a key"):
        generate_keypair(keys.private.parent, "plant")
    assert keys.private.read_bytes() == before


def test_a_raw_32_byte_public_key_is_trusted_too(keys: Keys, tmp_path: Path) -> None:
    pub = serialization.load_pem_public_key(keys.public.read_bytes())
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "plant.pub").write_bytes(raw)
    (tmp_path / "raw" / "junk.pub").write_text("not a key", encoding="utf-8")
    assert list(trusted_keys(tmp_path / "raw")) == [keys.key_id]


# -- sign and verify ------------------------------------------------------------------------------
def test_signature_is_a_detached_file_over_artifact_and_metadata(version: Path,
                                                                keys: Keys) -> None:
    sig = sign(version, keys.private, "ana", at=T0)
    doc = json.loads((version / SIGNATURE_FILE).read_text(encoding="utf-8"))
    assert doc["key_id"] == sig.key_id == keys.key_id
    assert (doc["signer"], doc["signed_at"]) == ("ana", T0.isoformat())
    assert len(base64.b64decode(doc["signature"])) == 64
    assert read_signature(version) == sig
    assert verify(version, keys.trusted) == keys.key_id
    load_model(version)  # the artifact itself is untouched
    payload = payload_of(version)
    assert payload.startswith(b"andon-model-signature/v1\n")
    assert len(payload.splitlines()) == 3


def test_reformatting_meta_json_keeps_the_signature(version: Path, keys: Keys) -> None:
    sign(version, keys.private, "ana", at=T0)
    meta = json.loads((version / "meta.json").read_text(encoding="utf-8"))
    (version / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    assert verify(version, keys.trusted) == keys.key_id


def test_unsigned_version_is_refused(version: Path, keys: Keys) -> None:
    assert reason_of(version, keys.trusted) == "unsigned (no signature.json)"


def test_one_flipped_byte_in_the_artifact_breaks_the_signature(version: Path,
                                                               keys: Keys) -> None:
    sign(version, keys.private, "ana", at=T0)
    blob = bytearray((version / "model.skops").read_bytes())
    blob[len(blob) // 2] ^= 0x01
    (version / "model.skops").write_bytes(bytes(blob))
    assert reason_of(version, keys.trusted) == (
        "signature does not match (artifact or metadata altered)")


def test_an_edited_threshold_breaks_the_signature(version: Path, keys: Keys) -> None:
    sign(version, keys.private, "ana", at=T0)
    meta = json.loads((version / "meta.json").read_text(encoding="utf-8"))
    meta["threshold"] *= 10
    (version / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    assert reason_of(version, keys.trusted) == (
        "signature does not match (artifact or metadata altered)")


@pytest.mark.parametrize("what", ["model.skops", "meta.json"])
def test_truncated_files_are_named_as_such(version: Path, keys: Keys, what: str) -> None:
    sign(version, keys.private, "ana", at=T0)
    data = (version / what).read_bytes()
    (version / what).write_bytes(data[: len(data) // 2])
    assert reason_of(version, keys.trusted).startswith("truncated or unreadable artifact (")


def test_missing_artifact_is_unreadable(version: Path, keys: Keys) -> None:
    sign(version, keys.private, "ana", at=T0)
    (version / "model.skops").unlink()
    assert reason_of(version, keys.trusted) == (
        "truncated or unreadable artifact (model.skops is missing)")


def test_a_key_not_in_the_trusted_directory_is_refused_by_id(version: Path, keys: Keys,
                                                             tmp_path: Path) -> None:
    other, _pub, other_id = generate_keypair(tmp_path / "elsewhere", "mallory")
    sign(version, other, "mallory", at=T0)
    assert reason_of(version, keys.trusted) == f"signed by untrusted key {other_id}"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert reason_of(version, empty) == (
        f"signed by untrusted key {other_id}; no trusted keys in {empty}")


def test_claiming_a_trusted_key_id_does_not_help(version: Path, keys: Keys,
                                                 tmp_path: Path) -> None:
    other, _pub, _id = generate_keypair(tmp_path / "elsewhere", "mallory")
    sign(version, other, "mallory", at=T0)
    doc = json.loads((version / SIGNATURE_FILE).read_text(encoding="utf-8"))
    doc["key_id"] = keys.key_id
    (version / SIGNATURE_FILE).write_text(json.dumps(doc), encoding="utf-8")
    assert reason_of(version, keys.trusted) == (
        "signature does not match (artifact or metadata altered)")


def test_a_garbled_signature_file_is_refused(version: Path, keys: Keys) -> None:
    (version / SIGNATURE_FILE).write_text("{not json", encoding="utf-8")
    assert reason_of(version, keys.trusted) == "signature file is not valid"


def test_a_signed_version_copied_under_another_number_is_refused(version: Path,
                                                                 keys: Keys) -> None:
    sign(version, keys.private, "ana", at=T0)
    copy = version.parent / "v7"
    shutil.copytree(version, copy)
    assert reason_of(copy, keys.trusted) == (
        "signed metadata is for pump-bearing v1, not pump-bearing v7 (copied version)")


def test_signing_with_a_bad_key_file_says_why(version: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("hello", encoding="utf-8")
    with pytest.raises(ModelError, match="not an unencrypted PKCS8 PEM private key"):
        sign(version, bad, "ana", at=T0)
    with pytest.raises(ModelError, match="signing key file is missing"):
        sign(version, tmp_path / "none.key", "ana", at=T0)
    assert not (version / SIGNATURE_FILE).exists()

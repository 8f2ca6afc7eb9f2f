"""A model version as one file to move between the registry and an edge: a zip of its parts.

The bundle holds exactly ``model.skops``, ``meta.json`` and ``signature.json`` (when signed)
at its root. ``pack`` builds it from a version directory; ``unpack`` writes one into a
directory, refusing anything else (other names, paths, oversize members): a bundle is not
trusted until its signature verifies (``andon.registry.signing.verify``), so unpacking must
not be a way in.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from andon.errors import ModelError
from andon.registry.signing import SIGNATURE_FILE

__all__ = ["BUNDLE_FILES", "MAX_BUNDLE_BYTES", "pack", "unpack"]

#: the files of a version, in the bundle and in a version directory
BUNDLE_FILES = ("model.skops", "meta.json", SIGNATURE_FILE)
#: the largest bundle accepted, zipped and unpacked (zipfile reads no more than a member's
#: declared size, so the declared sizes bound what is written)
MAX_BUNDLE_BYTES = 256 * 1024 * 1024


def pack(version_dir: Path) -> bytes:
    """Zip the version's files (``ModelError`` if the artifact or metadata is missing)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in BUNDLE_FILES:
            path = version_dir / name
            if not path.is_file():
                if name == SIGNATURE_FILE:
                    continue  # unsigned: the edge refuses it, with that reason
                raise ModelError(str(version_dir), f"{name} is missing")
            archive.write(path, name)
    return buf.getvalue()


def unpack(data: bytes, dest: Path) -> None:
    """Write a bundle's files into ``dest`` (created); ``ModelError`` if it is not a bundle."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise ModelError(str(dest), f"bundle is larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            names = [m.filename for m in members]
            unknown = sorted(set(names) - set(BUNDLE_FILES))
            if unknown or len(names) != len(set(names)):
                raise ModelError(str(dest), f"bundle holds unexpected files: {unknown or names}")
            if sum(m.file_size for m in members) > MAX_BUNDLE_BYTES:  # unpacked, not zipped
                raise ModelError(str(dest), f"bundle unpacks to more than {MAX_BUNDLE_BYTES} "
                                 "bytes")
            dest.mkdir(parents=True, exist_ok=True)
            for m in members:
                (dest / m.filename).write_bytes(archive.read(m))
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(str(dest), f"not a readable model bundle ({exc})") from None

"""Model artifacts on disk: ``<dir>/<name>/v<N>/model.skops`` + ``meta.json``.

skops stores the scikit-learn pipeline without pickle; loading accepts only the types on an
allowlist, and the artifact's SHA-256 must match its metadata. Anything else is refused with a
``ModelError`` naming the file and the reason.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from andon.errors import ModelError
from andon.scoring.model import AnomalyModel

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["ModelMeta", "latest_version_dir", "load_model", "save_model"]

_TRUSTED = {
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.decomposition._pca.PCA",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
    "builtins.float",
    "builtins.int",
    "builtins.str",
    "builtins.NoneType",
    "builtins.dict",  # containers skops writes for the pipeline's steps and attributes
    "builtins.list",
    "builtins.tuple",
}


@dataclass(frozen=True)
class ModelMeta:
    """What a model artifact is and what made it (its lineage)."""

    name: str  # registry name, e.g. pump-bearing
    version: int
    use_case: str
    asset_kind: str
    features: list[str]
    units: list[str]
    threshold: float
    train_start: datetime
    train_end: datetime
    train_assets: list[str]
    train_windows: int
    data_sha256: str  # hash of the training matrix
    artifact_sha256: str
    created_at: datetime
    code_version: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    #: T² limit of the training distribution (``AnomalyModel.in_distribution``); None in
    #: artifacts made before it was recorded: their windows are never called out of distribution
    t2_limit: float | None = None

    @property
    def label(self) -> str:
        """``name v3``."""
        return f"{self.name} v{self.version}"

    def to_json(self) -> str:
        """Serialise to JSON (datetimes as ISO 8601)."""
        d = asdict(self)
        for k in ("train_start", "train_end", "created_at"):
            d[k] = d[k].isoformat()
        return json.dumps(d, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelMeta:
        """Inverse of ``to_json``."""
        d = json.loads(text)
        for k in ("train_start", "train_end", "created_at"):
            d[k] = datetime.fromisoformat(d[k])
        return cls(**d)


def latest_version_dir(models_dir: Path, name: str) -> Path | None:
    """Directory of the highest version of ``name``, or None."""
    base = models_dir / name
    if not base.is_dir():
        return None
    versions = sorted(
        (int(p.name[1:]), p) for p in base.iterdir()
        if p.name.startswith("v") and p.name[1:].isdigit()
    )
    return versions[-1][1] if versions else None


def save_model(model: AnomalyModel, meta_fields: dict[str, Any], models_dir: Path) -> ModelMeta:
    """Write a new version of a model; returns its metadata (version = previous + 1)."""
    import skops.io as sio  # noqa: PLC0415 - heavy import, only when saving

    name = meta_fields["name"]
    latest = latest_version_dir(models_dir, name)
    version = int(latest.name[1:]) + 1 if latest is not None else 1
    target = models_dir / name / f"v{version}"
    target.mkdir(parents=True, exist_ok=False)
    blob = sio.dumps(model.pipeline)
    (target / "model.skops").write_bytes(blob)
    meta = ModelMeta(
        **meta_fields, version=version, features=model.features, units=model.units,
        threshold=model.threshold, artifact_sha256=hashlib.sha256(blob).hexdigest(),
        t2_limit=model.t2_limit,
    )
    (target / "meta.json").write_text(meta.to_json(), encoding="utf-8")
    return meta


def load_model(version_dir: Path, top: int = 3) -> tuple[AnomalyModel, ModelMeta]:
    """Load and check an artifact; raise ``ModelError`` with the reason if it is not usable."""
    meta_path, blob_path = version_dir / "meta.json", version_dir / "model.skops"
    meta = _read_meta(meta_path)
    pipeline = _read_pipeline(blob_path, meta.artifact_sha256)
    expected = getattr(pipeline, "n_features_in_", None)
    if expected != len(meta.features) or len(meta.units) != len(meta.features):
        raise ModelError(str(meta_path),
                         f"metadata lists {len(meta.features)} features and {len(meta.units)} "
                         f"units; the artifact expects {expected}")
    return AnomalyModel(pipeline, meta.features, meta.units, meta.threshold, top=top,
                        t2_limit=meta.t2_limit), meta


def _read_meta(meta_path: Path) -> ModelMeta:
    try:
        return ModelMeta.from_json(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(str(meta_path), "metadata file is missing") from None
    except OSError as exc:
        raise ModelError(str(meta_path), f"cannot read metadata ({exc.strerror})") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelError(str(meta_path), f"metadata is not valid ({exc})") from None


def _read_pipeline(blob_path: Path, sha256: str) -> Any:
    """Read and check a pipeline: its hash first, then the type allowlist, then load it."""
    import skops.io as sio  # noqa: PLC0415 - heavy import, only when loading

    try:
        blob = blob_path.read_bytes()
    except FileNotFoundError:
        raise ModelError(str(blob_path), "artifact file is missing") from None
    except OSError as exc:
        raise ModelError(str(blob_path), f"cannot read artifact ({exc.strerror})") from None
    digest = hashlib.sha256(blob).hexdigest()
    if digest != sha256:
        raise ModelError(str(blob_path),
                         f"content hash {digest[:12]} does not match metadata "
                         f"{str(sha256)[:12]} (corrupt or altered)")
    # skops raises many kinds of exception on a corrupt zip: each becomes the reason.
    # skops itself trusts every scikit-learn estimator and numpy function by default and only
    # reports the rest, so the allowlist is checked against every type the schema names.
    try:
        untrusted = set(sio.get_untrusted_types(data=blob))
        named = _schema_types(blob)
    except Exception as exc:
        raise ModelError(str(blob_path), f"cannot read skops artifact ({exc})") from exc
    refused = (untrusted | named) - _TRUSTED
    if refused:
        raise ModelError(str(blob_path), f"refusing untrusted types {sorted(refused)}")
    try:
        return sio.loads(blob, trusted=sorted(untrusted))
    except Exception as exc:
        raise ModelError(str(blob_path), f"cannot read skops artifact ({exc})") from exc


def _schema_types(blob: bytes) -> set[str]:
    """Every ``module.Class`` (or ``module.function``) a skops artifact's schema refers to."""
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        schema = json.loads(archive.read("schema.json"))
    found: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__class__" in node and "__module__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found

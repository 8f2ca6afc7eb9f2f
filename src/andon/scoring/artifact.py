"""Model artifacts on disk: ``<dir>/<name>/v<N>/model.skops`` + ``meta.json``, for every kind.

``meta.json`` names the model kind (``kind``; ``pca-spe`` when absent, as in artifacts made
before kinds existed); ``model.skops`` holds the state the kind's plug-in dumps
(``andon.scoring.kinds``), written by skops without pickle. Loading checks the artifact's
SHA-256 against its metadata first, then that every type the file names is on the allowlist
(plain containers, numbers, strings, numpy arrays, plus what the kind declares it stores), and
only then lets skops read it and the kind rebuild the model. Anything else is refused with a
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
from andon.scoring.kinds import DEFAULT_MODEL_KIND, ModelPlugin, model_kind

if TYPE_CHECKING:
    from pathlib import Path

    from andon.scoring.model import AnomalyModel

__all__ = ["ModelMeta", "latest_version_dir", "load_model", "save_model"]

#: what any kind's state may hold: the containers and values skops writes for data
_TRUSTED = frozenset({
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
    "builtins.float",
    "builtins.int",
    "builtins.str",
    "builtins.NoneType",
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
})


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
    #: the model kind (``andon.models`` plug-in) that made it and loads it
    kind: str = DEFAULT_MODEL_KIND

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


def save_model(model: AnomalyModel, meta_fields: dict[str, Any],
               models_dir: Path) -> ModelMeta:
    """Write a new version of a model; returns its metadata (version = previous + 1).

    The model's kind dumps its state; a state this kind could not load back (a type it does
    not declare as trusted) is refused before anything is written.
    """
    import skops.io as sio  # noqa: PLC0415 - heavy import, only when saving

    name = meta_fields["name"]
    kind = model_kind(model.kind, str(models_dir / name))
    blob = sio.dumps(kind.dump(model))
    refused = _refused_types(blob, kind, str(models_dir / name))
    if refused:
        raise ModelError(str(models_dir / name), f"model kind {kind.name!r} stores types it does "
                         f"not declare as trusted, so it could not be loaded: {refused}")
    latest = latest_version_dir(models_dir, name)
    version = int(latest.name[1:]) + 1 if latest is not None else 1
    target = models_dir / name / f"v{version}"
    target.mkdir(parents=True, exist_ok=False)
    (target / "model.skops").write_bytes(blob)
    meta = ModelMeta(
        **meta_fields, version=version, features=list(model.features), units=list(model.units),
        threshold=float(model.threshold), artifact_sha256=hashlib.sha256(blob).hexdigest(),
        # a kind that knows its training distribution's limit (PCA-SPE: Hotelling's T²)
        t2_limit=getattr(model, "t2_limit", None), kind=kind.name,
    )
    (target / "meta.json").write_text(meta.to_json(), encoding="utf-8")
    return meta


def load_model(version_dir: Path, top: int = 3) -> tuple[AnomalyModel, ModelMeta]:
    """Load and check an artifact of any installed kind; ``ModelError`` with the reason if not.

    The kind comes from the metadata; a kind that is not installed refuses the artifact.
    """
    meta_path, blob_path = version_dir / "meta.json", version_dir / "model.skops"
    meta = _read_meta(meta_path)
    kind = model_kind(meta.kind, str(meta_path))
    state = _read_state(blob_path, meta.artifact_sha256, kind)
    try:
        model = kind.load(state, meta, top)
    except ValueError as exc:  # the kind's "state and metadata do not fit together"
        raise ModelError(str(meta_path), str(exc)) from None
    except Exception as exc:
        raise ModelError(str(blob_path), f"model kind {kind.name!r} could not load it "
                         f"({type(exc).__name__}: {exc})") from exc
    return model, meta


def _read_meta(meta_path: Path) -> ModelMeta:
    try:
        return ModelMeta.from_json(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(str(meta_path), "metadata file is missing") from None
    except OSError as exc:
        raise ModelError(str(meta_path), f"cannot read metadata ({exc.strerror})") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelError(str(meta_path), f"metadata is not valid ({exc})") from None


def _read_state(blob_path: Path, sha256: str, kind: ModelPlugin) -> Any:
    """Read and check a stored state: its hash first, then the type allowlist, then load it."""
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
    refused = _refused_types(blob, kind, str(blob_path))
    if refused:
        raise ModelError(str(blob_path), f"refusing untrusted types {refused}")
    try:
        return sio.loads(blob, trusted=sorted(sio.get_untrusted_types(data=blob)))
    except Exception as exc:
        raise ModelError(str(blob_path), f"cannot read skops artifact ({exc})") from exc


def _refused_types(blob: bytes, kind: ModelPlugin, where: str) -> list[str]:
    """Types a skops file names that neither plain data nor ``kind`` trusts, sorted.

    skops itself trusts every scikit-learn estimator and numpy function by default and only
    reports the rest, so the allowlist is checked against every type the schema names too.
    skops raises many kinds of exception on a corrupt zip: each becomes the reason.
    """
    import skops.io as sio  # noqa: PLC0415 - heavy import, only when loading or saving

    try:
        named = set(sio.get_untrusted_types(data=blob)) | _schema_types(blob)
    except Exception as exc:
        raise ModelError(where, f"cannot read skops artifact ({exc})") from exc
    return sorted(named - _TRUSTED - kind.trusted)


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

"""The edge's model cache: which model each use case is scored with, and keeping the good one.

``ModelCache.reload`` takes, per use case the edge scores, the version it should serve: with
trusted keys, the production version (the pulled cache's manifest, ``andon.edge.pull``, else
the store's stage), loaded only once its detached signature verifies against those keys;
without (tests only), the highest version directory, unsigned. A refused version (unsigned,
altered, truncated, untrusted key, unusable artifact) is logged and kept as a
``model_refused`` event once per version and file content, and the model already loaded (the
last known good) keeps scoring. ``get`` is what scoring reads, once per window.

**Last known good, on disk**: each version that verified and loaded is also copied to
``<models>/.last-known-good/<use case>/<model>/v<N>/`` (artifact, metadata, signature; written
to a temporary directory, then renamed). After a restart, a use case whose current version is
refused serves that copy instead, verified again like any other version, and says so in its
``model_loaded`` event; without a copy it serves nothing, and the refusal is the event.

**Challengers** (``andon.rollout``): with a source of rollouts (the store's), ``reload`` also
loads the version each use case is rolling out, verified like production, and keeps the
rollouts' ``coverage``: which version is live or in shadow on each line now. Scoring reads
``challenger`` and ``coverage``; a challenger that does not verify is refused like any
version (production keeps serving, the shadow scores nothing).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import structlog

from andon.audit import Event, EventKind
from andon.clock import Clock
from andon.edge.pull import cached_version
from andon.errors import ModelError
from andon.registry import ModelBook, production_of, verify
from andon.rollout import Coverage, Rollout, Stage, coverage_of
from andon.scoring import AnomalyModel, ModelMeta, latest_version_dir, load_model
from andon.spec.model import PlantSpec, UseCase

__all__ = ["LKG_DIR", "Loaded", "ModelCache"]

#: where verified versions are kept, under the models directory (one per use case)
LKG_DIR = ".last-known-good"
#: the files a version directory holds (what is copied, and whose stamps say it changed)
_FILES = ("model.skops", "meta.json", "signature.json")

log = structlog.get_logger("andon.edge")

#: a loaded model and its metadata
Loaded = tuple[AnomalyModel, ModelMeta]


class ModelCache:
    """The model each use case serves now; ``reload`` moves to a newer one that verifies."""

    def __init__(self, use_cases: Iterable[UseCase], models_dir: Path, *, book: ModelBook,
                 clock: Clock, trusted_keys: Path | None = None,
                 record: Callable[[Event], None] | None = None,
                 rollouts: Callable[[], Sequence[Rollout]] | None = None,
                 spec: PlantSpec | None = None) -> None:
        self.use_cases = list(use_cases)  # the ones the edge scores
        self.models_dir = models_dir
        self.book = book
        self.clock = clock
        self.trusted_keys = trusted_keys
        self._record = record
        #: use case -> model label of what is loaded (``EdgeStats.models``, the heartbeat)
        self.labels: dict[str, str] = {}
        self._models: dict[str, Loaded] = {}
        # use case -> (version dir, file stamps) last refused: refused once, not every reload
        self._refused: dict[str, tuple[Path, tuple[tuple[int, int], ...]]] = {}
        self.lkg_root = models_dir / LKG_DIR
        self._rollouts = rollouts
        self._spec = spec
        #: where each version scores now, live or in shadow (from the rollouts)
        self.coverage: Coverage = Coverage([], {})
        self._challengers: dict[tuple[str, str], Loaded] = {}

    def get(self, use_case: str) -> Loaded | None:
        """The model a use case is scored with now, and its metadata (None before one loads)."""
        return self._models.get(use_case)

    def challenger(self, use_case: str, version: str) -> Loaded | None:
        """The rolled-out ``version`` of a use case's model, once it verified and loaded."""
        return self._challengers.get((use_case, version))

    def put(self, use_case: str, model: AnomalyModel, meta: ModelMeta) -> None:
        """Serve ``model`` for ``use_case`` from now on (``reload`` does this after checks)."""
        self._models[use_case] = (model, meta)
        self.labels[use_case] = meta.label

    def reload(self) -> list[str]:
        """Load the version each use case should serve; labels of those newly loaded."""
        loaded: list[str] = []
        records = None if self.trusted_keys is None else self.book.list_models()
        for uc in self.use_cases:
            if records is None:
                vdir = latest_version_dir(self.models_dir, uc.model)
            else:  # the pulled cache's manifest (andon.edge.pull), else the store's stage
                production = production_of(records, uc.model)
                version = cached_version(self.models_dir, uc.model) or (
                    None if production is None else production.version)
                vdir = None if version is None else self.models_dir / uc.model / f"v{version}"
            if vdir is None:
                continue
            current = self._models.get(uc.id)
            if current is not None and f"v{current[1].version}" == vdir.name:
                continue
            label = self._load(uc, vdir)
            if label is None and uc.id not in self._models:
                label = self._load_last_known_good(uc, refused=vdir)
            if label is not None:
                loaded.append(label)
        loaded += self._reload_challengers()
        return loaded

    def _reload_challengers(self) -> list[str]:
        """Load each use case's rolled-out version and refresh ``coverage``; labels loaded."""
        if self._rollouts is None or self._spec is None:
            return []
        try:
            rollouts = list(self._rollouts())
        except Exception as exc:  # noqa: BLE001 - the store is down: keep what is loaded
            log.warning("rollouts not read; keeping the current ones", error=str(exc))
            return []
        mine = {uc.id: uc for uc in self.use_cases}
        newest = {r.use_case: r for r in rollouts if r.use_case in mine}
        wanted = {(uc_id, r.version) for uc_id, r in newest.items()
                  if r.stage is not Stage.WITHDRAWN}
        loaded = []
        for key in sorted(wanted - set(self._challengers)):
            uc = mine[key[0]]
            opened = self._open(uc, self.models_dir / uc.model / f"v{key[1]}",
                                memo=f"{uc.id} challenger v{key[1]}")
            if opened is not None:
                self._challengers[key] = opened[0]
                label = opened[0][1].label
                self._event(Event(EventKind.MODEL_LOADED, uc.id, f"{label}{opened[1]} "
                                  f"(rollout: {newest[key[0]].stage.value})", self.clock.now()))
                loaded.append(label)
        for key in set(self._challengers) - wanted:
            del self._challengers[key]
        self.coverage = coverage_of([r for r in rollouts if r.use_case in mine], self._spec)
        return loaded

    def _open(self, uc: UseCase, vdir: Path, *, memo: str) -> tuple[Loaded, str] | None:
        """Verify and load a version directory: (model and meta, " (signed by key K)").

        A refusal is logged and kept as a ``model_refused`` event once per version and file
        content (``memo`` names what is refused: the use case, or its challenger).
        """
        stamp = (vdir, _stamps(vdir))
        if self._refused.get(memo) == stamp:
            return None
        try:
            signed = "" if self.trusted_keys is None else (
                f" (signed by key {verify(vdir, self.trusted_keys)})")
            model, meta = load_model(vdir, top=uc.top_features)
        except ModelError as exc:
            self._refused[memo] = stamp
            log.warning("model refused", use_case=uc.id, reason=str(exc))
            self._event(Event(EventKind.MODEL_REFUSED, uc.id, str(exc), self.clock.now()))
            return None
        self._refused.pop(memo, None)
        return (model, meta), signed

    def _load(self, uc: UseCase, vdir: Path, *, note: str = "",
              memo: str | None = None) -> str | None:
        opened = self._open(uc, vdir, memo=memo or uc.id)
        if opened is None:
            return None
        (model, meta), signed = opened
        self.put(uc.id, model, meta)
        if self.trusted_keys is not None and memo is None:
            self._keep(uc, vdir)
        self._event(Event(EventKind.MODEL_LOADED, uc.id, meta.label + signed + note,
                          self.clock.now()))
        return meta.label

    def _keep(self, uc: UseCase, vdir: Path) -> None:
        """Copy a version that verified and loaded as the use case's last known good."""
        home = self.lkg_root / uc.id
        if _stamps(home / vdir.parent.name / vdir.name) == _stamps(vdir):
            return  # already kept (copies keep size and modification time)
        staging = home / ".incoming"
        try:
            shutil.rmtree(staging, ignore_errors=True)
            (staging / vdir.parent.name / vdir.name).mkdir(parents=True)
            for name in _FILES:
                shutil.copy2(vdir / name, staging / vdir.parent.name / vdir.name / name)
            for old in [p for p in home.iterdir() if p.name != ".incoming"]:
                shutil.rmtree(old)
            (staging / vdir.parent.name).rename(home / vdir.parent.name)
            shutil.rmtree(staging, ignore_errors=True)
        except OSError as exc:  # a full disk must not stop scoring with the version just loaded
            log.warning("last known good not kept", use_case=uc.id, error=str(exc))

    def _load_last_known_good(self, uc: UseCase, *, refused: Path) -> str | None:
        """Serve the use case's kept copy (verified again) while its current version is refused."""
        home = self.lkg_root / uc.id
        kept = sorted(home.glob(f"{uc.model}/v*")) if home.is_dir() else []
        if not kept:
            return None
        return self._load(uc, kept[-1], memo=f"{uc.id} (last known good)",
                          note=f"; last known good, {refused.parent.name} {refused.name} was "
                          "refused")

    def _event(self, event: Event) -> None:
        if self._record is not None:
            self._record(event)


def _stamps(vdir: Path) -> tuple[tuple[int, int], ...]:
    """(size, mtime) of a version's files: a refused version is retried once they change."""
    out = []
    for name in _FILES:
        try:
            st = (vdir / name).stat()
        except OSError:
            out.append((-1, -1))
        else:
            out.append((st.st_size, st.st_mtime_ns))
    return tuple(out)

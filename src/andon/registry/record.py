"""``ModelRecord``: a registered model version as the registry keeps it (metadata + stage)."""

from __future__ import annotations

from dataclasses import dataclass

from andon.registry.stages import Stage
from andon.scoring.artifact import ModelMeta

__all__ = ["ModelRecord"]


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A model version's lineage (``meta``), its stage and who signed it."""

    meta: ModelMeta
    stage: Stage = Stage.CANDIDATE
    key_id: str | None = None  # fingerprint of the public key that signed it; None = unsigned
    signer: str | None = None  # who signed it

    @property
    def name(self) -> str:
        """The model name, e.g. ``pump-bearing``."""
        return self.meta.name

    @property
    def version(self) -> int:
        """The version number."""
        return self.meta.version

    @property
    def label(self) -> str:
        """``name v3``."""
        return self.meta.label

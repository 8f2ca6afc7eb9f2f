"""Model kinds: how a kind of anomaly model is trained, saved and loaded, as a plug-in.

A model kind is a ``ModelPlugin`` named by an entry point of the ``andon.models`` group (see
``andon.plugins``); the built-in PCA-SPE (``andon.scoring.pca_spe``) is declared the same way in
Andon's ``pyproject.toml``. A use case names its kind in the spec (``model_kind``, default
``pca-spe``) and may set the kind's parameters (``model_params``, validated by the plug-in's
``config`` model when the spec loads).

- ``fit(data, params)`` trains on a healthy ``TrainingSet`` and returns a ``Fitted`` model plus
  the parameters and metrics worth recording in its metadata; ``ValueError`` means "this data
  cannot make a model" (the reason is shown to the user).
- ``dump(model)`` gives the state to store: anything skops writes without pickle (numpy arrays,
  numbers, strings, lists, dicts, bytes, scikit-learn estimators). An ONNX model is stored as
  its bytes.
- ``load(state, meta, top)`` rebuilds the model from that state and its metadata;
  ``ValueError`` means they do not fit together (the artifact is refused with that reason).
- ``trusted`` names the types (``module.Class``) its state may hold beyond plain containers,
  numbers, strings and numpy arrays; anything else in an artifact refuses it.

Whatever the kind, an artifact is ``model.skops`` + ``meta.json`` (which names the kind), hashed
and signed the same way (``andon.scoring.artifact``, ``andon.registry.signing``), so the
registry, bundles and edges handle every kind alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from andon.errors import ModelError, PluginError
from andon.plugins import MODELS, Installed, Plugin, installed
from andon.spec.model import DEFAULT_MODEL_KIND

if TYPE_CHECKING:
    from andon.scoring.artifact import ModelMeta
    from andon.scoring.model import AnomalyModel, Matrix

__all__ = ["DEFAULT_MODEL_KIND", "Fitted", "ModelPlugin", "TrainingSet", "model_kind",
           "model_kinds"]

@dataclass(frozen=True, slots=True)
class TrainingSet:
    """Healthy training windows: one row per window, one column per named feature."""

    X: Matrix
    features: list[str]
    units: list[str]
    top: int = 3  # contributing features a score names


@dataclass(frozen=True, slots=True)
class Fitted:
    """A trained model and what its metadata records about the training."""

    model: AnomalyModel
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ModelPlugin(Plugin):
    """A model kind: its trainer, what it stores, how it loads (see the module docstring)."""

    #: train on healthy windows; the second argument is the validated ``config`` (or None)
    fit: Callable[[TrainingSet, Any], Fitted]
    #: the state ``model.skops`` holds for a trained model of this kind
    dump: Callable[[Any], Any]
    #: rebuild a model from its stored state, its metadata and the number of top features
    load: Callable[[Any, ModelMeta, int], AnomalyModel]
    #: types (``module.Class``) its stored state may hold beyond containers and numpy arrays
    trusted: frozenset[str] = frozenset()

    def params(self, given: Mapping[str, Any] | None) -> Any:
        """The kind's parameters from a use case's ``model_params`` (None without a model)."""
        if self.config is None:
            return None
        return self.config.model_validate(dict(given or {}))


def model_kinds() -> Installed[ModelPlugin]:
    """The installed model kinds (entry-point group ``andon.models``)."""
    return installed(MODELS, ModelPlugin)


def model_kind(name: str, where: str) -> ModelPlugin:
    """The model kind ``name``; ``ModelError`` about file ``where`` if it is not installed."""
    try:
        return model_kinds().get(name)
    except PluginError as exc:
        raise ModelError(where, str(exc)) from None

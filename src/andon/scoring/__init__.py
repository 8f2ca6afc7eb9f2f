"""Scoring: anomaly models, their kinds (plug-ins), training and their artifacts.

A model kind (``andon.scoring.kinds``: the built-in PCA-SPE, or one a plug-in distribution
adds) trains on a healthy period and scores each window; every kind is stored the same way, as
a versioned, non-pickle artifact whose metadata says what kind and what data made it.

Good means: a model trained on a healthy period scores healthy windows below its threshold
and degrading equipment above it, explains each score by the features that drive it, and loads
only from an artifact whose content, types and kind check out.
"""

from andon.scoring.artifact import ModelMeta, latest_version_dir, load_model, save_model
from andon.scoring.contribution import Contribution
from andon.scoring.kinds import (
    DEFAULT_MODEL_KIND,
    Fitted,
    ModelPlugin,
    TrainingSet,
    model_kind,
    model_kinds,
)
from andon.scoring.model import AnomalyModel, Score
from andon.scoring.pca_spe import PcaSpeModel

__all__ = [
    "DEFAULT_MODEL_KIND",
    "AnomalyModel",
    "Contribution",
    "Fitted",
    "ModelMeta",
    "ModelPlugin",
    "PcaSpeModel",
    "Score",
    "TrainingSet",
    "latest_version_dir",
    "load_model",
    "model_kind",
    "model_kinds",
    "save_model",
]

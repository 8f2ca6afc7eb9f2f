"""Scoring: the reference anomaly model, its training and its artifact.

Good means: a model trained on a healthy period scores healthy windows below its threshold
and degrading equipment above it, explains each score by the features that drive it, and is
stored as a versioned, non-pickle artifact whose metadata says what data made it.
"""

from andon.scoring.artifact import ModelMeta, latest_version_dir, load_model, save_model
from andon.scoring.contribution import Contribution
from andon.scoring.model import AnomalyModel, Score

__all__ = [
    "AnomalyModel",
    "Contribution",
    "ModelMeta",
    "Score",
    "latest_version_dir",
    "load_model",
    "save_model",
]

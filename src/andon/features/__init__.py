"""Features: event-time windows per asset and the numbers a model sees.

Good means: the same samples give the same feature rows whether they arrive live over MQTT or
are read back from the store for training (one code path); windows are cut on source time,
not arrival time; a window with too little good data is reported as such, never scored.
"""

from andon.features.extract import feature_names, feature_rows, features_of, use_case_tags
from andon.features.window import AssetWindows, Window

__all__ = [
    "AssetWindows",
    "Window",
    "feature_names",
    "feature_rows",
    "features_of",
    "use_case_tags",
]

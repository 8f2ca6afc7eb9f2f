"""Moved to ``andon.testing.factories``; this re-export keeps branches in flight merging.

New tests import from ``andon.testing.factories``. Remove this file once no branch imports it.
"""

from andon.testing.factories import FEATURES, UNITS, save_version, small_model

__all__ = ["FEATURES", "UNITS", "save_version", "small_model"]

"""Andon: turn an industrial AI model into an operated production system.

Plant data in over a Unified Namespace, a concrete owned action out, feedback back.
"""

from andon.errors import AndonError

__version__ = "0.2.0"

__all__ = ["AndonError", "__version__"]

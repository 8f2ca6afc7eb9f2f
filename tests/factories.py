"""Moved to ``andon.testing.factories``; this re-export keeps branches in flight merging.

New tests import from ``andon.testing.factories``. Remove this file once no branch imports it.
"""

from andon.testing.factories import (
    ACCESS_ROLES,
    T0,
    add_token,
    add_user,
    closed,
    make_intervention,
    make_model,
)

__all__ = ["ACCESS_ROLES", "T0", "add_token", "add_user", "closed", "make_intervention",
           "make_model"]

"""The ``andon`` command line: thin commands over services, with clear one-line errors.

``main`` is the console script. ``andon --version`` alone answers without importing the
commands (and so none of FastAPI, scikit-learn or SQLAlchemy): a container's health check or
an installer's probe should not pay a second for it.
"""

import sys

__all__ = ["main"]


def main() -> None:
    """Run the ``andon`` command line (``andon.cli.app``)."""
    if sys.argv[1:] == ["--version"]:
        from andon import __version__  # noqa: PLC0415 - the one light import of this path

        print(f"andon {__version__}")
        return
    from andon.cli.app import main as run  # noqa: PLC0415 - after the fast path

    run()

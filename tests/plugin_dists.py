"""Install small plug-in distributions into a directory, offline, the way a wheel install does:
the package plus a ``NAME-VERSION.dist-info`` with ``METADATA`` and ``entry_points.txt``.

Put the directory on ``sys.path`` (or ``PYTHONPATH`` of a subprocess) and
``importlib.metadata`` finds their entry points like any installed distribution's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

EXAMPLE_SOURCE = Path(__file__).resolve().parent / "plugins_example" / "andon_example_plugin"

#: the example distribution's entry points, one of each extension point
EXAMPLE_ENTRY_POINTS = {
    "andon.sinks": {"jsonl": "andon_example_plugin:JSONL"},
    "andon.connectors": {"csv-rows": "andon_example_plugin:CSV_ROWS"},
    "andon.models": {"zscore": "andon_example_plugin:ZSCORE"},
}

#: a distribution with one of each way to be refused
BROKEN_ENTRY_POINTS = {
    "andon.connectors": {"modbus": "andon_broken_plugin.modbus:PLUGIN"},  # fails to import
    "andon.sinks": {"cmms": "andon_broken_plugin:CMMS",  # claims a built-in's name
                    "pager": "andon_broken_plugin:CMMS"},  # named unlike its entry point
    "andon.models": {"bogus": "andon_broken_plugin:NOT_A_PLUGIN"},  # not a ModelPlugin
}
BROKEN_SOURCE = {
    "__init__.py": '''"""Plug-ins that must be refused, each in one line."""
from andon.sinks.cmms import PLUGIN as CMMS  # the built-in object, under a second entry point
NOT_A_PLUGIN = {"name": "bogus"}
''',
    "modbus.py": "import nonexistent_modbus_driver  # noqa: F401\n",
}


def install(root: Path, name: str, version: str, entry_points: dict[str, dict[str, str]],
            *, package: Path | None = None, files: dict[str, str] | None = None) -> Path:
    """Install distribution ``name`` into ``root``: its package (copied from ``package`` or
    written from ``files``) and its dist-info. Returns ``root``."""
    module = name.replace("-", "_")
    target = root / module
    if package is not None:
        shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        target.mkdir(parents=True)
        for filename, text in (files or {}).items():
            (target / filename).write_text(text, encoding="utf-8")
    info = root / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    lines = []
    for group, points in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{ep} = {value}" for ep, value in points.items())
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")
    return root


def install_example(root: Path) -> Path:
    """The example plug-in distribution (``andon-example-plugin 0.1.0``) in ``root``."""
    return install(root, "andon-example-plugin", "0.1.0", EXAMPLE_ENTRY_POINTS,
                   package=EXAMPLE_SOURCE)


def install_broken(root: Path) -> Path:
    """The broken plug-in distribution (``andon-broken-plugin 0.0.1``) in ``root``."""
    return install(root, "andon-broken-plugin", "0.0.1", BROKEN_ENTRY_POINTS,
                   files=BROKEN_SOURCE)

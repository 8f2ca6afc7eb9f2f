"""Load a plant spec file and turn every problem into one line: ``file:line field: reason``.

YAML is composed node by node so that each value keeps its line; pydantic errors and
cross-tree checks are then mapped back to the line of the field they are about.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from andon.errors import SpecError, SpecErrors
from andon.spec.model import PlantSpec, _dotted, cross_check

__all__ = ["load_spec", "load_spec_text"]

Path = tuple[str | int, ...]


def load_spec(path: str | FsPath) -> PlantSpec:
    """Read and validate a plant spec file; raise ``SpecErrors`` naming file, line and field."""
    p = FsPath(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecErrors([SpecError(str(p), None, "", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise SpecErrors([SpecError(str(p), None, "", f"not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        raise SpecErrors([SpecError(str(p), None, "", exc.strerror or str(exc))]) from None
    return load_spec_text(text, p.name)


def load_spec_text(text: str, filename: str = "plant.yaml") -> PlantSpec:
    """Validate spec text; ``filename`` is only used in messages."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = f"YAML syntax error: {exc.problem or exc.context}"
        raise SpecErrors([SpecError(filename, line, "", reason)]) from None
    except yaml.YAMLError as exc:
        raise SpecErrors([SpecError(filename, None, "", f"YAML error: {exc}")]) from None
    if node is None:
        raise SpecErrors([SpecError(filename, 1, "", "the file is empty; expected a plant spec")])
    lines: dict[Path, int] = {}
    try:
        data = _build(node, (), lines)
    except _DuplicateKey as exc:
        raise SpecErrors([SpecError(filename, exc.line, _dotted(exc.path),
                                    f"key {exc.key!r} appears twice")]) from None
    if not isinstance(data, dict):
        raise SpecErrors([SpecError(filename, node.start_mark.line + 1, "",
                                    "expected a mapping (enterprise:, sites:, ...) at the top")])
    try:
        spec = PlantSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecErrors(_from_pydantic(exc, filename, lines, PlantSpec)) from None
    problems = cross_check(spec)
    if problems:
        raise SpecErrors([
            SpecError(filename, _line_of(path, lines), _dotted(path), reason)
            for path, reason in problems
        ])
    return spec


class _DuplicateKey(Exception):
    def __init__(self, path: Path, key: str, line: int) -> None:
        self.path, self.key, self.line = path, key, line


def _build(node: yaml.Node, path: Path, lines: dict[Path, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader(yaml.safe_dump(None)).construct_object(key_node)
            if key in out:
                raise _DuplicateKey((*path, str(key)), str(key), key_node.start_mark.line + 1)
            out[key] = _build(value_node, (*path, str(key)), lines)
            lines[(*path, str(key))] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*path, i), lines) for i, child in enumerate(node.value)]
    loader = yaml.SafeLoader("")
    return loader.construct_object(node, deep=True)


def _line_of(path: Path, lines: dict[Path, int]) -> int | None:
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return lines[path[:cut]]
    return None


def _from_pydantic(
    exc: ValidationError, filename: str, lines: dict[Path, int], root: type[BaseModel],
) -> list[SpecError]:
    errors: list[SpecError] = []
    seen: set[tuple[Path, str]] = set()
    for err in exc.errors(include_url=False):
        path: Path = tuple(p for p in err["loc"] if isinstance(p, str | int))
        # Tagged/union wrappers add non-field segments such as 'function-after[...]'.
        path = tuple(p for p in path if not (isinstance(p, str) and "[" in p))
        msg = str(err["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(prefix)
        if msg.startswith("@"):  # _FieldError: a model check about one field
            field, _, msg = msg[1:].partition("@ ")
            path = (*path, field)
        kind = err["type"]
        if kind == "missing":
            msg = "required field is missing"
        elif kind == "extra_forbidden":
            allowed = _allowed_fields(root, path[:-1])
            msg = f"unknown field {path[-1]!r}" + (f" (allowed: {allowed})" if allowed else "")
        elif "input" in err and kind not in {"value_error", "assertion_error"}:
            msg = f"{msg} (got {err['input']!r})"[:300]
        if (path, msg) in seen:
            continue
        seen.add((path, msg))
        errors.append(SpecError(filename, _line_of(path, lines), _dotted(path), msg))
    return errors


def _allowed_fields(root: type[BaseModel], path: Path) -> str:
    model: Any = root
    for part in path:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return ""
        model = _inner_model(field.annotation)
        if model is None:
            return ""
    return ", ".join(getattr(model, "model_fields", {}))


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None

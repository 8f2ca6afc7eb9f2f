"""Load a plant spec file and turn every problem into one line: ``file:line field: reason``.

YAML is composed node by node so that each value keeps its line; pydantic errors and
cross-tree checks are then mapped back to the line of the field they are about, and reported
in file order.

Scalars are read the YAML 1.2 way, not the YAML 1.1 way PyYAML defaults to: ``22:00`` is the
text ``"22:00"`` (not the sexagesimal number 1320), ``2026-08-01`` is text for pydantic to parse
(not a ``date``), and ``no`` / ``on`` are text (only ``true`` / ``false`` are booleans).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from andon.errors import SpecError, SpecErrors
from andon.spec.model import _ID, _TAG, PlantSpec, _dotted, cross_check
from andon.spec.tagmap import read_tag_map_files, tag_map_problems
from andon.spec.yamlread import MAX_DEPTH, BoundedLoader, NestingError, nesting_reason

__all__ = ["load_spec", "load_spec_text"]

Path = tuple[str | int, ...]

#: values repeated through aliases beyond this are an alias bomb, not a plant
_MAX_REPEATS = 100_000
_YAML = "tag:yaml.org,2002:"
_COLLECTION_TAGS = {f"{_YAML}map", f"{_YAML}seq"}
_PATTERN_REASONS = {
    _ID: "{v!r} is not topic-safe: use 1-63 lowercase letters, digits, '-' or '_', starting with "
         "a letter or digit (it becomes an MQTT topic level, so no capitals, spaces or '/')",
    _TAG: "{v!r} is not a valid tag name: use 1-63 lowercase letters, digits or '_', starting "
          "with a letter (it becomes an MQTT topic level)",
}


#: YAML 1.1 implicit types that the spec loader drops or redefines
_REPLACED = {"bool", "int", "float", "timestamp", "value", "yaml"}


class _SpecLoader(BoundedLoader):
    """SafeLoader resolving plain scalars as YAML 1.2 does (see the module docstring).

    Values nested deeper than ``MAX_DEPTH`` are refused (``andon.spec.yamlread``).
    """


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag.removeprefix(_YAML) not in _REPLACED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver(
    f"{_YAML}bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"),
)
_SpecLoader.add_implicit_resolver(
    f"{_YAML}int", re.compile(r"^[-+]?(?:[0-9][0-9_]*|0x[0-9a-fA-F_]+|0o[0-7_]+)$"),
    list("-+0123456789"),
)
_SpecLoader.add_implicit_resolver(
    f"{_YAML}float",
    re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
               r"|\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """YAML 1.2 integers: ``010`` is ten (not octal eight); ``0o10``, ``0x1f``, ``!!int 0b1``."""
    text = str(loader.construct_scalar(node)).replace("_", "")
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    return sign * (int(digits, 0) if digits[:2] in {"0x", "0o", "0b"} else int(digits, 10))


_SpecLoader.add_constructor(f"{_YAML}int", _construct_int)


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
    return load_spec_text(text, p.name, base_dir=p.parent)


def load_spec_text(text: str, filename: str = "plant.yaml", *,
                   base_dir: FsPath | None = None) -> PlantSpec:
    """Validate spec text; ``filename`` is only used in messages.

    ``base_dir`` is where a site's ``tag_map_file`` is read from (None: maps must be inline).
    """
    try:
        node = yaml.compose(text, Loader=_SpecLoader)
    except yaml.reader.ReaderError as exc:
        raise SpecErrors([_reader_error(exc, text, filename)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise SpecErrors([SpecError(filename, line, "", _yaml_reason(exc))]) from None
    except yaml.YAMLError as exc:
        raise SpecErrors([SpecError(filename, None, "", _one_line(f"YAML error: {exc}"))]) from None
    lines: dict[Path, int] = {}
    try:
        data = _Builder(lines).build(node, ()) if node is not None else None
    except _LocatedError as exc:
        raise SpecErrors([SpecError(filename, exc.line, _dotted(exc.path),
                                    _one_line(exc.reason))]) from None
    if data is None:
        raise SpecErrors([SpecError(filename, 1, "", "the file is empty; expected a plant spec")])
    if not isinstance(data, dict):
        assert node is not None  # noqa: S101 - data is not None, so a node was composed
        raise SpecErrors([SpecError(filename, node.start_mark.line + 1, "",
                                    "expected a mapping (enterprise:, sites:, ...) at the top")])
    def locate(path: Path) -> int | None:
        return _line_of(path, lines)

    origins = read_tag_map_files(data, base_dir, filename, locate)
    try:
        spec = PlantSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecErrors(_in_file_order(_from_pydantic(exc, filename, lines, PlantSpec))) from None
    problems = cross_check(spec)
    # maps are checked against a consistent plant: a renamed asset is one problem, not one per
    # raw name that maps to it
    map_problems = [] if problems else tag_map_problems(spec, origins, filename, locate)
    if problems or map_problems:
        raise SpecErrors(_in_file_order([
            *(SpecError(filename, _line_of(path, lines), _dotted(path), _one_line(reason))
              for path, reason in problems),
            *map_problems,
        ]))
    return spec


def _in_file_order(errors: list[SpecError]) -> list[SpecError]:
    """Sort by line (stable, so problems on one line keep the validator's order)."""
    return sorted(errors, key=lambda e: e.line or 0)


def _one_line(reason: str) -> str:
    """Every error is one line: fold any line break a value or a library put in the reason."""
    return re.sub(r"\s*[\r\n]+\s*", " ", reason).strip()


def _reader_error(exc: yaml.reader.ReaderError, text: str, filename: str) -> SpecError:
    char = exc.character if isinstance(exc.character, str) else chr(exc.character)
    line = text.count("\n", 0, exc.position) + 1 if exc.position <= len(text) else None
    return SpecError(filename, line, "",
                     f"YAML syntax error: character {char!r} (#x{ord(char):04x}) is not allowed "
                     "in YAML text; remove it or write it as an escape in a quoted string")


def _yaml_reason(exc: yaml.MarkedYAMLError) -> str:
    if isinstance(exc, NestingError):
        return nesting_reason()
    problem = exc.problem or exc.context or "cannot parse"
    reason = f"YAML syntax error: {problem}"
    if exc.context and exc.problem:
        context = exc.context
        cm, pm = exc.context_mark, exc.problem_mark
        if context.startswith("while ") and cm and pm and cm.line != pm.line:
            context += f" that starts on line {cm.line + 1}"
        reason += f" ({context})"
    if "mapping values are not allowed" in problem:
        reason += "; put a value that contains ': ' in quotes"
    elif "'\\t'" in problem:
        reason += "; indent with spaces, not tabs"
    return _one_line(reason)


def _short(tag: str) -> str:
    return tag.replace(_YAML, "!!", 1) if tag.startswith(_YAML) else tag


class _LocatedError(Exception):
    """A YAML-level problem found while building the data: where and why."""

    def __init__(self, line: int, path: Path, reason: str) -> None:
        self.line, self.path, self.reason = line, path, reason


@dataclass
class _Builder:
    """Turns composed YAML nodes into plain data, recording the line of every path."""

    lines: dict[Path, int]

    def __post_init__(self) -> None:
        self._scalars = _SpecLoader("")
        self._open: set[int] = set()  # collections being built: an alias back to one is a loop
        self._seen: set[int] = set()
        self._repeats = 0  # values built again because an alias points at them

    def build(self, node: yaml.Node, path: Path) -> Any:
        line = node.start_mark.line + 1
        if len(path) > MAX_DEPTH:  # aliases can nest what was composed within the bound
            raise _LocatedError(line, path[:1], nesting_reason())
        self.lines[path] = line
        if id(node) in self._seen:
            self._repeats += 1
            if self._repeats > _MAX_REPEATS:
                raise _LocatedError(line, path, f"aliases repeat more than {_MAX_REPEATS} values "
                                                "(aliases of aliases?); write the data out")
        self._seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if node.tag not in _COLLECTION_TAGS:
            raise _LocatedError(line, path, f"YAML tag {_short(node.tag)!r} is not supported; "
                                            "write a plain list or mapping")
        if id(node) in self._open:
            raise _LocatedError(line, path, "an alias refers back to a value that contains it "
                                            "(the data would be endless)")
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        line = node.start_mark.line + 1
        try:
            return self._scalars.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            raise _LocatedError(line, path, f"YAML tag {_short(node.tag)!r} is not supported; "
                                            "write a plain value") from None
        except (ValueError, TypeError, AttributeError, ArithmeticError):
            tag = node.tag.removeprefix(_YAML)
            raise _LocatedError(line, path, f"{node.value!r} is not a valid {tag}") from None

    def _key(self, node: yaml.Node, path: Path) -> str:
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.ScalarNode):
            raise _LocatedError(line, path, "a key must be a plain name, not a list or a mapping")
        key = self._scalar(node, path)
        return key if isinstance(key, str) else str(node.value)

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == f"{_YAML}merge":
                merges.append(value_node)
                continue
            key = self._key(key_node, path)
            if key in out:
                raise _LocatedError(key_node.start_mark.line + 1, (*path, key),
                                    f"key {key!r} appears twice")
            out[key] = self.build(value_node, (*path, key))
            self.lines[(*path, key)] = key_node.start_mark.line + 1
        # '<<: *defaults' (or a list of them): keys written here win, then earlier sources.
        for merge in merges:
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    raise _LocatedError(source.start_mark.line + 1, path,
                                        "'<<' merges a mapping (or a list of mappings) only")
                own_lines = self.lines
                self.lines = {}
                try:
                    merged = self.build(source, path)
                    for key, value in merged.items():
                        if key not in out:
                            out[key] = value
                            depth = len(path) + 1
                            own_lines.update({p: n for p, n in self.lines.items()
                                              if p[:depth] == (*path, key)})
                finally:
                    self.lines = own_lines
        return out


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
        if msg.startswith("@"):  # FieldError: a model check about one field
            field, _, msg = msg[1:].partition("@ ")
            path = (*path, field)
        kind = err["type"]
        pattern = str(err.get("ctx", {}).get("pattern", ""))
        if kind == "missing":
            msg = "required field is missing"
        elif kind == "extra_forbidden":
            allowed = _allowed_fields(root, path[:-1])
            msg = f"unknown field {path[-1]!r}" + (f" (allowed: {allowed})" if allowed else "")
        elif kind == "string_pattern_mismatch" and pattern in _PATTERN_REASONS:
            msg = _PATTERN_REASONS[pattern].format(v=err["input"])
        elif kind == "string_type":
            got = err.get("input")
            msg = ("the value is empty; expected text" if got is None
                   else f"expected text, got {got!r} (put it in quotes)")
        elif "input" in err and kind not in {"value_error", "assertion_error", "unknown_field"}:
            msg = f"{msg} (got {err['input']!r})"[:300]
        msg = _one_line(msg)
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

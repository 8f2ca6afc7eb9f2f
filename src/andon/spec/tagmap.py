"""Per-site tag maps in the plant spec: raw names → canonical asset/tag, raw unit, scaling.

A site declares its map inline (``tag_map:``, a list of entries) or in a file next to the
spec (``tag_map_file: porto-tags.csv`` or ``.yaml``), or both. One entry::

    {raw: "PLC2.DB10.W4", asset: p-301, tag: discharge_pressure, unit: psi, scale: 0.1}

says that raw values of ``PLC2.DB10.W4`` times ``scale`` plus ``offset`` are ``unit``
(here a PLC word in tenths of psi). A CSV map has the header
``raw,asset,tag,unit[,scale][,offset][,description]``; a YAML map file is a list of entries
(or a mapping with a ``tag_map:`` list).

Checked at load, each problem one line ``file:line field: reason`` (the map file's own line
for entries read from a file): an unknown asset or tag of the site, a unit pint does not know
or that does not measure the canonical tag's quantity (``psi`` for a temperature), a raw name
mapped twice in one site.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from andon.errors import SpecError, SpecErrors
from andon.spec.yamlread import BoundedLoader, NestingError
from andon.units import check_unit, registry

if TYPE_CHECKING:
    from andon.spec.model import PlantSpec

__all__ = ["MAX_MAP_ENTRIES", "MapOrigin", "TagMapEntry", "read_tag_map_files",
           "tag_map_problems"]

#: entries one site's map may have (a map is read whole at start-up)
MAX_MAP_ENTRIES = 200_000
_MAX_RAW = 256
_MAX_FILE_BYTES = 50 * 1024 * 1024
_CSV_FIELDS = ("raw", "asset", "tag", "unit", "scale", "offset", "description")


class TagMapEntry(BaseModel):
    """One raw name of a site and what it is: canonical asset/tag, raw unit and scaling."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    raw: str = Field(min_length=1, max_length=_MAX_RAW,
                     description="raw name as the source sends it, e.g. PLC2.DB10.W4")
    asset: str = Field(min_length=1, description="canonical asset id of the site")
    tag: str = Field(min_length=1, description="canonical tag name of that asset")
    unit: str = Field(min_length=1, description="unit of scaled raw values, e.g. degF, psi, in/s")
    scale: float = Field(default=1.0, description="raw value * scale + offset gives the unit")
    offset: float = 0.0
    description: str = ""

    @field_validator("raw")
    @classmethod
    def _printable(cls, v: str) -> str:
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in v):  # noqa: PLR2004 - control chars
            raise ValueError(f"{v!r} contains a control character")
        return v

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, v: str) -> str:
        try:
            registry().Unit(v)
        except Exception:  # noqa: BLE001 - pint's parser raises many types (TokenError, ...)
            raise ValueError(f"{v!r} is not a unit pint knows") from None
        return v

    @field_validator("scale", "offset")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"{v!r} is not a finite number")
        return v

    @field_validator("scale")
    @classmethod
    def _nonzero(cls, v: float) -> float:
        if v == 0:
            raise ValueError("scale 0 would map every raw value to the offset")
        return v


@dataclass(frozen=True, slots=True)
class MapOrigin:
    """Where an entry read from a map file was written: file, line, index in that file."""

    file: str
    line: int
    index: int

    def field(self, name: str = "") -> str:
        """The field path shown in errors, ``tag_map[3].unit``."""
        return f"tag_map[{self.index}]" + (f".{name}" if name else "")


Path = tuple[str | int, ...]
Locate = Callable[[Path], int | None]


def read_tag_map_files(data: dict[str, Any], base_dir: FsPath | None, filename: str,
                       locate: Locate) -> dict[tuple[int, int], MapOrigin]:
    """Read every site's ``tag_map_file`` and append its entries to the site's ``tag_map``.

    ``data`` is the spec as plain data, before validation (changed in place); ``locate``
    gives the spec file's line of a field path. Returns where each appended entry came from,
    keyed by (site index, entry index). Raises ``SpecErrors`` naming the map file's line for
    anything unreadable or invalid in a map file.
    """
    origins: dict[tuple[int, int], MapOrigin] = {}
    sites = data.get("sites")
    if not isinstance(sites, list):
        return origins
    errors: list[SpecError] = []
    for si, site in enumerate(sites):
        if not isinstance(site, dict) or site.get("tag_map_file") is None:
            continue
        ref = site["tag_map_file"]
        path: Path = ("sites", si, "tag_map_file")
        if not isinstance(ref, str) or not ref.strip():
            errors.append(SpecError(filename, locate(path), _dotted(path),
                                    "expected the path of a .csv or .yaml map file"))
            continue
        if base_dir is None:
            errors.append(SpecError(filename, locate(path), _dotted(path),
                                    "a map file needs a spec loaded from a file; inline the map "
                                    "(tag_map:) in a spec given as text"))
            continue
        try:
            rows = _read_rows(base_dir / ref, ref)
        except SpecError as exc:
            # a problem inside the file names its line; the file as a whole, the spec's field
            errors.append(exc if exc.line is not None else
                          SpecError(filename, locate(path), _dotted(path), exc.reason))
            continue
        inline = site.get("tag_map")
        entries: list[Any] = list(inline) if isinstance(inline, list) else []
        for origin, entry in _validated(ref, rows, errors):
            origins[(si, len(entries))] = origin
            entries.append(entry.model_dump())
        if inline is None or isinstance(inline, list):
            site["tag_map"] = entries
    if errors:
        raise SpecErrors(sorted(errors, key=lambda e: (e.file, e.line or 0)))
    return origins


def _validated(ref: str, rows: list[tuple[int, dict[str, Any]]], errors: list[SpecError],
               ) -> list[tuple[MapOrigin, TagMapEntry]]:
    """The valid entries of a map file; each problem of the others goes to ``errors``."""
    out: list[tuple[MapOrigin, TagMapEntry]] = []
    for index, (line, row) in enumerate(rows):
        origin = MapOrigin(ref, line, index)
        try:
            out.append((origin, TagMapEntry.model_validate(row)))
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                name = ".".join(str(p) for p in err["loc"])
                msg = str(err["msg"]).removeprefix("Value error, ")
                errors.append(SpecError(ref, line, origin.field(name), msg))
    return out


def _read_rows(path: FsPath, ref: str) -> list[tuple[int, dict[str, Any]]]:
    """(line, row) of every entry of a map file; ``SpecError`` naming ``ref`` when unreadable."""
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise SpecError(ref, None, "", f"map file is larger than {_MAX_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(ref, None, "", f"map file not found ({path})") from None
    except UnicodeDecodeError as exc:
        raise SpecError(ref, None, "", f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise SpecError(ref, None, "", exc.strerror or str(exc)) from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(text, ref)
    elif suffix in {".yaml", ".yml"}:
        rows = _yaml_rows(text, ref)
    else:
        raise SpecError(ref, None, "", "a map file must end in .csv, .yaml or .yml")
    if len(rows) > MAX_MAP_ENTRIES:
        raise SpecError(ref, None, "", f"more than {MAX_MAP_ENTRIES} entries")
    return rows


def _csv_rows(text: str, ref: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise SpecError(ref, 1, "", "the map file is empty; expected a header "
                                    "raw,asset,tag,unit[,scale][,offset][,description]") from None
    except csv.Error as exc:
        raise SpecError(ref, 1, "", f"CSV error: {exc}") from None
    unknown = [h for h in header if h not in _CSV_FIELDS]
    missing = [h for h in ("raw", "asset", "tag", "unit") if h not in header]
    if unknown or missing:
        what = (f"unknown column {unknown[0]!r}" if unknown else f"missing column {missing[0]!r}")
        raise SpecError(ref, 1, "", f"{what}; the header is "
                                    "raw,asset,tag,unit[,scale][,offset][,description]")
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
                continue
            if len(cells) != len(header):
                raise SpecError(ref, reader.line_num, "",
                                f"{len(cells)} cells where the header has {len(header)}")
            row = {h: c for h, c in zip(header, cells, strict=True)
                   if c.strip() or h not in {"scale", "offset"}}
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise SpecError(ref, reader.line_num, "", f"CSV error: {exc}") from None
    return rows


def _yaml_rows(text: str, ref: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        node = yaml.compose(text, Loader=BoundedLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = "" if isinstance(exc, NestingError) else "YAML syntax error: "
        raise SpecError(ref, None if mark is None else mark.line + 1, "",
                        f"{what}{exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise SpecError(ref, None, "", f"YAML error: {type(exc).__name__}") from None
    if isinstance(node, yaml.MappingNode):
        node = next((v for k, v in node.value
                     if isinstance(k, yaml.ScalarNode) and k.value == "tag_map"), None)
    if not isinstance(node, yaml.SequenceNode):
        line = 1 if node is None else node.start_mark.line + 1
        raise SpecError(ref, line, "", "expected a list of entries (raw, asset, tag, unit, ...)")
    rows: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(node.value):
        line = item.start_mark.line + 1
        if not isinstance(item, yaml.MappingNode):
            raise SpecError(ref, line, f"tag_map[{index}]",
                            "expected a mapping {raw: ..., asset: ..., tag: ..., unit: ...}")
        row: dict[str, Any] = {}
        for key, value in item.value:
            if not isinstance(key, yaml.ScalarNode) or not isinstance(value, yaml.ScalarNode):
                raise SpecError(ref, key.start_mark.line + 1, f"tag_map[{index}]",
                                "entry fields must be plain values")
            # scalars stay text: a raw name such as 22:00 or 0x10 is a name, not a number
            row[key.value] = value.value
        rows.append((line, row))
    return rows


def tag_map_problems(spec: PlantSpec, origins: dict[tuple[int, int], MapOrigin],
                     filename: str, locate: Locate) -> list[SpecError]:
    """Entries that name an unknown asset or tag, carry an incompatible unit, or repeat a name."""
    errors: list[SpecError] = []
    for si, site in enumerate(spec.sites):
        tags = {(x.id, t.name): t for a in site.areas for ln in a.lines for x in ln.assets
                for t in x.tags}
        assets = {x for x, _ in tags}
        seen: dict[str, str] = {}
        for ei, entry in enumerate(site.tag_map):
            origin = origins.get((si, ei))

            def where(name: str, si: int = si, ei: int = ei,
                      origin: MapOrigin | None = origin) -> tuple[str, int | None, str]:
                if origin is not None:
                    return origin.file, origin.line, origin.field(name)
                path: Path = ("sites", si, "tag_map", ei, name)
                return filename, locate(path), _dotted(path)

            here = where("raw")
            if entry.raw in seen:
                errors.append(SpecError(*where("raw"),
                                        f"raw name {entry.raw!r} is mapped twice in site "
                                        f"{site.id!r} (also at {seen[entry.raw]})"))
                continue
            seen[entry.raw] = f"{here[0]}:{here[1]}"
            if entry.asset not in assets:
                known = ", ".join(sorted(assets)[:8])
                errors.append(SpecError(*where("asset"),
                                        f"unknown asset {entry.asset!r} in site {site.id!r} "
                                        f"(known: {known})"))
                continue
            tag = tags.get((entry.asset, entry.tag))
            if tag is None:
                names = ", ".join(sorted(t for x, t in tags if x == entry.asset))
                errors.append(SpecError(*where("tag"),
                                        f"asset {entry.asset!r} has no tag {entry.tag!r} "
                                        f"(tags: {names})"))
                continue
            reason = check_unit(entry.unit, tag.quantity)
            if reason is not None:
                errors.append(SpecError(*where("unit"),
                                        f"{entry.raw}: unit {entry.unit!r} cannot be converted to "
                                        f"{entry.asset}/{entry.tag} ({tag.unit}): {reason}"))
    return errors


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out

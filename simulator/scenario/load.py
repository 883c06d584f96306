"""Read a scenario file: safe YAML → defaults merged → what-ifs and ``--set`` → validated model.

Errors name the file, the field (as a dotted path using cluster and target ids, the same
syntax ``--set`` takes) and the line where the YAML has it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import InputError, InputErrors
from . import overrides, yaml_events
from .checks import problems
from .overrides import tree_copy
from .schema import Scenario

LineMap = dict[tuple, int]

#: libyaml's safe loader when PyYAML was built with it (30× faster), else the pure-Python one
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Loaded:
    """A validated scenario with what was done to get it (for the manifest)."""

    scenario: Scenario
    resolved: dict  # raw data after defaults, what-ifs and --set; loadable as a scenario
    file: str
    sha256: str
    what_ifs: list[str] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)
    text: str = ""  # the file as read (the resolved scenario when nothing was changed)


# --------------------------------------------------------------------------- YAML


def _lines(root: yaml.Node) -> LineMap:
    """Map every key path of the YAML tree to its 1-based line (one pass, no copies)."""
    out: LineMap = {(): root.start_mark.line + 1}
    stack: list[tuple[yaml.Node, tuple]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, key.value)
                out[child] = key.start_mark.line + 1
                stack.append((value, child))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                child = (*path, i)
                out[child] = item.start_mark.line + 1
                stack.append((item, child))
    return out


def read_bytes(path: str | Path) -> bytes:
    """A file's bytes, or one line naming the file when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", file=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=str(path)) from None


def read_yaml(path: str | Path) -> tuple[Any, LineMap, bytes]:
    """Safe-load ``path``; return the data, a map from key paths to line numbers, raw bytes."""
    name = str(path)
    raw = read_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=name) from None
    data = yaml_events.load(text, SAFE_LOADER)
    if data is not yaml_events.NOT_PLAIN:
        return data, LazyLines(text), raw
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise InputError(
            f"malformed YAML: {problem}", file=name, line=mark.line + 1 if mark else None
        ) from None
    return data, LazyLines(text), raw


class LazyLines(Mapping):
    """The key-path → line map of a YAML text, composed only when an error needs a line."""

    def __init__(self, text: str):
        self._text = text
        self._map: LineMap | None = None

    def _lines_map(self) -> LineMap:
        if self._map is None:
            loader = SAFE_LOADER(self._text)
            try:
                node = loader.get_single_node()
            finally:
                loader.dispose()
            self._map = _lines(node) if node is not None else {}
        return self._map

    def __getitem__(self, key):
        return self._lines_map()[key]

    def __iter__(self):
        return iter(self._lines_map())

    def __len__(self):
        return len(self._lines_map())


def line_of(lines: LineMap, loc: tuple) -> int | None:
    """Line of the longest prefix of ``loc`` that the file has."""
    for n in range(len(loc), -1, -1):
        key = tuple(loc[:n])
        if key in lines:
            return lines[key]
    return None


def dotted(data: Any, loc: tuple) -> str:
    """``('clusters', 2, 'growth')`` → ``clusters.appliances.growth`` (ids where items have them)."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(node, list) and isinstance(key, int) and key < len(node):
            item = node[key]
            parts.append(str(item["id"]) if isinstance(item, dict) and "id" in item else str(key))
            node = item
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts)


# --------------------------------------------------------------------------- defaults


def _deep_merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = tree_copy(base)
        for k, v in over.items():
            out[k] = _deep_merge(out[k], v) if k in out else tree_copy(v)
        return out
    return tree_copy(over)


def merge_defaults(data: dict) -> dict:
    """Fold ``cluster_defaults`` into every cluster (the cluster's own entries win)."""
    data = dict(data)
    defaults = data.pop("cluster_defaults", None)
    if defaults and isinstance(data.get("clusters"), list):
        data["clusters"] = [
            _deep_merge(defaults, c) if isinstance(c, dict) else c for c in data["clusters"]
        ]
    return data


# --------------------------------------------------------------------------- overrides


def _what_if_spec(name: str, data: dict, file: str) -> tuple[str, dict]:
    table = data.get("what_ifs") or {}
    if name in table:
        return name, table[name]
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml"):
        spec, _, _ = read_yaml(candidate)
        if not isinstance(spec, dict):
            raise InputError(
                "a what-if file is a mapping (description, set, add, scale)", file=name
            )
        return candidate.stem, spec
    if candidate.suffix.lower() == ".xlsx":  # the 假设 sheet of a report.xlsx
        from .workbook_file import what_if_from_workbook

        return candidate.stem, what_if_from_workbook(candidate, data)
    known = ", ".join(table) or "none"
    raise InputError(
        f"unknown what-if {name!r} (this scenario has: {known})", file=file, field="what_ifs"
    )


def _parse_set(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise InputError(f"--set takes PATH=VALUE, got {item!r}", field="--set")
    path, text = item.split("=", 1)
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise InputError(f"cannot read value {text!r}", field=f"--set {path}") from None
    return path.strip(), value


def apply_overrides(data: dict, file: str, what_ifs: list[str], sets: list[str]) -> dict:
    from .schema import WhatIf

    for name in what_ifs:
        label, spec = _what_if_spec(name, data, file)
        try:
            w = WhatIf.model_validate(spec)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise InputError(
                err["msg"], file=file, field=f"what_ifs.{label}." + ".".join(map(str, err["loc"]))
            ) from None
        try:
            data = overrides.apply(
                data, f"what-if {label}: {w.description}", set_=w.set, add=w.add, scale=w.scale
            )
        except overrides.OverrideError as exc:
            raise InputError(str(exc), file=file, field=f"what-if {label}: {exc.path}") from None
    for item in sets:
        path, value = _parse_set(item)
        try:
            data = overrides.apply(
                data, f"set on the command line: {path}={value}", set_={path: value}
            )
        except overrides.OverrideError as exc:
            raise InputError(str(exc), file=file, field=f"--set {exc.path}") from None
    return data


# --------------------------------------------------------------------------- validation


def validate(data: Any, file: str, lines: LineMap | None = None) -> Scenario:
    """Validate raw data; raise :class:`InputErrors` listing every problem found."""
    lines = {} if lines is None else lines
    if not isinstance(data, dict):
        raise InputError("a scenario file is a YAML mapping", file=file)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            # drop pydantic's union/type tags so the path is the file's path
            loc = tuple(
                k
                for k in loc
                if not (
                    isinstance(k, str)
                    and (
                        "[" in k
                        or k in ("float", "int", "list[float]", "dict[int,float]", "function-after")
                    )
                )
            )
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field"
            errors.append(
                InputError(msg, file=file, field=dotted(data, loc), line=line_of(lines, loc))
            )
        raise InputErrors(errors) from None
    found = [
        InputError(msg, file=file, field=dotted(data, loc), line=line_of(lines, loc))
        for loc, msg in problems(scenario)
    ]
    if found:
        raise InputErrors(found)
    return scenario


def _blame_set(error: InputError, sets) -> InputError:
    """An error in a field a ``--set`` changed names the ``--set``, not the file."""
    for item in reversed(list(sets)):
        path = item.split("=", 1)[0].strip()
        field = error.field or ""
        if field == path or field.startswith(path + "."):
            return InputError(error.message, file=error.file, field=f"--set {item}")
    return error


def load(
    path: str | Path, what_ifs: list[str] | tuple = (), sets: list[str] | tuple = ()
) -> Loaded:
    """Read, merge defaults, apply what-ifs then ``--set`` in order, and validate."""
    file = str(path)
    data, lines, raw = read_yaml(path)
    if not isinstance(data, dict):
        raise InputError("a scenario file is a YAML mapping", file=file)
    data = merge_defaults(data)
    data = apply_overrides(data, file, list(what_ifs), list(sets))
    try:
        scenario = validate(data, file, lines)
    except InputErrors as exc:
        errors = [_blame_set(e, sets) for e in exc.errors]
        # one line per field: pydantic reports a value once per type of a union
        unique = list({(e.file, e.field, e.line): e for e in reversed(errors)}.values())[::-1]
        raise InputErrors(unique) from None
    return Loaded(
        scenario,
        data,
        file,
        hashlib.sha256(raw).hexdigest(),
        list(what_ifs),
        list(sets),
        raw.decode("utf-8"),
    )

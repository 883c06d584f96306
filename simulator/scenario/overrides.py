"""What-ifs and ``--set``: small, named changes to a scenario's raw data.

A path is dotted: ``clusters.appliances.growth.revenue`` (list items of clusters, targets and
categories are addressed by their ``id``), ``funds.budget``, ``targets.*.weight`` (``*`` means
every item). A path that names nothing is an error, never a silent no-op.

Operations, on a quantity's ``value`` (in the quantity's own unit) or on a plain number:

- ``set``: replace (a number replaces the value; a mapping replaces the whole entry);
- ``add``: add to the value (``-2`` on a growth rate in %/yr is "two points slower");
- ``scale``: multiply the value (``2`` on ``funds.budget`` doubles the fund).

A number changed this way is no longer the plan's or the statistic's: its provenance becomes
an ``assumption`` naming the what-if, and the old provenance is kept in ``was``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..units import DISPLAY
from .schema import LIMIT_KINDS

PROVENANCE_KEYS = ("plan", "statistic", "assumption")


class OverrideError(ValueError):
    """A path that names nothing, or a value that cannot be changed that way."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(message)


def _children(node: Any, key: str, path: str) -> Iterator[tuple[Any, Any]]:
    """(container, key) pairs that ``key`` names inside ``node``."""
    if isinstance(node, dict):
        if key == "*":
            yield from ((node, k) for k in node)
        elif key in node:
            yield node, key
        else:
            raise OverrideError(path, f"no field {key!r} here (has: {', '.join(map(str, node))})")
    elif isinstance(node, list):
        matched = False
        for i, item in enumerate(node):
            if key == "*" or (isinstance(item, dict) and str(item.get("id")) == key):
                matched = True
                yield node, i
        if not matched and key.isdigit() and int(key) < len(node):
            matched = True
            yield node, int(key)
        if not matched:
            ids = [str(item.get("id")) for item in node if isinstance(item, dict)]
            raise OverrideError(path, f"no item {key!r} (ids: {', '.join(ids)})")
    else:
        raise OverrideError(path, f"cannot go into {key!r}: not a mapping or list")


def locate(data: Any, path: str) -> list[tuple[Any, Any]]:
    """Every (container, key) the dotted ``path`` names in ``data``; error if none."""
    keys = [k for k in path.split(".") if k]
    if not keys:
        raise OverrideError(path, "empty path")
    frontier: list[tuple[Any, Any]] = [({"": data}, "")]
    for key in keys:
        frontier = [hit for parent, k in frontier for hit in _children(parent[k], key, path)]
        if not frontier:
            raise OverrideError(path, "names nothing")
    return frontier


def _locate_or_new(data: Any, path: str) -> list[tuple[Any, Any]]:
    """Like :func:`locate`, but ``set`` may add the last key to existing mappings (an optional
    field the file leaves out, e.g. ``targets.x.hard``). A misspelt key is then an unknown
    field for the schema, so nothing is ever silently ignored."""
    try:
        return locate(data, path)
    except OverrideError:
        head, _, last = path.rpartition(".")
        if not head or last == "*":
            raise
        parents = [parent[key] for parent, key in locate(data, head)]
        if not all(isinstance(p, dict) for p in parents):
            raise
        return [(p, last) for p in parents]


def _is_quantity(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node


def _retag(quantity: dict, note: str) -> None:
    old = next((f"{k}: {quantity[k]}" for k in PROVENANCE_KEYS if quantity.get(k)), None)
    for k in PROVENANCE_KEYS:
        quantity.pop(k, None)
    quantity["assumption"] = note
    if old and "was" not in quantity:
        quantity["was"] = old


def _numeric(value: Any, op: Callable[[float], float], path: str) -> Any:
    if isinstance(value, bool) or value is None:
        raise OverrideError(path, "is not a number")
    if isinstance(value, int | float):
        return op(value)
    if isinstance(value, list):
        return [_numeric(v, op, path) for v in value]
    if isinstance(value, dict):
        return {k: _numeric(v, op, path) for k, v in value.items()}
    raise OverrideError(path, "is not a number")


def _new_limit(path: str, value: Any, what: str) -> dict | None:
    """A bare number set on a limit the file leaves out (``--set limits.new_land=0`` on a plan
    that writes its new-land limit as share × quota) becomes that limit, in its display unit,
    with the what-if as its assumption. None for anything else."""
    head, _, name = path.partition(".")
    if head != "limits" or name not in LIMIT_KINDS or isinstance(value, bool):
        return None
    if not isinstance(value, int | float | list):
        return None
    return {"value": value, "unit": DISPLAY[LIMIT_KINDS[name]], "assumption": what}


def tree_copy(x: Any) -> Any:
    """A deep copy of YAML data (dicts, lists and immutable scalars): 10× faster than
    ``copy.deepcopy``, which at 1,000 clusters took half a second."""
    if isinstance(x, dict):
        return {k: tree_copy(v) for k, v in x.items()}
    if isinstance(x, list):
        return [tree_copy(v) for v in x]
    return x


def apply(
    data: dict,
    what: str,
    *,
    set_: dict | None = None,
    add: dict | None = None,
    scale: dict | None = None,
) -> dict:
    """A copy of ``data`` with the changes applied; ``what`` names them in provenance."""
    data = tree_copy(data)
    for path, value in (set_ or {}).items():
        for parent, key in _locate_or_new(data, path):
            node = parent.get(key) if isinstance(parent, dict) else parent[key]
            if _is_quantity(node) and not isinstance(value, dict) and value is not None:
                node["value"] = value
                _retag(node, what)
            elif node is None and (new := _new_limit(path, value, what)) is not None:
                parent[key] = new
            else:
                parent[key] = tree_copy(value)
    for table, op_of in ((add, lambda d: lambda v: v + d), (scale, lambda m: lambda v: v * m)):
        for path, amount in (table or {}).items():
            if isinstance(amount, bool) or not isinstance(amount, int | float):
                raise OverrideError(path, f"needs a number, got {amount!r}")
            for parent, key in locate(data, path):
                node = parent[key]
                if _is_quantity(node):
                    node["value"] = _numeric(node["value"], op_of(amount), path)
                    _retag(node, what)
                elif isinstance(node, dict) and "widths" in node:  # a pipeline: scale widths
                    node["widths"] = _numeric(node["widths"], op_of(amount), path)
                    _retag(node, what)
                else:
                    parent[key] = _numeric(node, op_of(amount), path)
    return data

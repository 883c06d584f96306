"""Units as planners write them, converted in one place to the canonical internal units.

Canonical internal units (chosen so the planners' ratio units come out with factor 1):

============  ==========  ==================================================
dimension     canonical   so that
============  ==========  ==================================================
money         亿元         (10⁸ CNY)
land          亩           (666.67 m²)
energy        万tce        energy / value added is in tce/万元 exactly
people        万人         value added / employment is in 万元/人 exactly
growth        1/yr        (a fraction per year: 6.5 %/yr → 0.065)
share         1           (a fraction: 22 % → 0.22)
============  ==========  ==================================================

Every conversion goes through :func:`factor`, backed by a pint registry in which the Chinese
unit names are defined, so ``公顷``, ``万元/亩`` or ``tce/万元`` need no hand-written table.
"""

from __future__ import annotations

import sys
from functools import lru_cache


def _import_pint():
    """Import pint with scipy and dask hidden. pint imports them only to interoperate with
    them (we do not): once scipy is imported, Pyomo's import hook pulls in scipy.stats
    (0.5–0.7 s and 20 MB on every run that never uses it); dask, where the ``distributed``
    extra is installed, costs 0.08 s and 10 MB more. Code that needs either imports it as
    usual, after this."""
    hidden = [name for name in ("scipy", "dask") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # an import of it now raises ImportError; find_spec: None
    try:
        import pint
    finally:
        for name in hidden:
            del sys.modules[name]
    return pint


pint = _import_pint()


def _registry() -> pint.UnitRegistry:
    """pint's default registry, its parsed definitions cached on disk (0.16 s → 0.02 s a run)."""
    try:
        return pint.UnitRegistry(autoconvert_offset_to_baseunit=True, cache_folder=":auto:")
    except Exception:  # a cache folder that cannot be written: parse the definitions again
        return pint.UnitRegistry(autoconvert_offset_to_baseunit=True)


_REGISTRY = _registry()
_DEFINITIONS = [
    "yuan = [currency] = 元 = CNY",
    "万元 = 1e4 * yuan = wan_yuan",
    "亿元 = 1e8 * yuan = yi_yuan",
    "mu = 10000 / 15 * meter ** 2 = 亩",
    "公顷 = hectare",
    "tce = [coal_equivalent] = 吨标准煤 = 吨标煤",
    "万tce = 1e4 * tce = 万吨标准煤 = 万吨标煤",
    "person = [people] = 人",
    "万人 = 1e4 * person",
    "count = [] = 个 = 家 = 台 = 项 = 条",
    "年 = year",
]
for _definition in _DEFINITIONS:
    _REGISTRY.define(_definition)

#: canonical unit of each kind of quantity the scenario format accepts
CANONICAL: dict[str, str] = {
    "money": "亿元",
    "land": "亩",
    "energy": "万tce",
    "people": "万人",
    "growth": "1/year",
    "share": "dimensionless",
    "ratio": "dimensionless",
    "count": "dimensionless",
    "intensity": "万tce/亿元",
    "money_per_land": "亿元/亩",
    "money_per_person": "亿元/万人",
    "years": "year",
}

#: how each canonical kind is usually displayed to a planner (and the factor from canonical)
DISPLAY: dict[str, str] = {
    "money": "亿元",
    "land": "亩",
    "energy": "万tce",
    "people": "万人",
    "growth": "%/yr",
    "share": "%",
    "ratio": "元/元",
    "count": "个",
    "intensity": "tce/万元",
    "money_per_land": "万元/亩",
    "money_per_person": "万元/人",
}


class UnitError(ValueError):
    """A unit that is unknown, or not of the kind the field needs."""


def _normalise(unit: str) -> str:
    text = unit.strip().replace("%", " percent ").replace("/yr", "/year")
    return text if text.strip() else "dimensionless"


@lru_cache(maxsize=512)
def factor(unit: str, kind: str) -> float:
    """Multiplier taking a value in ``unit`` to the canonical unit of ``kind``.

    Raises :class:`UnitError` with a one-line reason for an unknown unit or a unit of the
    wrong dimension (e.g. ``亩`` where money is expected).
    """
    if kind not in CANONICAL:
        raise UnitError(f"unknown kind of quantity {kind!r}")
    if unit in ("1", ""):
        unit = "dimensionless"
    try:
        quantity = _REGISTRY.Quantity(1.0, _normalise(unit))
    except pint.errors.UndefinedUnitError:
        raise UnitError(f"unknown unit {unit!r}") from None
    except Exception:  # pint raises several parser errors for malformed strings
        raise UnitError(f"cannot read unit {unit!r}") from None
    try:
        return float(quantity.to(CANONICAL[kind]).magnitude)
    except pint.errors.DimensionalityError:
        raise UnitError(
            f"unit {unit!r} is not a {kind} unit (expected something like {DISPLAY.get(kind, CANONICAL[kind])!r})"
        ) from None


def display_factor(kind: str) -> float:
    """Multiplier from canonical to the planner's display unit of ``kind``."""
    return 1.0 / factor(DISPLAY[kind], kind)

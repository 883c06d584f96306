"""Cross-reference checks a schema cannot express: ids, scopes, years, per-year lengths.

Each check yields ``(path, message)``; the loader turns them into errors naming file, field and
line. Paths are tuples of keys and list positions, as pydantic reports them.
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import indicators
from ..units import factor
from .schema import CLASSIFICATION_BASES, Quantity, Scenario

Problem = tuple[tuple, str]

#: relative rounding a scenario's own numbers may carry before a bound counts as broken
ROUNDING = 1e-9


def problems(s: Scenario) -> Iterator[Problem]:
    yield from _ids(s)
    yield from _groups(s)
    yield from _per_year_values(s)
    yield from _targets(s)
    yield from _funds(s)
    yield from _limits(s)
    yield from _exclusive_classifications(s)


def _duplicates(items: list[str]) -> set[str]:
    seen: set[str] = set()
    return {i for i in items if i in seen or seen.add(i)}


def _ids(s: Scenario) -> Iterator[Problem]:
    ids = [c.id for c in s.clusters]
    repeated = _duplicates(ids)
    for i, c in enumerate(s.clusters):
        if c.id in repeated:
            yield ("clusters", i, "id"), f"duplicate cluster id {c.id!r}"
        if c.id == "total" or c.id in s.groups:
            yield ("clusters", i, "id"), f"cluster id {c.id!r} clashes with a group or 'total'"
    tids = [t.id for t in s.targets]
    repeated = _duplicates(tids)
    for i, t in enumerate(s.targets):
        if t.id in repeated:
            yield ("targets", i, "id"), f"duplicate target id {t.id!r}"


def _groups(s: Scenario) -> Iterator[Problem]:
    ids = {c.id for c in s.clusters}
    for name, members in s.groups.items():
        if name == "total":
            yield ("groups", name), "'total' is reserved for the whole jurisdiction"
        if not members:
            yield ("groups", name), "a group needs at least one cluster"
        for m in members:
            if m not in ids:
                yield ("groups", name), f"unknown cluster {m!r}"


def _year_values(q: Quantity, years: list[int], path: tuple) -> Iterator[Problem]:
    """A per-year quantity: one number, one per year in order, or a year → value mapping."""
    v = q.value
    if isinstance(v, list) and len(v) != len(years):
        yield (
            (*path, "value"),
            f"needs one value per year {years[0]}–{years[-1]} ({len(years)}), got {len(v)}",
        )
    if isinstance(v, dict) and set(v) != set(years):
        missing = sorted(set(years) - set(v))
        extra = sorted(set(v) - set(years))
        detail = "; ".join(
            x
            for x in (f"missing {missing}" if missing else "", f"outside {extra}" if extra else "")
            if x
        )
        yield (*path, "value"), f"needs a value for each year {years[0]}–{years[-1]}: {detail}"


def _per_year_values(s: Scenario) -> Iterator[Problem]:
    plan_years = s.plan_years
    for i, c in enumerate(s.clusters):
        for name in type(c.growth).model_fields:
            q = getattr(c.growth, name)
            if q is not None:
                yield from _year_values(q, plan_years, ("clusters", i, "growth", name))
    for name in type(s.limits).model_fields:
        q = getattr(s.limits, name)
        if isinstance(q, Quantity):
            yield from _year_values(q, plan_years, ("limits", name))
    clearance = s.limits.land_clearance
    if clearance is not None:
        names = ["reuse_min_share"]
        if clearance.per == "year":
            names += ["released", "in_modelled_land"]
        for name in names:
            q = getattr(clearance, name)
            if q is not None:
                yield from _year_values(q, plan_years, ("limits", "land_clearance", name))
    if s.funds is not None:
        yield from _year_values(s.funds.budget, fund_years(s), ("funds", "budget"))
    if s.prices is not None:
        yield from _year_values(s.prices.deflator, plan_years, ("prices", "deflator"))
    if s.context is not None and s.context.gdp_growth is not None:
        yield from _year_values(s.context.gdp_growth, plan_years, ("context", "gdp_growth"))


def fund_years(s: Scenario) -> list[int]:
    return s.funds.years if s.funds and s.funds.years else s.plan_years


def cluster_ids_in(s: Scenario, scope: str, ids: set[str] | None = None) -> list[str] | None:
    """Cluster ids of a scope (a cluster id, a group name or ``total``), None if unknown.
    ``ids``: the scenario's cluster ids, when the caller asks about many scopes."""
    if scope == "total":
        return [c.id for c in s.clusters]
    if scope in s.groups:
        return list(s.groups[scope])
    ids = ids if ids is not None else {c.id for c in s.clusters}
    return [scope] if scope in ids else None


def _targets(s: Scenario) -> Iterator[Problem]:
    base, horizon = s.scenario.base_year, s.scenario.horizon
    by_id = {c.id: c for c in s.clusters}
    for i, t in enumerate(s.targets):
        path = ("targets", i)
        members = [t.scope] if t.scope in by_id else cluster_ids_in(s, t.scope, set(by_id))
        if members is None:
            yield (*path, "scope"), f"unknown scope {t.scope!r} (a cluster id, a group or 'total')"
            continue
        years = t.year if isinstance(t.year, list) else [t.year]
        for y in years:
            if not base <= y <= horizon:
                yield (*path, "year"), f"year {y} is outside the plan years {base}–{horizon}"
        if t.indicator == "new_land" and base in years:
            yield (*path, "year"), "new_land is not defined in the base year"
        if t.deadline == base:
            yield (*path, "year"), "a target year must come after the base year"
        if t.basis == "real" and s.prices is None:
            yield (
                (*path, "basis"),
                "basis: real needs a price path: add prices.deflator (the PPI's annual rate) to "
                "the scenario",
            )
        if t.of == "gdp" and (s.context is None or s.context.gdp is None):
            yield (
                (*path, "of"),
                "of: gdp needs a GDP path: add context.gdp (base-year GDP) and "
                "context.gdp_growth to the scenario",
            )
        if t.of is not None and t.level is not None:
            yield from _unit(t.level, "share", (*path, "level"))
        if t.growth is not None and t.indicator == "new_land":
            yield (*path, "growth"), "new_land targets take a level, not a growth rate"
        if any(m not in by_id for m in members):
            continue  # the group names an unknown cluster: reported under groups
        for need in indicators.needs(t.indicator):
            lacking = [m for m in members if getattr(by_id[m].baseline, need) is None]
            if lacking:
                yield (
                    (*path, "indicator"),
                    (f"{t.indicator} needs baseline.{need}, missing for {', '.join(lacking)}"),
                )
        kind = indicators.kind(t.indicator)
        if t.counted_by is not None:
            if t.indicator not in indicators.EXTENSIVE:
                yield (*path, "indicator"), "count targets take a level indicator (not a ratio)"
            if t.sense != ">=":
                yield (*path, "sense"), "count targets count clusters at or above a threshold"
            field = "count_over" if t.count_over is not None else "count_between"
            yield from _unit(t.counted_by, kind, (*path, field))
            yield from _unit(t.level, "count", (*path, "level"))
            if t.growth is not None:
                yield (*path, "growth"), "a count target gives a level"
        elif t.level is not None and t.of is None:
            yield from _unit(t.level, kind, (*path, "level"))


def _unit(q: Quantity | None, kind: str, path: tuple) -> Iterator[Problem]:
    if q is None:
        return
    try:
        factor(q.unit, kind)
    except ValueError as exc:
        yield (*path, "unit"), str(exc)


def _limits(s: Scenario) -> Iterator[Problem]:
    needs = {
        "new_land": "land",
        "energy_cap": "energy_intensity",
        "energy_intensity": "energy_intensity",
        "land_floor": "land",
        "new_land_share": "land",
        "new_land_quota": "land",
        "land_clearance": "land",
    }
    for name, field in needs.items():
        if getattr(s.limits, name) is not None and all(
            getattr(c.baseline, field) is None for c in s.clusters
        ):
            yield ("limits", name), f"no cluster has baseline.{field}, so this limit cannot apply"
    yield from _land_floor(s)
    yield from _new_land_quota(s)
    yield from _land_clearance(s)


def _new_land_quota(s: Scenario) -> Iterator[Problem]:
    """Share × quota is the new-land limit: half of it says nothing."""
    share, quota = s.limits.new_land_share, s.limits.new_land_quota
    if (share is None) != (quota is None):
        given, missing = (
            ("new_land_share", "new_land_quota")
            if quota is None
            else ("new_land_quota", "new_land_share")
        )
        yield (
            ("limits", given),
            f"limits.{missing} is needed too: the new-land limit is share × quota",
        )


def _land_clearance(s: Scenario) -> Iterator[Problem]:
    """Released land is room beyond a new-land limit, kept in part for named key clusters."""
    c = s.limits.land_clearance
    if c is None:
        return
    path = ("limits", "land_clearance")
    known = {cl.id for cl in s.clusters} | set(s.groups)
    for k in c.key:
        if k not in known:
            yield (*path, "key"), f"unknown cluster or group {k!r}"
    if c.in_modelled_land is not None:
        inside = c.in_modelled_land.values()
        released = c.released.values()
        if len(released) == 1:
            released = released * len(inside)
        to_r = factor(c.released.unit, "land")
        to_i = factor(c.in_modelled_land.unit, "land")
        if len(inside) == len(released) and any(
            i * to_i > r * to_r * (1 + ROUNDING) for i, r in zip(inside, released, strict=True)
        ):
            yield (
                (*path, "in_modelled_land"),
                "is more than the land released: it is the part of the released land the "
                "clusters' own land already gives up",
            )
    if s.limits.new_land is None and s.limits.new_land_share is None:
        yield (
            path,
            "released land is room beyond the new-land limit: give limits.new_land (0 if the "
            "plan allows none) or limits.new_land_share with limits.new_land_quota",
        )


def _land_floor(s: Scenario) -> Iterator[Problem]:
    """A floor on the land stock above the stock the clusters hold in the base year: 改一补一
    keeps the stock, it does not create land."""
    q = s.limits.land_floor
    if q is None:
        return
    stock = sum(
        c.baseline.land.value * factor(c.baseline.land.unit, "land")
        for c in s.clusters
        if c.baseline.land is not None
    )
    floor = max(q.values()) * factor(q.unit, "land")
    if floor > stock * (1 + ROUNDING):
        yield (
            ("limits", "land_floor"),
            f"the floor ({floor:,.0f}亩) is above the clusters' land stock in the base year "
            f"({stock:,.0f}亩)",
        )


def _fund_total(s: Scenario) -> Iterator[Problem]:
    """A total below what the annual rules force to be spent (minimum shares) cannot hold."""
    f = s.funds
    if f.total is None:
        return
    years = fund_years(s)
    budget = f.budget.value
    if isinstance(budget, dict):
        per_year = [float(budget.get(y, 0.0)) for y in years]
    elif isinstance(budget, list):
        per_year = [float(b) for b in budget]
    else:
        per_year = [float(budget)] * len(years)
    to_budget = factor(f.budget.unit, "money")
    share_of = lambda b: (b.min or 0.0) * factor(b.unit, "share") if b else 0.0  # noqa: E731
    least = max(
        sum(share_of(b) for b in f.shares.values()),
        sum(share_of(c.share) for c in f.categories),
    )
    needed = least * sum(per_year) * to_budget
    total = f.total.value * factor(f.total.unit, "money")
    if needed > total * (1 + ROUNDING):
        yield (
            ("funds", "total"),
            f"the total ({total / to_budget:g} {f.budget.unit}) is smaller than the per-year "
            f"minimums the shares force ({needed / to_budget:g} {f.budget.unit})",
        )


def _funds(s: Scenario) -> Iterator[Problem]:
    f = s.funds
    if f is None:
        return
    ids = {c.id for c in s.clusters}
    by_id = {c.id: c for c in s.clusters}
    for y in fund_years(s):
        if y not in s.plan_years:
            yield ("funds", "years"), f"fund year {y} is outside the plan years"
    yield from _fund_total(s)
    for i, c in enumerate(f.eligible or []):
        if c not in ids:
            yield ("funds", "eligible", i), f"unknown cluster {c!r}"
        elif by_id[c].response is None:
            yield ("funds", "eligible", i), f"cluster {c!r} is eligible but has no response"
    eligible = set(f.eligible) if f.eligible is not None else ids
    for c in f.shares:
        if c not in ids:
            yield ("funds", "shares", c), f"unknown cluster {c!r}"
        elif c not in eligible:
            yield ("funds", "shares", c), f"cluster {c!r} is not eligible for the fund"
    if f.eligible is None:
        for i, c in enumerate(s.clusters):
            if c.response is None:
                yield (
                    ("clusters", i, "response"),
                    (
                        "every cluster is eligible (funds.eligible not given), so a response is needed"
                    ),
                )
    cat_ids = [c.id for c in f.categories]
    for i, c in enumerate(f.categories):
        if c.id in _duplicates(cat_ids):
            yield ("funds", "categories", i, "id"), f"duplicate category id {c.id!r}"


def _exclusive_classifications(s: Scenario) -> Iterator[Problem]:
    """Classifications declared exclusive: their shares of a cluster's VA (or output) add up to
    at most 100 % in the base year and every plan year (each share drifts at its own rate)."""
    if s.classifications is None:
        return
    years = s.years
    for j, ex in enumerate(s.classifications.exclusive):
        for i, c in enumerate(s.clusters):
            given = [f for f in ex.shares if getattr(c.baseline, f) is not None]
            if len(given) < 2:
                continue
            total = [0.0] * len(years)
            for f in given:
                q = getattr(c.baseline, f)
                level = q.value * factor(q.unit, "share")
                drift = getattr(c.growth, f)
                rates = [0.0] * len(years)
                if drift is not None:
                    v = drift.value
                    g = factor(drift.unit, "growth")
                    per = (
                        [v.get(y, 0.0) for y in years[1:]]
                        if isinstance(v, dict)
                        else list(v)
                        if isinstance(v, list)
                        else [v] * (len(years) - 1)
                    )
                    if len(per) != len(years) - 1:
                        continue  # reported by _per_year_values
                    rates[1:] = [x * g for x in per]
                for t, r in enumerate(rates):
                    level *= 1.0 + r
                    total[t] += level
            over = [t for t in range(len(years)) if total[t] > 1.0 + ROUNDING]
            if over:
                worst = over[0]  # the first year the shares add up to more than all of it
                yield (
                    ("clusters", i, "baseline", given[0]),
                    f"with {', '.join(given[1:])} (declared exclusive in "
                    f"classifications.exclusive[{j}]) the shares of {c.id}'s "
                    f"{CLASSIFICATION_BASES[given[0]]} add up to {total[worst]:.1%} in "
                    f"{years[worst]}, over 100 %",
                )

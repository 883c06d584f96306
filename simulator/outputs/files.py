"""Result tables and files. Everything is written to a temporary folder and renamed into place,
so a results folder is either complete or absent, never half-written.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .. import __version__, indicators
from ..core.projection import Projection, available, cluster_values, scope_values
from ..core.targets import Ledger, display
from ..scenario.arrays import ScenarioArrays
from ..units import DISPLAY, display_factor, factor


def projection_frame(p: Projection, a: ScenarioArrays) -> pd.DataFrame:
    """Long table ``cluster, indicator, year, value, unit`` (+ ``sample`` when n > 1).

    Clusters, then the jurisdiction total as cluster ``total`` (where every cluster has the
    indicator); values in display units. With a fund, the grant and the investment it
    mobilises are included per fundable cluster, in the fund's unit.
    """
    n, nc, nt = p.primary["revenue"].shape
    everyone = np.arange(nc)
    blocks = []  # (labels (m,), indicator, unit, values (n, m, t))
    for name in indicators.ALL:
        ok = available(a, name)
        if not ok.any():
            continue
        kind = indicators.kind(name)
        values = cluster_values(p, name)[:, ok, :]
        labels = [cid for cid, keep in zip(a.cluster_ids, ok, strict=True) if keep]
        if ok.all():
            values = np.concatenate([values, scope_values(p, name, everyone)[:, None, :]], 1)
            labels.append("total")
        blocks.append((labels, name, DISPLAY[kind], values * display_factor(kind)))
    if p.grant.any():
        money = 1 / factor(a.fund_unit, "money")
        labels = [cid for cid, f in zip(a.cluster_ids, a.fundable, strict=True) if f]
        for name, arr in (("grant", p.grant.sum(axis=2)), ("mobilised_investment", p.mobilised)):
            values = np.broadcast_to(arr[a.fundable] * money, (n, len(labels), nt))
            blocks.append((labels, name, a.fund_unit, values))
    frames = [_long(*block, np.asarray(p.years)) for block in blocks]
    df = pd.concat(frames, ignore_index=True).dropna(subset=["value"])
    return df.drop(columns="sample") if n == 1 else df


def _long(
    labels: list[str], indicator: str, unit: str, values: np.ndarray, years: np.ndarray
) -> pd.DataFrame:
    """(n, m, t) values → long rows ordered by sample, label, year."""
    n, m, nt = values.shape
    return pd.DataFrame(
        {
            "cluster": np.tile(np.repeat(np.asarray(labels, dtype=object), nt), n),
            "indicator": indicator,
            "year": np.tile(years, n * m),
            "value": values.reshape(-1),
            "unit": unit,
            "sample": np.repeat(np.arange(n), m * nt),
        }
    )


def targets_frame(
    led: Ledger, years: np.ndarray, movable: np.ndarray | None = None, sample: int = 0
) -> pd.DataFrame:
    """One row per target: the contract columns first, then details."""
    rows = []
    for j, spec in enumerate(led.specs):
        req, unit = display(spec, led.required[j, sample])
        proj, _ = display(spec, led.projected[j, sample])
        stretch, _ = display(spec, led.stretch_required[j, sample])
        first = led.first_met[j, sample]
        rows.append(
            {
                "target_id": spec.id,
                "indicator": spec.indicator,
                "scope": spec.scope,
                "year": int(years[spec.t]),
                "required": req,
                "projected": proj,
                "gap": proj - req,
                "met": bool(led.met[j, sample]),
                "unit": unit,
                "provenance": spec.provenance,
                "name": spec.name,
                "sense": ">=" if spec.sense > 0 else "<=",
                "gap_rel": (proj - req) / abs(req) if req else np.nan,
                "shortfall_rel": led.shortfall[j, sample],
                "stretch": stretch,
                "stretch_met": bool(led.stretch_met[j, sample]) if not np.isnan(stretch) else None,
                "first_met_year": int(years[first]) if first >= 0 else None,
                "earliest_year": int(years[spec.first_t]),
                "weight": spec.weight,
                "fund_can_move": None if movable is None else bool(movable[j]),
            }
        )
    df = pd.DataFrame(rows)
    for col in ("first_met_year", "earliest_year"):
        df[col] = df[col].astype("Int64")
    return df


def format_number(x: float) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "—"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.1f}"
    if ax >= 1:
        return f"{x:.2f}"
    return f"{x:.4f}"


def targets_table(df: pd.DataFrame) -> str:
    """A plain-text table of targets for the terminal."""
    head = ["target", "year", "required", "projected", "gap", "unit", "met"]
    body = [
        [
            r.target_id,
            str(r.year),
            format_number(r.required),
            format_number(r.projected),
            ("+" if r.gap > 0 else "") + format_number(r.gap),
            r.unit,
            "yes" if r.met else "NO",
        ]
        for r in df.itertuples()
    ]
    return render(head, body, right={2, 3, 4})


def render(head: list[str], body: list[list[str]], right: set[int] = frozenset()) -> str:
    def width(s: str) -> int:  # CJK characters take two columns
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)

    cols = [max(width(r[i]) for r in [head, *body]) for i in range(len(head))]

    def line(cells):
        out = []
        for i, cell in enumerate(cells):
            pad = " " * (cols[i] - width(cell))
            out.append(pad + cell if i in right else cell + pad)
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * c for c in cols)
    return "\n".join([line(head), rule, *(line(r) for r in body)])


# --------------------------------------------------------------------------- files


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it replaces ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
    tmp.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_yaml(path: Path, data: dict) -> None:
    """Safe YAML with libyaml's emitter when available (30× faster on large scenarios)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(data, Dumper=dumper, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(text, encoding="utf-8")


def write_json(path: Path, data: dict) -> None:
    path.write_text(
        json.dumps(data, ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8"
    )


def _json_default(o):
    if isinstance(o, np.integer | np.bool_):
        return o.item()
    if isinstance(o, np.floating):
        return None if np.isnan(o) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))


def write_scenario_record(folder: Path, loaded, settings: dict, timings: dict) -> None:
    """``scenario.resolved.yaml`` and ``manifest.json``: what every results folder holds.
    Unchanged by what-ifs or ``--set``, the resolved scenario is the file itself, comments kept."""
    if loaded.what_ifs or loaded.sets or not loaded.text:
        write_yaml(folder / "scenario.resolved.yaml", loaded.resolved)
    else:
        (folder / "scenario.resolved.yaml").write_text(loaded.text, encoding="utf-8")
    write_json(folder / "manifest.json", manifest(loaded, settings, timings))


def write_run_files(
    folder: Path,
    p: Projection,
    a: ScenarioArrays,
    targets: pd.DataFrame,
    loaded,
    settings: dict,
    timings: dict,
) -> None:
    """The run files: projection.csv, targets.csv, scenario.resolved.yaml, manifest.json."""
    projection_frame(p, a).to_csv(folder / "projection.csv", index=False)
    targets.to_csv(folder / "targets.csv", index=False)
    write_scenario_record(folder, loaded, settings, timings)


def manifest(loaded, settings: dict, timings: dict) -> dict:
    return {
        "package": "industrial-target-simulator",
        "version": __version__,
        "scenario_file": loaded.file,
        "scenario_sha256": loaded.sha256,
        "scenario_id": loaded.scenario.scenario.id,
        "what_ifs": loaded.what_ifs,
        "sets": loaded.sets,
        "settings": settings,
        "timings_seconds": {k: round(v, 6) for k, v in timings.items()},
    }

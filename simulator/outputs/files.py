"""The run folder: every file a command writes, written into a temporary folder that is renamed
into place, so a results folder is either complete or absent, never half-written.

One writer per command (:func:`write_run`, :func:`write_optimise`, :func:`write_compare`,
:func:`write_sweep`), all made from the typed results of :mod:`simulator.runs` through the
tables of :mod:`.tables`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .. import __version__
from . import tables
from .table import Table, missing

#: Every CSV a command writes is UTF-8 with a byte-order mark, set in this one place: Excel as
#: installed in China reads a CSV without a BOM as GBK and garbles its Chinese; with the BOM it
#: opens it as UTF-8. pandas, and the csv module with ``encoding="utf-8-sig"``, read it back.
CSV_ENCODING = "utf-8-sig"


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


def default_out(loaded, command: str, objective: str | None = None) -> Path:
    """``results/<scenario>+<command>[-<objective>][+<what-ifs>][+set-<hash>]``: runs with
    different commands, objectives, what-ifs or ``--set`` never share a folder."""
    name = loaded.scenario.scenario.id + f"+{command}" + (f"-{objective}" if objective else "")
    name += "".join(f"+{Path(w).stem}" for w in loaded.what_ifs)
    if loaded.sets:
        digest = hashlib.sha1("\n".join(loaded.sets).encode("utf-8")).hexdigest()[:6]
        name += f"+set-{digest}"
    return Path("results") / name


#: rows formatted at a time (bounds the strings a large table holds at once to a few MB)
CSV_CHUNK = 8192


def write_csv(path: Path, df, **options) -> None:
    """The one writer of CSVs (:data:`CSV_ENCODING`). A :class:`.table.Table` (or an iterable
    of Tables with the same columns, written one after the other), or a DataFrame of plain
    columns (text, whole numbers, floats, booleans), is formatted here, field by field as
    pandas would write it (floats at full precision, NaN and missing values as an empty
    field, text quoted where it must be), in chunks of :data:`CSV_CHUNK` rows — twice as fast
    on the 90,000 rows of a 1,000-cluster projection; any other DataFrame by pandas."""
    if isinstance(df, Table):
        df = [df]
    elif hasattr(df, "to_csv"):  # a DataFrame
        columns = None if options else _plain_columns(df)
        if columns is None:
            df.to_csv(path, index=False, encoding=CSV_ENCODING, **options)
            return
        with open(path, "w", encoding=CSV_ENCODING, newline="") as f:
            f.write(_header(list(df.columns)))
            _write_rows(f, columns, len(df))
        return
    with open(path, "w", encoding=CSV_ENCODING, newline="") as f:
        names = None
        for part in df:
            if names is None:
                names = part.names
                f.write(_header(names))
            if part.names != names:
                raise ValueError(f"{path}: parts with different columns")
            _write_rows(f, [_table_column(part, name) for name in names], len(part))


def _header(names: list) -> str:
    return ",".join(_quoted(str(name)) for name in names) + "\n"


def _write_rows(f, columns: list[tuple[Callable, Any]], n: int) -> None:
    """``n`` rows of (formatter, values) columns, :data:`CSV_CHUNK` at a time."""
    for first in range(0, n, CSV_CHUNK):
        fields = [fmt(values[first : first + CSV_CHUNK]) for fmt, values in columns]
        if len(fields) == 1:  # an empty field alone on its line is quoted, as pandas does
            fields = [['""' if v == "" else v for v in fields[0]]]
        f.write("".join(",".join(row) + "\n" for row in zip(*fields, strict=True)))


def _quoted(text: str) -> str:
    """A CSV field quoted as pandas quotes it (a comma, a quote or a line break)."""
    if any(ch in text for ch in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _table_column(t: Table, name: str) -> tuple[Callable, Any]:
    """(formatter of a slice into CSV fields, values) of a Table's column, by its kind."""
    kind, col = t.kind(name), t[name]
    if kind == "float":
        return _float_fields, np.asarray(
            col if isinstance(col, np.ndarray) else t.values(name), float
        )
    if kind in ("int", "bool"):
        return _whole_fields, col if isinstance(col, np.ndarray) else np.asarray(t.values(name))
    values = col if isinstance(col, np.ndarray) else t.values(name)
    if all(isinstance(v, str) for v in values):
        quoted = {v: _quoted(v) for v in set(values)}
        return (lambda part, quoted=quoted: [quoted[v] for v in part]), values
    return _object_fields, list(values)


def _object_fields(part) -> list[str]:
    """Fields of mixed values: empty when missing, text quoted, anything else as ``str``."""
    return ["" if missing(v) else _quoted(v) if isinstance(v, str) else str(v) for v in part]


def _plain_columns(df) -> list[tuple[Callable, Any]] | None:
    """(formatter of a slice into CSV fields, values) per column of a DataFrame, or None when
    a column is not plain."""
    import pandas as pd

    out = []
    for name in df.columns:
        col = df[name]
        kind = col.dtype.kind
        if col.dtype == np.float64:
            out.append((_float_fields, col.to_numpy()))
        elif kind in "ib" and not isinstance(col.dtype, pd.api.extensions.ExtensionDtype):
            out.append((_whole_fields, col.to_numpy()))
        elif kind == "O":
            values = col.tolist()
            if not all(isinstance(v, str) for v in values):
                return None
            quoted = {v: _quoted(v) for v in set(values)}
            out.append((lambda part, quoted=quoted: [quoted[v] for v in part], values))
        else:
            return None
    return out


def _float_fields(part: np.ndarray) -> list[str]:
    return ["" if v != v else repr(v) for v in part.tolist()]  # NaN → an empty field


def _whole_fields(part: np.ndarray) -> list[str]:
    return [str(v) for v in part.tolist()]


def write_yaml(path: Path, data: dict) -> None:
    """Safe YAML with libyaml's emitter when available (30× faster on large scenarios)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(data, Dumper=dumper, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(text, encoding="utf-8")


def to_json(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_json_default)


def write_json(path: Path, data: dict) -> None:
    path.write_text(to_json(data), encoding="utf-8")


def _json_default(o):
    if isinstance(o, np.integer | np.bool_):
        return o.item()
    if isinstance(o, np.floating):
        return None if np.isnan(o) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    pandas = sys.modules.get("pandas")
    if pandas is not None and o is pandas.NA:
        return None
    raise TypeError(type(o))


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
        "timings_seconds": {k: round(v, 6) for k, v in timings.items() if v is not None},
    }


def write_scenario_record(folder: Path, loaded, settings: dict, timings: dict) -> None:
    """``scenario.resolved.yaml`` and ``manifest.json``: what every results folder holds.
    Unchanged by what-ifs or ``--set``, the resolved scenario is the file itself, comments kept."""
    if loaded.what_ifs or loaded.sets or not loaded.text:
        write_yaml(folder / "scenario.resolved.yaml", loaded.resolved)
    else:
        (folder / "scenario.resolved.yaml").write_text(loaded.text, encoding="utf-8")
    write_json(folder / "manifest.json", manifest(loaded, settings, timings))


def _run_files(folder: Path, prep, p, targets: Table, settings: dict, timings: dict):
    """projection.csv, targets.csv, scenario.resolved.yaml, manifest.json."""
    write_csv(folder / "projection.csv", tables.projection_parts(p, prep.arrays))
    write_csv(folder / "targets.csv", targets)
    write_scenario_record(folder, prep.loaded, settings, timings)


# --------------------------------------------------------------------------- per command


def write_run(out: Path, res) -> None:
    a = res.prepared.arrays
    with atomic_dir(out) as tmp:
        settings = {"command": "run", "allocation": res.allocation}
        _run_files(
            tmp,
            res.prepared,
            res.projection,
            tables.targets_frame(res.ledger, a.years),
            settings,
            res.timings,
        )
        write_csv(tmp / "limits.csv", tables.limits_frame(res.rules))


def write_optimise(out: Path, res, export: Callable[[Path], None] | None = None) -> None:
    from .records import solver_document

    opt, a = res.opt, res.prepared.arrays
    with atomic_dir(out) as tmp:
        targets = tables.targets_frame(opt.ledger, a.years, opt.movable)
        settings = {"command": "optimise", "objective": opt.objective_name}
        _run_files(tmp, res.prepared, opt.projection, targets, settings, opt.timings)
        write_allocation(tmp / "allocation.csv", opt.grant, a)
        write_csv(tmp / "marginal.csv", tables.marginal_frame(res.marginals))
        write_csv(tmp / "limits.csv", tables.limits_frame(opt_rules(res)))
        write_json(tmp / "solver.json", solver_document(res))
        if export is not None:
            export(tmp)


def opt_rules(res):
    from ..core.limits import check_rules

    opt = res.opt
    return check_rules(res.prepared.arrays, opt.grant, opt.projection)


def write_allocation(path: Path, grant: np.ndarray, a) -> None:
    """``allocation.csv`` at full precision (the shortest repr that reads back to the same
    float), so ``run --allocation`` reproduces the optimiser's projection exactly."""
    write_csv(path, tables.allocation_frame(grant, a), float_format=None)


def write_compare(out: Path, res, extra: Callable[[Path], None] | None = None) -> None:
    """``extra(folder)`` writes more files into the folder before it is renamed into place."""
    from .records import comparison_frame

    with atomic_dir(out) as tmp:
        write_csv(tmp / "comparison.csv", comparison_frame(res))
        settings = {
            "command": "compare",
            "objective": res.objective,
            "allocations": [r.name for r in res.rows],
        }
        write_scenario_record(tmp, res.prepared.loaded, settings, {})
        if extra is not None:
            extra(tmp)


def write_sweep(
    out: Path, res, budget_spec: str, extra: Callable[[Path], None] | None = None
) -> None:
    """``extra(folder)`` writes more files into the folder before it is renamed into place."""
    from .records import sweep_frames

    summary, long = sweep_frames(res)
    with atomic_dir(out) as tmp:
        write_csv(tmp / "sweep.csv", summary)
        write_csv(tmp / "sweep_allocations.csv", long)
        if res.certainty:  # --samples: P(met) against the budget, and the cost of certainty
            write_csv(tmp / "sweep_probabilities.csv", tables.sweep_probabilities_frame(res))
            write_csv(tmp / "certainty.csv", tables.certainty_frame(res))
        settings = {"command": "sweep", "objective": res.objective, "budget": budget_spec}
        write_scenario_record(tmp, res.prepared.loaded, settings, {})
        if extra is not None:
            extra(tmp)


def write_failure(out: Path, error: Exception, save_model: Callable[[Path], None] | None) -> Path:
    """A run folder for an internal error: ``error.json`` and, when there is one, the model."""
    with atomic_dir(out) as tmp:
        write_json(tmp / "error.json", {"status": "internal_error", "message": str(error)})
        if save_model is not None:
            save_model(tmp / "model.mps")
    return out


def write_uncertain(out: Path, res, extra: Callable[[Path], None] | None = None) -> None:
    """probabilities.csv, fan.csv, uncertain.json (the --json document), the scenario record
    and the allocation evaluated (allocation.csv, when there is one)."""
    from .records import uncertain_record

    with atomic_dir(out) as tmp:
        write_csv(tmp / "probabilities.csv", tables.probabilities_frame(res))
        write_csv(tmp / "fan.csv", tables.fan_frame(res))
        if res.grant is not None:
            write_allocation(tmp / "allocation.csv", res.grant, res.prepared.arrays)
        write_json(tmp / "uncertain.json", uncertain_record(res, out))
        settings = {
            "command": "uncertain",
            "samples": res.distribution.samples,
            "seed": res.seed,
            "allocation": res.allocation,
        }
        write_scenario_record(tmp, res.prepared.loaded, settings, res.timings)
        if extra is not None:
            extra(tmp)


def write_sensitivity(out: Path, res, extra: Callable[[Path], None] | None = None) -> None:
    """sensitivity.csv, sensitivity.json (the --json document), the scenario record and the
    allocation evaluated (allocation.csv, when there is one)."""
    from .records import sensitivity_record

    with atomic_dir(out) as tmp:
        write_csv(tmp / "sensitivity.csv", tables.sensitivity_frame(res))
        if res.grant is not None:
            write_allocation(tmp / "allocation.csv", res.grant, res.prepared.arrays)
        write_json(tmp / "sensitivity.json", sensitivity_record(res, out))
        ix = res.indices
        settings = {
            "command": "sensitivity",
            "samples": ix.samples,
            "samples_requested": ix.samples_requested,
            "model_runs": ix.runs,
            "seed": res.seed,
            "allocation": res.allocation,
            "drivers": list(ix.groups),
        }
        write_scenario_record(tmp, res.prepared.loaded, settings, res.timings)
        if extra is not None:
            extra(tmp)


def write_robust(out: Path, res, export: Callable[[Path], None] | None = None) -> None:
    """``optimise --robust``: the optimise files for the robust allocation (targets.csv on the
    deterministic scenario), probabilities.csv and fan.csv in sample, out_of_sample.csv and
    solver.json."""
    from ..core.limits import check_rules
    from .records import robust_record

    opt, a = res.opt, res.prepared.arrays
    with atomic_dir(out) as tmp:
        targets = tables.targets_frame(opt.ledger, a.years)
        settings = {
            "command": "optimise",
            "robust": res.solver["samples"],
            "risk": res.solver["risk"],
        }
        settings["seed"] = res.solver["seed"]
        _run_files(tmp, res.prepared, opt.projection, targets, settings, opt.timings)
        write_allocation(tmp / "allocation.csv", opt.grant, a)
        write_csv(
            tmp / "limits.csv", tables.limits_frame(check_rules(a, opt.grant, opt.projection))
        )
        write_csv(tmp / "probabilities.csv", tables.probabilities_frame(res.in_sample))
        write_csv(tmp / "fan.csv", tables.fan_frame(res.in_sample))
        write_csv(tmp / "out_of_sample.csv", tables.out_of_sample_frame(res))
        write_json(tmp / "solver.json", robust_record(res)["solver"])
        if export is not None:
            export(tmp)

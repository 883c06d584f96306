"""Bad input is refused the same way everywhere.

The contract (see the CLI's docstring and :mod:`simulator.errors`): a malformed file, an unknown
field, a wrong unit, an impossible number, an allocation over budget… gets

- exactly ONE line on stderr that names the file (where a file is involved) and the field,
- exit code 2,
- no traceback,
- and no results: the ``--out`` folder does not exist afterwards.

Scenario variants are built from ``tests/data/tiny.yaml`` by one small mutation each (the
``MUTATIONS`` table); other bad inputs (raw files, what-ifs, ``--set``, allocation CSVs, command
options) are in the tables below it. A positive control checks the unmutated scenario runs and
writes its results, so the suite cannot pass vacuously.
"""

from __future__ import annotations

import copy
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from simulator.cli import main

TINY = Path(__file__).parent / "data" / "tiny.yaml"
BASE: dict = yaml.safe_load(TINY.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- helpers


def _walk(data: Any, path: str) -> tuple[Any, Any]:
    """(container, key) of a dotted path; list items by position (``clusters.0.baseline``)."""
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
    node = data
    for k in keys[:-1]:
        node = node[k]
    return node, keys[-1]


def put(path: str, value: Any) -> Callable[[dict], None]:
    def mutate(d: dict) -> None:
        parent, key = _walk(d, path)
        parent[key] = copy.deepcopy(value)

    return mutate


def drop(path: str) -> Callable[[dict], None]:
    def mutate(d: dict) -> None:
        parent, key = _walk(d, path)
        del parent[key]

    return mutate


def both(*mutations: Callable[[dict], None]) -> Callable[[dict], None]:
    def mutate(d: dict) -> None:
        for m in mutations:
            m(d)

    return mutate


def append_copy(path: str) -> Callable[[dict], None]:
    """Append a copy of the item at ``path`` to its list (a duplicate id)."""

    def mutate(d: dict) -> None:
        parent, key = _walk(d, path)
        parent.append(copy.deepcopy(parent[key]))

    return mutate


def write_scenario(tmp: Path, mutate: Callable[[dict], None] | None = None) -> Path:
    data = copy.deepcopy(BASE)
    if mutate:
        mutate(data)
    path = tmp / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def write_text(tmp: Path, name: str, text: str | bytes) -> Path:
    path = tmp / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- scenario mutations

#: (id, mutation of tiny.yaml's raw data, substrings the error line must contain); run by `run`
MUTATIONS: list = [
    ("unknown-top-level-field", put("colour", "red"), ("colour", "unknown field")),
    (
        "unknown-nested-field-in-baseline",
        put("clusters.0.baseline.widgets", {"value": 1, "unit": "亿元", "assumption": "x"}),
        ("clusters.alpha.baseline.widgets", "unknown field"),
    ),
    ("unknown-field-in-meta", put("scenario.author", "me"), ("scenario.author",)),
    ("number-without-provenance", drop("funds.budget.assumption"), ("funds.budget", "provenance")),
    (
        "number-with-two-provenances",
        put("funds.budget.plan", "预算2亿元"),
        ("funds.budget", "provenance"),
    ),
    (
        "unknown-unit",
        put("clusters.0.baseline.revenue.unit", "furlongs"),
        ("clusters.alpha.baseline.revenue", "furlongs"),
    ),
    (
        "unit-of-wrong-dimension",
        put("clusters.0.baseline.revenue.unit", "亩"),
        ("clusters.alpha.baseline.revenue", "亩"),
    ),
    ("negative-budget", put("funds.budget.value", -1), ("funds.budget", "negative")),
    (
        "negative-baseline",
        put("clusters.1.baseline.tax.value", -3),
        ("clusters.beta.baseline.tax", "negative"),
    ),
    (
        "non-numeric-value",
        put("clusters.0.baseline.revenue.value", "lots"),
        ("clusters.alpha.baseline.revenue",),
    ),
    (
        "growth-list-wrong-length",
        put("clusters.1.growth.revenue.value", [6, 7]),
        ("clusters.beta.growth.revenue", "one value per year"),
    ),
    (
        "budget-per-year-wrong-length",
        put("funds.budget.value", [1, 2, 3]),
        ("funds.budget", "one value per year"),
    ),
    ("target-scope-unknown", put("targets.0.scope", "gamma"), ("targets.alpha_rev.scope", "gamma")),
    ("target-year-outside-plan", put("targets.0.year", 2030), ("targets.alpha_rev.year", "2030")),
    (
        "target-needs-missing-baseline",
        drop("clusters.1.baseline.tax"),
        ("targets.tax_per_mu.indicator", "beta"),
    ),
    (
        "target-level-and-growth",
        put("targets.0.growth", {"value": 5, "unit": "%/yr", "assumption": "x"}),
        ("targets.alpha_rev", "level or growth"),
    ),
    (
        "target-level-wrong-unit",
        put("targets.0.level.unit", "亩"),
        ("targets.alpha_rev.level", "亩"),
    ),
    (
        "unknown-indicator",
        put("targets.0.indicator", "happiness"),
        ("targets.alpha_rev.indicator",),
    ),
    ("duplicate-cluster-id", append_copy("clusters.0"), ("clusters.alpha.id", "duplicate")),
    ("duplicate-target-id", append_copy("targets.0"), ("targets.alpha_rev.id", "duplicate")),
    ("group-unknown-cluster", put("groups.extra", ["alpha", "gamma"]), ("groups.extra", "gamma")),
    pytest.param(
        "group-used-by-target-names-unknown-cluster",
        put("groups.both", ["alpha", "gamma"]),
        ("groups.both", "gamma"),
    ),
    (
        "lag-shares-not-100",
        put("cluster_defaults.response.lag.value", [0, 50, 40]),
        ("clusters.alpha.response", "lag"),
    ),
    (
        "pipeline-slopes-increasing",
        put("cluster_defaults.response.pipeline.slopes", [0.5, 1.0]),
        ("clusters.alpha.response.pipeline", "increase"),
    ),
    pytest.param(
        "budget-nan",
        put("funds.budget.value", float("nan")),
        ("funds.budget",),
    ),
    pytest.param(
        "baseline-nan",
        put("clusters.0.baseline.revenue.value", float("nan")),
        ("clusters.alpha.baseline.revenue",),
    ),
    pytest.param(
        "scenario-id-escapes-results",
        put("scenario.id", "../evil"),
        ("scenario.id",),
    ),
    ("horizon-before-base-year", put("scenario.horizon", 2019), ("scenario", "horizon")),
    ("fund-year-outside-plan", put("funds.years", [2021, 2030]), ("funds.years", "2030")),
    (
        "fund-share-over-100",
        put("funds.shares.beta.max", 120),
        ("funds.shares.beta", "100%"),
    ),
    (
        "fund-share-unknown-cluster",
        put("funds.shares.gamma", {"max": 50, "assumption": "x"}),
        ("funds.shares.gamma", "gamma"),
    ),
    (
        "limit-wrong-dimension",
        put("limits.new_land.unit", "亿元"),
        ("limits.new_land", "亿元"),
    ),
    ("no-clusters", put("clusters", []), ("clusters",)),
    (
        "growth-missing-for-baseline",
        both(drop("cluster_defaults.growth.tax_rate")),
        ("clusters.alpha", "growth.tax_rate"),
    ),
]


# --------------------------------------------------------------------------- other bad input


@dataclass
class Case:
    """A bad invocation: ``build(tmp)`` → (CLI args without --out, the file the line must name)."""

    id: str
    build: Callable[[Path], tuple[list[str], Path | None]]
    expect: tuple[str, ...]
    marks: list = field(default_factory=list)


def scenario_text(name: str, text: str | bytes, expect: tuple[str, ...]) -> Case:
    def build(tmp: Path):
        path = write_text(tmp, name, text)
        return ["run", str(path)], path

    return Case(f"file-{name.split('.')[0]}", build, expect)


def with_args(
    id_: str, command: str, args: list[str], expect: tuple[str, ...], named: bool | str = True
) -> Case:
    """The unmutated scenario with extra arguments. ``named``: the line names the scenario
    file (True), no file (False: the problem is an option), or this other file (a name)."""

    def build(tmp: Path):
        path = write_scenario(tmp)
        file = path if named is True else (tmp / named if named else None)
        return [command, str(path), *args], file

    return Case(id_, build, expect)


def what_if_file(id_: str, spec: Any, expect: tuple[str, ...], names_what_if=False) -> Case:
    def build(tmp: Path):
        path = write_scenario(tmp)
        w = write_text(tmp, "whatif.yaml", yaml.safe_dump(spec, allow_unicode=True))
        return ["run", str(path), "--what-if", str(w)], w if names_what_if else path

    return Case(id_, build, expect)


ALLOCATION_HEADER = "cluster,year,amount\n"


def allocation(id_: str, csv_text: str, expect: tuple[str, ...], command: str = "run") -> Case:
    def build(tmp: Path):
        path = write_scenario(tmp)
        csv = write_text(tmp, "allocation.csv", csv_text)
        return [command, str(path), "--allocation", str(csv)], csv

    return Case(id_, build, expect)


UNSAFE = """\
scenario: !!python/object/apply:os.system ["echo pwned > pwned.txt"]
clusters: []
"""

CASES: list[Case] = [
    # ---- the file itself
    scenario_text("malformed.yaml", "scenario: {id: tiny\nclusters: [\n", ("malformed YAML",)),
    scenario_text("list.yaml", "- scenario\n- clusters\n", ("mapping",)),
    scenario_text("empty.yaml", "", ("mapping",)),
    scenario_text("latin1.yaml", "scenario: {id: caf\xe9}\n".encode("latin-1"), ("UTF-8",)),
    scenario_text("unsafe.yaml", UNSAFE, ("python/object",)),
    scenario_text("unsafe_object.yaml", "x: !!python/object:os.system {}\n", ("python/object",)),
    Case(
        "scenario-path-is-a-directory",
        lambda tmp: (["run", str(_mkdir(tmp / "scenario_dir"))], None),
        ("scenario_dir",),
        marks=[],
    ),
    Case(
        "missing-file",
        lambda tmp: (["run", str(tmp / "nowhere.yaml")], tmp / "nowhere.yaml"),
        ("no such file",),
    ),
    # ---- what-ifs and --set
    with_args("what-if-unknown-name", "run", ["--what-if", "nope"], ("what_ifs", "nope")),
    with_args(
        "what-if-missing-file",
        "run",
        ["--what-if", "nowhere.yaml"],
        ("no such file",),
        named="nowhere.yaml",
    ),
    with_args(
        "set-unknown-intermediate-key",
        "run",
        ["--set", "funds.nosuch.value=3"],
        ("--set funds.nosuch", "nosuch"),
    ),
    with_args(
        "set-unknown-cluster",
        "run",
        ["--set", "clusters.gamma.growth.revenue=5"],
        ("--set clusters.gamma", "gamma"),
    ),
    with_args(
        "set-unknown-leaf-key",
        "run",
        ["--set", "funds.budgett=5"],
        ("funds.budgett", "unknown field"),
    ),
    Case(
        "set-group-to-unknown-cluster",
        with_args("", "run", ["--set", "groups.both=[gamma]"], ()).build,
        ("groups.both", "gamma"),
        marks=[],
    ),
    with_args("set-without-equals", "run", ["--set", "funds.budget"], ("--set",), named=False),
    with_args("set-negative-budget", "run", ["--set", "funds.budget=-4"], ("funds.budget",)),
    what_if_file(
        "what-if-add-on-text-field",
        {"description": "add to a title", "add": {"scenario.title": 1}},
        ("scenario.title", "not a number"),
    ),
    what_if_file(
        "what-if-unknown-operation",
        {"description": "typo", "multiply": {"funds.budget": 2}},
        ("multiply",),
    ),
    what_if_file("what-if-file-is-a-list", ["funds.budget"], ("mapping",), names_what_if=True),
    # ---- allocation CSVs (run reads them, compare too)
    allocation(
        "csv-negative-amount", ALLOCATION_HEADER + "alpha,2021,-1\n", ("amount", "negative")
    ),
    allocation("csv-unknown-cluster", ALLOCATION_HEADER + "gamma,2021,1\n", ("cluster", "gamma")),
    allocation("csv-year-outside-fund", ALLOCATION_HEADER + "alpha,2023,1\n", ("year", "2023")),
    allocation("csv-missing-column", "cluster,year\nalpha,2021\n", ("header", "amount")),
    allocation(
        "csv-non-numeric-amount", ALLOCATION_HEADER + "alpha,2021,lots\n", ("amount", "lots")
    ),
    allocation("csv-non-numeric-year", ALLOCATION_HEADER + "alpha,twenty,1\n", ("year", "twenty")),
    allocation("csv-nan-amount", ALLOCATION_HEADER + "alpha,2021,nan\n", ("amount", "finite")),
    allocation("csv-short-row", ALLOCATION_HEADER + "alpha,2021\n", ("row 2",)),
    allocation("csv-unknown-column", "cluster,year,amount,colour\nalpha,2021,1,red\n", ("colour",)),
    allocation("csv-empty", "", ("empty",)),
    allocation(
        "csv-duplicate-row",
        ALLOCATION_HEADER + "alpha,2021,0.5\nalpha,2021,0.5\n",
        ("row 3", "duplicate"),
    ),
    allocation("csv-wrong-unit", "cluster,year,amount,unit\nalpha,2021,1,亩\n", ("unit", "亩")),
    allocation(
        "compare-csv-unknown-cluster",
        ALLOCATION_HEADER + "gamma,2021,1\n",
        ("cluster", "gamma"),
        command="compare",
    ),
    Case(
        "csv-missing-file",
        lambda tmp: (
            ["run", str(write_scenario(tmp)), "--allocation", str(tmp / "nowhere.csv")],
            tmp / "nowhere.csv",
        ),
        ("no such file",),
    ),
    # ---- command options
    with_args("sweep-budget-malformed", "sweep", ["--budget", "1:2"], ("--budget",), named=False),
    with_args(
        "sweep-budget-not-numbers", "sweep", ["--budget", "a:b:c"], ("--budget",), named=False
    ),
    with_args("sweep-budget-negative", "sweep", ["--budget", "-1:2:1"], ("--budget",), named=False),
    Case(
        "sweep-budget-infinite",
        with_args("", "sweep", ["--budget", "0:inf:1"], (), named=False).build,
        ("--budget",),
    ),
    with_args("sweep-budget-zero-step", "sweep", ["--budget", "0:2:0"], ("--budget",), named=False),
    with_args(
        "optimise-export-model-txt",
        "optimise",
        ["--export-model", "x.txt"],
        ("--export-model", ".mps"),
        named=False,
    ),
    Case(
        "optimise-without-fund",
        lambda tmp: (["optimise", str(write_scenario(tmp, drop("funds")))], tmp / "scenario.yaml"),
        ("funds",),
    ),
]


def mutation_case(row) -> Any:
    values, marks = (row.values, row.marks) if hasattr(row, "values") else (row, ())
    id_, mutate, expect = values

    def build(tmp: Path):
        return ["run", str(write_scenario(tmp, mutate))], tmp / "scenario.yaml"

    return pytest.param(Case(f"scenario-{id_}", build, expect), id=f"scenario-{id_}", marks=marks)


ALL: list = [mutation_case(row) for row in MUTATIONS] + [
    pytest.param(c, id=c.id, marks=c.marks) for c in CASES
]


# --------------------------------------------------------------------------- the contract


def invoke(args: list[str]):
    result = CliRunner().invoke(main, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        pytest.fail(
            "uncaught exception (a traceback for the planner):\n"
            + "".join(traceback.format_exception(*result.exc_info))
        )
    return result


def assert_refused(result, file: Path | None, expect: tuple[str, ...]) -> str:
    out = result.output + result.stderr
    assert "Traceback" not in out, out
    assert result.exit_code == 2, f"exit {result.exit_code}; output:\n{out}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), f"stderr is not one line:\n{result.stderr!r}"
    line = lines[0]
    assert line.startswith("error: "), line
    if file is not None:
        assert str(file) in line or file.name in line, f"file {file.name} not named: {line}"
    for s in expect:
        assert s in line, f"{s!r} not in: {line}"
    return line


@pytest.mark.parametrize("case", ALL)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(case: Case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # default results/ and relative paths land in tmp_path
    args, file = case.build(tmp_path)
    out = tmp_path / "out"
    result = invoke([*args, "--out", str(out)])
    assert_refused(result, file, case.expect)
    assert not out.exists(), f"{out} was written: {sorted(p.name for p in out.iterdir())}"
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "pwned.txt").exists()  # the unsafe tag was never executed
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")]
    assert not leftovers, f"temporary result folders left behind: {leftovers}"
    assert not (tmp_path / "x.txt").exists()


def test_unmutated_tiny_runs_and_writes_results(tmp_path, monkeypatch):
    """Positive control: the same helpers on the unmutated scenario succeed."""
    monkeypatch.chdir(tmp_path)
    path = write_scenario(tmp_path)
    out = tmp_path / "out"
    result = invoke(["run", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "error" not in result.stderr
    for name in ("projection.csv", "targets.csv", "scenario.resolved.yaml", "manifest.json"):
        assert (out / name).is_file(), name


def test_valid_allocation_runs(tmp_path, monkeypatch):
    """Positive control for the CSV cases: an allocation within the budget is accepted."""
    monkeypatch.chdir(tmp_path)
    path = write_scenario(tmp_path)
    csv = write_text(tmp_path, "allocation.csv", ALLOCATION_HEADER + "alpha,2021,1\nbeta,2022,1\n")
    out = tmp_path / "out"
    result = invoke(["run", str(path), "--allocation", str(csv), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "projection.csv").is_file()


def test_validate_lists_every_problem_one_line_each(tmp_path):
    """``validate`` may print several lines, but each is one problem naming file and field."""

    def mutate(d):
        put("funds.budget.value", -1)(d)
        put("targets.0.scope", "gamma")(d)
        put("colour", "red")(d)

    path = write_scenario(tmp_path, mutate)
    result = invoke(["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines and all(str(path) in line for line in lines), result.stderr
    assert any("colour" in line for line in lines), result.stderr


def test_validate_rejects_unsafe_tag(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_text(tmp_path, "unsafe.yaml", UNSAFE)
    result = invoke(["validate", str(path)])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "unsafe.yaml" in result.stderr
    assert not (tmp_path / "pwned.txt").exists()

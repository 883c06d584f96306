"""The package's architecture, checked by reading its source with ``ast`` (nothing is imported),
and one behaviour of it checked in a fresh process (which commands import pandas).

The rules are described in docs/architecture.md. Each failure lists the offending imports as
``module → imported (line N)``. Imports anywhere in a module count, lazy ones included.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import NamedTuple

PACKAGE = Path(__file__).resolve().parents[1] / "simulator"

#: layers in order, each with its names under simulator/: a module imports from its own or earlier
LAYERS = (
    ("vocabulary", {"__init__", "errors", "units", "indicators", "synth"}),
    ("scenario", {"scenario"}),
    ("core", {"core"}),
    ("uncertainty", {"uncertainty"}),
    ("allocation", {"allocation"}),
    ("runs", {"runs"}),
    ("outputs", {"outputs"}),
    ("cli", {"cli", "__main__"}),
)
RANK = {name: rank for rank, (_, names) in enumerate(LAYERS) for name in names}
#: functions and methods whose call reads or writes a file; modules whose import means file I/O
FILE_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "to_csv", "mkdir"}
FILE_CALLS |= {"savetxt", "loadtxt", "tofile", "fromfile", "savez", "savez_compressed"}
FILE_MODULES = {"yaml", "csv", "json", "os", "shutil", "tempfile", "io", "pickle", "pathlib"}


class Import(NamedTuple):
    module: str  # the importing module, e.g. simulator.core.limits
    target: str  # the imported module, relative imports resolved, e.g. simulator.scenario.arrays
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(module: str, tree: ast.AST, is_package: bool, known: set[str]) -> list[Import]:
    """Every import in ``tree``; ``from X import name`` imports X.name when that is a module."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append(Import(module, sub if sub in known else base, node.lineno))
    return found


def file_io_in(module: str, tree: ast.AST) -> list[Import]:
    """Calls that read or write files: ``open(...)`` and ``x.read_text(...)`` and the like."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in FILE_CALLS:
                found.append(Import(module, f"{name}()", node.lineno))
    return found


@cache
def package() -> tuple[dict[str, ast.AST], list[Import]]:
    paths = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    trees = {m: ast.parse(p.read_text(encoding="utf-8"), filename=str(p)) for m, p in paths.items()}
    found = []
    for m, tree in trees.items():
        found += imports_in(m, tree, paths[m].name == "__init__.py", set(paths))
    return trees, found


def within(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def rank(module: str) -> int | None:
    return RANK.get(module.split(".")[1] if "." in module else "__init__")


def layer_violations(imports: list[Import]) -> list[Import]:
    """Imports of a later layer (or from or of a module placed in no layer)."""
    ranks = [(i, rank(i.module), rank(i.target)) for i in imports if within(i.target, "simulator")]
    return [i for i, own, other in ranks if own is None or other is None or other > own]


def cycle_edges(imports: list[Import]) -> list[Import]:
    """Imports on a cycle: a → b where a can be reached again from b."""
    graph: dict[str, set[str]] = {}
    for i in imports:
        graph.setdefault(i.module, set()).add(i.target)
    reach = {}
    for start in {i.target for i in imports}:
        seen, stack = {start}, [start]
        while stack:
            new = graph.get(stack.pop(), set()) - seen
            seen |= new
            stack += new
        reach[start] = seen
    return [i for i in imports if i.module in reach[i.target]]


def a_cycle(edges: list[Import]) -> str:
    """The shortest cycle through the first edge, as ``a → b → … → a``."""
    first, paths = edges[0], {edges[0].target: [edges[0].module, edges[0].target]}
    queue = [first.target]
    while first.module not in paths:
        here = queue.pop(0)
        for i in edges:
            if i.module == here and i.target not in paths:
                paths[i.target] = [*paths[here], i.target]
                queue.append(i.target)
    return " → ".join(paths[first.module])


def listing(found: list[Import]) -> str:
    return "\n" + "\n".join(
        f"  {i.module} → {i.target} (line {i.line})" for i in sorted(set(found))
    )


def importers(tops: set[str]) -> list[Import]:
    return [i for i in package()[1] if i.target.split(".")[0] in tops]


def test_layers_import_only_from_their_own_or_earlier_layers():
    trees, imports = package()
    unplaced = sorted(m for m in trees if rank(m) is None)
    assert not unplaced, f"modules in no layer (add them to LAYERS): {unplaced}"
    bad = layer_violations(imports)
    order = " → ".join(name for name, _ in LAYERS)
    assert not bad, f"imports of a later layer ({order}):" + listing(bad)


def test_core_and_scenario_import_no_solver_cli_or_dataframes():
    heavy = {"pyomo", "highspy", "click", "pandas"}
    bad = [i for i in importers(heavy) if within(i.module, "simulator.core", "simulator.scenario")]
    assert not bad, f"core and scenario must not import {sorted(heavy)}:" + listing(bad)


def test_core_does_no_file_io():
    trees, _ = package()
    core = [m for m in trees if within(m, "simulator.core")]
    bad = [i for i in importers(FILE_MODULES) if i.module in core]
    bad += [call for m in core for call in file_io_in(m, trees[m])]
    assert not bad, "core is pure numpy, it reads and writes no files:" + listing(bad)


def test_only_the_cli_imports_click():
    bad = [i for i in importers({"click"}) if i.module != "simulator.cli"]
    assert not bad, "only simulator/cli.py may import click:" + listing(bad)


def test_only_the_allocation_model_imports_pyomo_or_highspy():
    bad = [
        i for i in importers({"pyomo", "highspy"}) if not within(i.module, "simulator.allocation")
    ]
    assert not bad, "only simulator/allocation/ may import pyomo or highspy:" + listing(bad)


def test_no_import_cycles():
    trees, imports = package()
    bad = cycle_edges([i for i in imports if i.target in trees])
    assert not bad, f"import cycles, e.g. {a_cycle(bad)}; the imports on cycles:" + listing(bad)


def test_the_checkers_catch_violations():
    """The checkers are not vacuous: they see imports, resolve them, and flag planted faults."""
    trees, imports = package()
    assert {"simulator.cli", "simulator.core.limits", "simulator.allocation.model"} <= trees.keys()
    assert ("simulator.__main__", "simulator.cli") in {(i.module, i.target) for i in imports}
    lazy = "from . import y\nfrom ..allocation.model import z\ndef f():\n    from .. import runs\n"
    known = {"simulator.core.y", "simulator.allocation.model", "simulator.runs"}
    found = imports_in("simulator.core.x", ast.parse(lazy), False, known)
    targets = ["simulator.core.y", "simulator.allocation.model", "simulator.runs"]
    assert [i.target for i in found] == targets
    assert layer_violations(found) == found[1:]
    io = file_io_in("m", ast.parse("open('a')\nPath('b').write_text('c')\nlen('d')"))
    assert [i.target for i in io] == ["open()", "write_text()"]
    ring = [Import("a", "b", 1), Import("b", "c", 2), Import("c", "a", 3), Import("c", "d", 4)]
    assert cycle_edges(ring) == ring[:3]
    assert a_cycle(ring[1:3] + ring[:1]) == "b → c → a → b"


def test_run_optimise_and_uncertain_import_no_pandas(tmp_path):
    """Their tables are outputs.table.Table: the commands write, print and emit JSON without
    pandas (0.2 s and 34 MiB of every run). A fresh process runs them and lists its modules."""
    import subprocess
    import sys

    cixi = PACKAGE.parent / "scenarios" / "cixi-2020.yaml"
    code = (
        "import sys\n"
        "from simulator.cli import main\n"
        "for argv in sys.argv[1:]:\n"
        "    try:\n"
        "        main(argv.split('|'), standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('pandas' in sys.modules, 'simulator.outputs.tables' in sys.modules)\n"
    )
    runs = [
        f"run|{cixi}|--out|{tmp_path / 'run'}",
        f"optimise|{cixi}|--json|--out|{tmp_path / 'opt'}",
        f"uncertain|{cixi}|--samples|256|--out|{tmp_path / 'unc'}",
    ]
    done = subprocess.run(
        [sys.executable, "-c", code, *runs], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "False True"
    assert (tmp_path / "opt" / "allocation.csv").exists()
    assert (tmp_path / "unc" / "probabilities.csv").exists()

"""The docs tell the truth about the code: equations, commands, files."""

from __future__ import annotations

import inspect

from simulator.allocation import model

from .conftest import ROOT

DOCS = ROOT / "docs"


def _equation_lines(f) -> list[str]:
    doc = inspect.getdoc(f)
    return [line.strip() for line in doc.splitlines() if "[" in line and ":" in line]


def test_formulation_page_matches_the_model_code():
    page = (DOCS / "optimisation.md").read_text(encoding="utf-8")
    for block in (
        model._response,
        model._pipeline_order,
        model._budget,
        model._limits,
        model._level_targets,
        model._count_targets,
        model._met_indicators,
        model._worst,
        model._aims,
    ):
        lines = _equation_lines(block)
        assert lines, block.__name__
        for line in lines:
            assert line in page, f"docs/optimisation.md lacks: {line}"


def test_every_constraint_family_is_documented():
    import pyomo.environ as pyo

    from simulator.allocation.problem import build_problem

    from .conftest import TINY, compiled, raw

    _, a, specs = compiled(raw(TINY))
    page = (DOCS / "optimisation.md").read_text(encoding="utf-8")
    cases = [(o, False, False) for o in model.OBJECTIVES] + [
        ("shortfall", True, False),
        ("shortfall", False, True),
    ]
    for objective, ordered, elastic in cases:
        m = model.build_model(
            build_problem(a, specs), objective, ordered_pipeline=ordered, elastic_budget=elastic
        )
        for con in m.component_objects(pyo.Constraint):
            assert f"{con.local_name}[" in page, con.local_name
        for aim in m.aims:
            assert f"{aim.local_name}:" in page, aim.local_name


def test_readme_quick_start_has_two_commands_and_ci_runs_the_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.strip().splitlines() if line.strip()]
    assert len(commands) == 2
    assert "simulator optimise scenarios/" in commands[0]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].strip() in ci.splitlines()


def test_every_robust_family_is_documented():
    """The robust model's families and aims, for each risk measure and with ordered cells,
    are named on docs/uncertainty.md, and its docstring equations are there verbatim."""
    import numpy as np
    import pyomo.environ as pyo

    from simulator import runs
    from simulator.allocation import robust_model
    from simulator.allocation.problem import build_problem
    from simulator.allocation.robust_problem import build_robust
    from simulator.uncertainty.sampling import future
    from simulator.uncertainty.spec import compile_spec

    from .conftest import ROOT

    page = (DOCS / "uncertainty.md").read_text(encoding="utf-8")
    for block in (robust_model, robust_model._steps, robust_model._order_steps):
        for line in _equation_lines(block):
            assert line in page, f"docs/uncertainty.md lacks: {line}"
    # the deterministic model's families are on optimisation.md
    page += (DOCS / "optimisation.md").read_text(encoding="utf-8")
    prep = runs.prepare(ROOT / "scenarios" / "cixi-2020.yaml")
    a, specs = prep.arrays, prep.specs
    f = future(compile_spec(prep.loaded.scenario.uncertainty), a.n_clusters, a.n_years, 1, 0, 6)
    rp = build_robust(build_problem(a, specs), specs, f)
    cells = np.array([[0, 0], [1, 2]])
    for risk, level in (("expected", None), ("cvar", 0.9), ("chance", 0.5)):
        m = robust_model.build_robust_model(rp, risk, level, ordered=cells)
        for con in m.component_objects(pyo.Constraint):
            assert f"{con.local_name}[" in page or f"{con.local_name}:" in page, con.local_name
        for aim in m.aims:
            assert f"{aim.local_name}:" in page, aim.local_name

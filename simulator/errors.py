"""Errors a planner can act on. The CLI turns each into one line and its exit code:

=====  =====================================================================
code   meaning
=====  =====================================================================
0      done
2      bad input: a file, field, option, sheet or cell is wrong (nothing written)
3      infeasible: the hard constraints cannot all hold (the conflict is named)
4      stopped before optimal: a time limit ran out (the best allocation found is kept)
70     internal error: a check of the tool's own result failed — a bug, please report
=====  =====================================================================
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Base class: a message meant for the planner, never a traceback."""

    exit_code = 1


class InputError(SimulatorError):
    """Bad input: a malformed file, an unknown field, a wrong unit, an over-budget allocation.

    ``file`` and ``field`` name where the problem is; ``line`` when it is known.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ):
        self.message = message
        self.file = file
        self.field = field
        self.line = line
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = self.file or ""
        if self.line is not None and where:
            where += f":{self.line}"
        parts = [p for p in (where, self.field) if p]
        return ": ".join([*parts, self.message])


class InputErrors(InputError):
    """Several input problems found at once (``simulator validate`` lists them all)."""

    def __init__(self, errors: list[InputError]):
        self.errors = errors
        first = errors[0]
        super().__init__(first.message, file=first.file, field=first.field, line=first.line)

    def one_line(self) -> str:
        more = len(self.errors) - 1
        head = self.errors[0].one_line()
        return head + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


class InfeasibleError(SimulatorError):
    """The hard constraints of an allocation cannot all hold.

    ``conflicts``: the rows of an irreducible infeasible set, each ``{"field", "name", "year"}``
    in scenario terms; ``smallest_budget``: {year: budget in the fund's unit} (and ``"total"``
    for a fund with a total) that makes it
    feasible (verified by a solve), or None when more money does not help or was not tried.
    """

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        conflicts: list[dict] | None = None,
        smallest_budget: dict | None = None,
        unit: str | None = None,
    ):
        self.conflicts = conflicts or []
        self.smallest_budget = smallest_budget
        self.unit = unit
        super().__init__(message)

    def record(self) -> dict:
        return {
            "status": "infeasible",
            "message": str(self),
            "conflicts": self.conflicts,
            "smallest_budget": self.smallest_budget,
            "unit": self.unit,
        }


class SolverStopped(SimulatorError):
    """The solver stopped (a time limit) before it proved an allocation optimal."""

    exit_code = 4


class InternalError(SimulatorError):
    """A check of the tool's own result failed: a bug, never a planner's error."""

    exit_code = 70

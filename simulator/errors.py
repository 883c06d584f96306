"""Errors a planner can act on. The CLI turns them into one line and an exit code."""

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
    """The hard constraints of an allocation cannot all hold; the message names them."""

    exit_code = 3

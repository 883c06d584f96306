"""Scenario files: schema, loading, what-ifs, and compilation to arrays."""

from .arrays import ScenarioArrays, compile_arrays
from .load import Loaded, load
from .schema import Scenario

__all__ = ["Loaded", "Scenario", "ScenarioArrays", "compile_arrays", "load"]

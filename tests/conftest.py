"""Shared fixtures: the tiny hand-checkable scenario and helpers to build variants of it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from simulator.core.targets import compile_targets
from simulator.scenario import compile_arrays
from simulator.scenario.load import merge_defaults, validate

HERE = Path(__file__).parent
ROOT = HERE.parent
TINY = HERE / "data" / "tiny.yaml"
HAND = HERE / "data" / "hand.yaml"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def raw(path: Path = TINY) -> dict:
    """The scenario's data with cluster defaults merged (what overrides act on)."""
    return merge_defaults(yaml.safe_load(path.read_text(encoding="utf-8")))


def compiled(data: dict):
    """(scenario, arrays, target specs) from raw data."""
    s = validate(copy.deepcopy(data), "test")
    a = compile_arrays(s)
    return s, a, compile_targets(s, a)


@pytest.fixture
def tiny_data() -> dict:
    return raw(TINY)

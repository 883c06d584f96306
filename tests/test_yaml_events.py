"""The event-built YAML reader gives exactly what PyYAML's safe loader gives, or steps aside."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.scenario import yaml_events
from simulator.scenario.load import SAFE_LOADER

ROOT = Path(__file__).resolve().parents[1]


def _full(text: str):
    """PyYAML's value, or the exception class it raises."""
    try:
        return yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        return type(exc)


def _agrees(text: str) -> None:
    fast = yaml_events.load(text, SAFE_LOADER)
    full = _full(text)
    if fast is yaml_events.NOT_PLAIN:
        return  # the caller falls back to the full loader
    assert not (isinstance(full, type) and issubclass(full, Exception)), text
    assert fast == full and repr(fast) == repr(full), text


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_scenario_reads_the_same(path):
    text = path.read_text(encoding="utf-8")
    fast = yaml_events.load(text, SAFE_LOADER)
    assert fast is not yaml_events.NOT_PLAIN
    assert repr(fast) == repr(yaml.load(text, Loader=SAFE_LOADER))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["yes", "No", "~", "0x1F", "0o17", "1_000", "1e3", ".inf", "2020-01-02", "<<"]),
    st.dates(min_value=datetime.date(1900, 1, 1)),
)
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=6), st.integers(-5, 5)), inner, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(trees, st.booleans(), st.booleans())
def test_dumped_trees_read_the_same(tree, flow, unicode):
    text = yaml.safe_dump(tree, default_flow_style=flow, allow_unicode=unicode)
    _agrees(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n",
        "a: &x {b: 1, c: [1, 2]}\nd: *x\n",
        "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",
        "s: !!set {a, b}\n",
        "o: !!omap [a: 1, b: 2]\n",
        "t: !!str 12\nf: !!float 3\n",
        "u: !custom 1\n",
        "? [1, 2]\n: x\n",
        "a: 1\n---\nb: 2\n",
        "a: [1, 2\n",
        "a: 1\na: 2\n",
        "when: 2020-01-02 10:00:00\nbin: !!binary aGVsbG8=\n",
        "text: |\n  two\n  lines\n'quoted': \"yes\"\n",
        "- 1\n- {a: ~}\n- [null, .NaN]\n",
    ],
)
def test_hand_written_documents(text):
    _agrees(text)

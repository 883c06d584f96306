"""`uncertain` on an existing dask.distributed cluster (a LocalCluster of 2 worker processes)
writes the same probabilities.csv and fan.csv, byte for byte, as the serial run and as
``--workers 2``; an unreachable scheduler is one line, exit 2, nothing written.

Dask comes with the ``[test]`` extra (and the ``[distributed]`` one), so this never skips.
"""

from __future__ import annotations

import subprocess
import sys

import dask.distributed as distributed
import pytest

from .conftest import ROOT

CIXI = ROOT / "scenarios" / "cixi-2020.yaml"
ARGS = ("--samples", 3000, "--seed", 3)
FILES = ("probabilities.csv", "fan.csv")
#: a port nothing listens on (9, "discard", is not served here)
NOWHERE = "tcp://127.0.0.1:9"


def command(*args) -> list[str]:
    return [sys.executable, "-m", "simulator", *map(str, args)]


@pytest.fixture(scope="module")
def unreachable(tmp_path_factory):
    """`uncertain --scheduler NOWHERE`, started first: it waits out the client's connect
    timeout (10 s) while the other runs go on, so the module stays well under 20 s."""
    out = tmp_path_factory.mktemp("nowhere") / "out"
    proc = subprocess.Popen(
        command("uncertain", CIXI, *ARGS, "--scheduler", NOWHERE, "--out", out),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield proc, out
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        yield c.scheduler_address


def test_dask_cluster_and_workers_give_the_serial_files_byte_for_byte(
    unreachable, cluster, tmp_path
):
    runs = {"serial": (), "workers": ("--workers", 2), "dask": ("--scheduler", cluster)}
    for name, extra in runs.items():
        r = subprocess.run(
            command("uncertain", CIXI, *ARGS, *extra, "--out", tmp_path / name),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, f"{name}: {r.stderr}"
    for f in FILES:
        serial = (tmp_path / "serial" / f).read_bytes()
        assert serial.count(b"\n") > 1, f"serial {f} is empty"
        for name in ("workers", "dask"):
            assert (tmp_path / name / f).read_bytes() == serial, f"{name}/{f} differs"


def test_unreachable_scheduler_is_one_line_exit_2_nothing_written(unreachable):
    proc, out = unreachable
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "--scheduler" in lines[0] and NOWHERE in lines[0]
    assert "Traceback" not in stderr + stdout
    assert not out.exists()

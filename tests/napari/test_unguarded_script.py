"""A script without a main guard runs a pipeline from the dock: workers never re-run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "scripts" / "unguarded_run.py"


@pytest.mark.slow
def test_an_unguarded_script_runs_once_and_finishes(sample_plate, tmp_path):
    marker, result = tmp_path / "ran.txt", tmp_path / "result.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, str(SCRIPT), str(sample_plate), str(marker),
                           str(result)], env=env, capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    ran = marker.read_text().split()
    assert len(ran) == 1, f"the script ran {len(ran)} times (workers re-ran it): {done.stderr}"
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(result.read_text())
    assert report["windows"] == 1
    assert sorted(report["ok"]) == ["A01", "A02", "B01", "B02"], report
    assert report["status"].startswith("Run done"), (report, done.stderr[-3000:])

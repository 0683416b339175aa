"""Every script in examples/ runs (slow session)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ARGS = {
    "eec_curves.py": ["--jets", "200", "--output", "{tmp}/eec.png"],
    "train_small.py": ["--steps", "30", "--jets", "256", "--out", "{tmp}/model"],
    # Pythia events (the slow session installs the pythia extra): tiny, to show it runs
    "hh4b_event_classifier.py": ["--events", "10", "--epochs", "1"],
}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example_runs(script, tmp_path):
    args = [a.format(tmp=tmp_path) for a in ARGS.get(script, [])]
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]

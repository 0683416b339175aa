"""benchmarks/taggers.py: the table's held-out data and the report over JSON-lines runs."""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "taggers.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("taggers_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["taggers_benchmark"] = module
    spec.loader.exec_module(module)
    return module


def _run(model, seed, acc):
    return {"model": model, "seed": seed, "params": 10, "flops": 2e6, "setup": "toy",
            "epochs": 4, "best_epoch": 2, "accuracy": acc, "auc_macro": 0.9,
            "auc_t": acc + 0.2, "rejection80_t": 10 * acc,
            "rejection80_mean": 20.0, "latency_ms": 1.0, "throughput": 1000.0}  # fmt: skip


def test_report_merges_files_and_averages_over_seeds(bench, tmp_path, capsys):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(
        "".join(json.dumps(_run("phat-jet", s, x)) + "\n" for s, x in [(0, 0.7), (1, 0.8)])
    )
    b.write_text(json.dumps(_run("pointnet-small", 0, 0.6)) + "\n")

    bench.report(argparse.Namespace(files=[str(a), str(b)]))
    out = capsys.readouterr().out
    rows: dict[str, str] = {}  # the first table's rows (the per-class table follows)
    for line in out.splitlines():
        if line.startswith("| "):
            rows.setdefault(line.split("|")[1].strip(), line)
    mean, std = statistics.mean([0.7, 0.8]), statistics.stdev([0.7, 0.8])
    assert f"{mean:.4f} ± {std:.4f}" in rows["phat-jet"]
    assert "| 2 | 4 (3), 4 (3) | - |" in rows["phat-jet"]  # seeds, epochs (best, 1-based)
    assert "| 0.6000 |" in rows["pointnet-small"]
    assert "# toy" in out
    per_class = [line for line in out.splitlines() if line.startswith("| phat-jet |")][-1]
    assert per_class == f"| phat-jet | {mean + 0.2:.3f} / {10 * mean:.1f} |"


def test_report_of_nothing_is_an_error(bench, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")

    with pytest.raises(SystemExit, match="no runs"):
        bench.report(argparse.Namespace(files=[str(empty)]))

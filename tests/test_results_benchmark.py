"""benchmarks/results.py: the pieces that do not need the evaluation sets."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "results.py"


@pytest.fixture(scope="module")
def results():
    spec = importlib.util.spec_from_file_location("results_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Exploding:
    label = "never"

    def __call__(self, *args, **kwargs):  # pragma: no cover - must not be called
        msg = "sampled although --throughput-jets 0"
        raise AssertionError(msg)


def test_throughput_zero_jets_measures_nothing(results):
    out = results.throughput([Exploding()], "t", 0)
    assert out == {"jet_type": "t", "n_jets": 0, "hypervae": {}, "pythia": None}


def test_report_merges_runs_and_lists_every_command(results, tmp_path):
    def run(command, types, label):
        return {"settings": {"command": command},
                "types": {t: {"generators": {label: {}}} for t in types},
                "generators": {label: {"source": label}},
                "throughput": {"hypervae": {label: float(len(command))}}}  # fmt: skip

    captured = {}

    def fake_report(res, args):
        captured["res"] = res
        return "page"

    results.report, original = fake_report, results.report
    results.RUNS = tmp_path
    try:
        files = []
        for k, (cmd, types, label) in enumerate(
            (("A", "wq", "x"), ("B", "zg", "x"), ("C", "g", "y"))
        ):
            path = tmp_path / f"{k}.json"
            path.write_text(json.dumps(run(cmd, types, label)))
            files.append(str(path))
        args = type("Args", (), {"metrics": files, "output": str(tmp_path)})()
        results.rerender(args)
        merged = captured["res"]
    finally:
        results.report = original
    assert merged["settings"]["merged_commands"] == ["A", "B", "C"]
    assert list(merged["types"]) == ["g", "q", "w", "z"]  # in type order
    assert sorted(merged["types"]["g"]["generators"]) == ["x", "y"]
    assert (tmp_path / "results.md").read_text() == "page"
    assert merged["throughput"]["hypervae"] == {"x": 1.0}  # the first run's
    # every run's rates, each to be shown beside its own Pythia
    assert [r["hypervae"] for r in merged["throughput_runs"]] == [
        {"x": 1.0},
        {"x": 1.0},
        {"y": 1.0},
    ]
    section = "\n".join(results._throughput_section(
        [{"jet_type": "t", "n_jets": 5, "hypervae": {"a": 100.0}, "pythia": 20.0},
         {"jet_type": "t", "n_jets": 5, "hypervae": {}, "pythia": None},
         {"jet_type": "t", "n_jets": 5, "hypervae": {"b": 30.0}, "pythia": 10.0}]
    ))  # fmt: skip
    assert "| 1 | a | 100 | 20.0 | **5.0×** |" in section
    assert "| 2 | b | 30 | 10.0 | **3.0×** |" in section


def test_efp_section_gives_each_graph_its_ratio_to_the_floor(results):
    def entry(*means, std=0.1):
        return {"jetnet": {"w1efp": {"per_efp": [
            {"mean": m, "std": std, "scale": 1e-5} for m in means]}}}  # fmt: skip

    floor = entry(2e-5, 1e-5, 4e-5, 0.2e-5, 5e-5, std=0.5e-5)  # 4th: error > value
    gen = entry(3e-5, 4e-5, 4e-5, 0.5e-5, 10e-5)
    old = {"jetnet": {"w1efp": {"mean": 1e-5, "std": 0.0}}}  # a run before per_efp
    lines = results._efp_section({"truth floor": floor, "gen": gen, "old": old})
    header = next(line for line in lines if line.startswith("| | "))
    assert header.count("`") == 10  # five graphs
    assert "`01·02·03·12`" in header  # the triangle with a pendant edge
    assert "| truth floor | 2.00 ± 0.50 | 1.00 ± 0.50 |" in "\n".join(lines)
    # ratios to the floor graph by graph: 3/2, 4/1, 4/4, 10/5, and 0.5/0.5 where the
    # floor's error (0.5) exceeds its value (0.2): results.py's floor_reference
    assert "| gen, ×floor | 1.5× | 4.0× | 1.0× | 1.0× | 2.0× |" in lines
    assert not any(line.startswith("| old") for line in lines)
    assert results._efp_section({"truth floor": old, "gen": gen}) == []


def test_eec_section_renders_each_type_and_generator(results):
    def row(w1, ratio, quartiles):
        entry = {"w1": w1, "floor_ratio": ratio, "rl_quantile_ratios": quartiles}
        return {"eec2": entry, "eec3": dict(entry, w1=2 * w1)}

    eec = {"command": "python benchmarks/eec_fidelity.py --types g",
           "types": {"g": {"floor": row(0.01, 1.0, [1.0, 0.99, 1.01]),
                           "default": row(0.0984, 8.7, [1.06, 1.19, 1.18])}}}  # fmt: skip
    lines = results._eec_section(eec)
    assert "| g | truth floor | 10.0 | 1.00 / 0.99 / 1.01 | 20.0 | 1.00 / 0.99 / 1.01 |" in lines
    assert "| g | default | 98.4 (8.7×) | 1.06 / 1.19 / 1.18 | 196.8 (8.7×) |" in "\n".join(lines)
    assert "`python benchmarks/eec_fidelity.py --types g`" in "\n".join(lines)
    assert results._eec_section(None) == []

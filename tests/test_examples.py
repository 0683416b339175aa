"""Every script in examples/ runs (slow session), with small arguments, and does its job.

Each case runs one example in a fresh process and checks what it printed or wrote, not
only its exit status. ``test_every_example_has_a_case`` (fast) fails when an example is
added without a case here. The Python snippet of the "use the losses in another model"
how-to page runs in the fast suite, so the documented code cannot drift from the API.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DOCS = ROOT / "docs"
TIMEOUT = 1200


def _run(args: list[str], cwd: Path) -> str:
    """Runs ``python ARGS`` and returns stdout; fails with the stderr tail otherwise."""
    result = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=cwd,
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def _cli(*args: str, cwd: Path) -> str:
    return _run(["-m", "hypervae.cli", *args], cwd)


def check_eec_curves(tmp: Path) -> None:
    out = _run([str(EXAMPLES / "eec_curves.py"), "--jets", "200", "--output", "eec.png"], tmp)
    assert "wrote eec.png" in out
    png = (tmp / "eec.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert len(png) > 10_000


def check_train_small(tmp: Path) -> None:
    args = ["--steps", "30", "--jets", "256", "--out", str(tmp / "model")]
    out = _run([str(EXAMPLES / "train_small.py"), *args], tmp)
    assert "30 steps of 64 jets" in out
    terms = dict(re.findall(r"^\s*(\w+)\s+([-\d.e+naif]+)\s+[-\d.e+naif]+\s", out, re.M))
    for term in ("chamfer", "eec", "jet", "consistency", "kl", "multiplicity", "total"):
        assert math.isfinite(float(terms[term])), (term, out)
    generated = re.search(r"generated: pT median\s+([\d.]+) GeV.*<n>\s+([\d.]+)", out)
    assert generated, out
    assert 100 < float(generated[1]) < 10_000
    assert 1 <= float(generated[2]) <= 30
    assert {p.name for p in (tmp / "model").iterdir()} >= {"config.json", "model.safetensors"}


def _hh4b_auc(out: str, epochs: int) -> float:
    losses = re.findall(r"^epoch (\d+): train_loss ([\d.]+)", out, re.M)
    assert [int(e) for e, _ in losses] == list(range(epochs)), out  # epochs count from 0
    assert all(math.isfinite(float(v)) for _, v in losses), out
    assert "(m_h1, m_h2) estimate on signal" in out
    match = re.search(r"signal vs background AUC of D: ([\d.]+)", out)
    assert match, out
    return float(match[1])


def check_hh4b_toy(tmp: Path) -> None:
    args = ["--toy", "--events", "40", "--epochs", "8"]
    out = _run([str(EXAMPLES / "hh4b_event_classifier.py"), *args], tmp)
    assert 0.5 < _hh4b_auc(out, epochs=8) <= 1.0  # toy signal is easy: better than chance


def check_hh4b_pythia(tmp: Path) -> None:
    pytest.importorskip("pythia8mc", reason="needs the pythia extra")
    args = ["--events", "10", "--epochs", "1"]
    out = _run([str(EXAMPLES / "hh4b_event_classifier.py"), *args], tmp)
    assert 0.0 <= _hh4b_auc(out, epochs=1) <= 1.0


def check_evaluate_generator(tmp: Path) -> None:
    args = ["--jets", "400", "--eec", "2", "3", "--output", "metrics.json"]
    out = _run([str(EXAMPLES / "evaluate_generator.py"), *args], tmp)
    assert "truth floor" in out
    metrics = json.loads((tmp / "metrics.json").read_text())
    gen, floor = metrics["generator"], metrics["truth_floor"]
    for key in ("w1m", "w1p", "w1efp", "w1_jet_mass", "w1_eec2", "w1_eec3"):
        assert math.isfinite(gen[key]["mean"]), key
        assert math.isfinite(floor[key]["mean"]), key
    # smearing particle directions by 0.01 shows in the correlator, well above the floor
    assert gen["w1_eec2"]["mean"] > 2 * floor["w1_eec2"]["mean"]
    assert gen["w1m"]["mean"] > floor["w1m"]["mean"]
    assert gen["n_real"] == gen["n_generated"] == 400


def check_quick_yaml(tmp: Path) -> None:
    """The how-to chain: parquet jets -> build-graphs -> validate -> train -> generate -> evaluate."""
    code = (
        "import hypervae as hv\n"
        "for split, n in (('train', 512), ('val', 128), ('test', 300)):\n"
        "    hv.datasets.save_parquet(hv.datasets.load_sample('t', split=split)[:n],"
        " f'{split}.parquet')\n"
    )
    _run(["-c", code], tmp)
    _cli("build-graphs", "train=train.parquet", "val=val.parquet", "-o", "graphs",
         "--set", "budget=knn", "--set", "k=4", "--set", "edges=knn", "--set", "edge_k=8",
         "-q", cwd=tmp)  # fmt: skip
    _cli("validate", "graphs", cwd=tmp)
    config = str(EXAMPLES / "quick.yaml")
    _cli("train", "--config", config, "--data", "graphs", "-o", "runs",
         "--epochs", "1", "--no-tensorboard", "-q", cwd=tmp)  # fmt: skip
    assert (tmp / "runs" / "best" / "model.safetensors").is_file()
    logged = [
        json.loads(line) for line in (tmp / "runs" / "metrics.jsonl").read_text().splitlines()
    ]
    assert logged
    assert all(math.isfinite(v) for r in logged for v in r.values() if isinstance(v, float))
    _cli("generate", "--model", "runs/best", "-n", "300", "--jet-type", "t", "--seed", "0",
         "-o", "gen.parquet", cwd=tmp)  # fmt: skip
    _cli("evaluate", "--real", "test.parquet", "--generated", "gen.parquet",
         "--output", "metrics.json", "--eec", "2", cwd=tmp)  # fmt: skip
    metrics = json.loads((tmp / "metrics.json").read_text())
    assert metrics["n_real"] == metrics["n_generated"] == 300
    assert metrics["jet_type_fractions"]["generated"]["t"] == 1.0
    assert math.isfinite(metrics["w1m"]["mean"])
    assert math.isfinite(metrics["w1_eec2"]["mean"])


# case id -> (the example file it covers, check)
CASES = {
    "eec_curves": ("eec_curves.py", check_eec_curves),
    "train_small": ("train_small.py", check_train_small),
    "hh4b_toy": ("hh4b_event_classifier.py", check_hh4b_toy),
    "hh4b_pythia": ("hh4b_event_classifier.py", check_hh4b_pythia),
    "evaluate_generator": ("evaluate_generator.py", check_evaluate_generator),
    "quick_yaml": ("quick.yaml", check_quick_yaml),
}


def test_every_example_has_a_case():
    examples = {p.name for p in EXAMPLES.iterdir() if p.suffix in (".py", ".yaml", ".yml")}
    covered = {name for name, _ in CASES.values()}
    assert examples <= covered, f"examples without a case in CASES: {sorted(examples - covered)}"


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_example(case, tmp_path):
    CASES[case][1](tmp_path)


def _python_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), re.M | re.S)


@pytest.mark.slow  # over 10 s on 2 cores
def test_losses_howto_snippet_runs(tmp_path):
    (block,) = _python_blocks(DOCS / "how-to" / "losses.md")
    out = _run(["-c", block], tmp_path)
    values = dict(re.findall(r"(chamfer|eec W1|grad norm) ([\d.e+-]+)", out))
    assert set(values) == {"chamfer", "eec W1", "grad norm"}, out
    assert all(math.isfinite(float(v)) and float(v) > 0 for v in values.values()), out

"""No loader runs code from a file: malicious pickles are refused, and the source never
unpickles (every ``torch.load`` has ``weights_only=True``; no ``pickle.load``)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import torch

import hypervae as hv
from tests.training.conftest import synthetic_jets

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "hypervae", ROOT / "examples", ROOT / "benchmarks"]


class Payload:
    """Unpickling this calls ``Path.write_text(marker, "pwned")``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


@pytest.fixture
def evil(tmp_path):
    """``make(path, wrap)`` writes a .pt file whose unpickling creates ``marker``."""
    marker = tmp_path / "marker"

    def make(path: Path, wrap=lambda p: p) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(wrap(Payload(marker)), path)
        return path

    return make, marker


def test_the_payload_is_real(evil, tmp_path):
    make, marker = evil
    path = make(tmp_path / "x.pt")
    torch.load(path, weights_only=False)  # the unsafe way runs the code
    assert marker.read_text() == "pwned"


def test_checkpoint_loader_refuses_code(evil, tmp_path):
    from hypervae.training import load_checkpoint

    make, marker = evil
    path = make(tmp_path / "last.pt", lambda p: {"format": "hypervae-checkpoint/1", "meta": p})
    with pytest.raises(ValueError, match=r"last\.pt: cannot be read as a weights-only"):
        load_checkpoint(path)
    assert not marker.exists()


def test_train_resume_refuses_code(evil, tmp_path, capsys):
    from hypervae.cli import main

    make, marker = evil
    save = tmp_path / "run"
    make(save / "checkpoints" / "last.pt", lambda p: {"format": "hypervae-checkpoint/1", "m": p})
    jets = tmp_path / "jets.parquet"
    hv.datasets.save_parquet(synthetic_jets(4), jets)
    argv = ["train", "--data", str(jets), "-o", str(save), "--resume", "-q"]
    assert main(argv) == 1
    assert "last.pt: cannot be read as a weights-only torch file" in capsys.readouterr().err
    assert not marker.exists()


def test_tagger_loader_refuses_code(evil, tmp_path):
    from hypervae.taggers import build_tagger
    from hypervae.taggers.io import load_tagger, save_tagger

    make, marker = evil
    model = build_tagger("phat", 2, dims=(8,), depths=(1,), num_heads=(2,))
    save_tagger(model, tmp_path / "tagger")
    assert not list((tmp_path / "tagger").glob("*.tmp"))
    assert type(load_tagger(tmp_path / "tagger")).__name__ == "PHATJeT"
    # an old-format directory (config.json without "format", weights.pt)
    old = {"class": "PHATJeT", "config": model.config.to_dict(), "metrics": {}}
    (tmp_path / "tagger" / "config.json").write_text(json.dumps(old))
    make(tmp_path / "tagger" / "weights.pt", lambda p: {"w": p})
    with pytest.raises(ValueError, match=r"weights\.pt: cannot be read as a weights-only"):
        load_tagger(tmp_path / "tagger")
    assert not marker.exists()


def test_truncated_checkpoint_is_named(tmp_path):
    from hypervae.training import load_checkpoint, save_checkpoint

    path = save_checkpoint({"w": torch.ones(100), "meta": json.dumps({})}, tmp_path / "c.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"c\.pt: cannot be read .*truncated, corrupted"):
        load_checkpoint(path)


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def _python_files():
    for folder in SOURCES:
        if folder.is_dir():
            yield from sorted(folder.rglob("*.py"))


def test_source_never_unpickles():
    files = list(_python_files())
    assert any(f.name == "checkpoint.py" for f in files)
    problems = []
    torch_loads = 0
    for file in files:
        tree = ast.parse(file.read_text(), filename=str(file))
        for node, name in _calls(tree):
            where = f"{file.relative_to(ROOT)}:{node.lineno}"
            keywords = {k.arg: k.value for k in node.keywords}
            if name == "torch.load":
                torch_loads += 1
                value = keywords.get("weights_only")
                if not (isinstance(value, ast.Constant) and value.value is True):
                    problems.append(f"{where}: torch.load without weights_only=True")
            if name.split(".")[-1] in ("load", "loads", "Unpickler") and name.split(".")[0] in (
                "pickle", "cPickle", "dill", "joblib", "cloudpickle", "_pickle"
            ):  # fmt: skip
                problems.append(f"{where}: {name} unpickles")
            allow = keywords.get("allow_pickle")
            safe = allow is None or (isinstance(allow, ast.Constant) and allow.value is False)
            if name in ("np.load", "numpy.load") and not safe:
                problems.append(f"{where}: np.load with allow_pickle")
            if name.endswith("from_pretrained") and "use_safetensors" in keywords:
                value = keywords["use_safetensors"]
                if isinstance(value, ast.Constant) and value.value is False:
                    problems.append(f"{where}: from_pretrained(use_safetensors=False)")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("pickle", "dill"):
                names = {a.name for a in node.names}
                if names & {"load", "loads", "Unpickler"}:
                    problems.append(f"{file.relative_to(ROOT)}:{node.lineno}: imports {names}")
    assert torch_loads >= 1  # the scan does see the real loader (hypervae._io.safe_torch_load)
    assert not problems, "\n".join(problems)


def test_the_scan_catches_unsafe_calls(tmp_path, monkeypatch):
    bad = tmp_path / "hypervae"
    bad.mkdir()
    (bad / "checkpoint.py").write_text(
        "import pickle, torch\n"
        "torch.load('a', weights_only=True)\n"
        "torch.load('b')\n"
        "torch.load('c', weights_only=False)\n"
        "pickle.loads(b'')\n"
    )
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    monkeypatch.setitem(globals(), "SOURCES", [bad])
    with pytest.raises(AssertionError) as info:
        test_source_never_unpickles()
    text = str(info.value)
    assert "checkpoint.py:3: torch.load without" in text
    assert "checkpoint.py:4: torch.load without" in text
    assert "checkpoint.py:5: pickle.loads unpickles" in text
    assert "checkpoint.py:2" not in text

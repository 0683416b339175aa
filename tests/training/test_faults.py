"""Faults in training: non-finite losses and gradients, interrupted runs, config typos."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

import hypervae as hv
from hypervae._config import ConfigError
from hypervae.cli import main
from hypervae.training import NonFiniteError, Trainer, load_checkpoint, load_run_config

from .conftest import BASE, GRAPH_CONFIG, synthetic_jets


class Interrupted(Exception):
    """Stands for a crash in the middle of an epoch."""


def inject(model, at_call, term="chamfer", kind="loss"):
    """Wraps ``model.compute_loss``: call number ``at_call`` (0-based, or a set of them)
    gets a NaN ``term`` (and so a NaN total), NaN gradients (``kind="grad"``) or raises
    :class:`Interrupted` (``kind="raise"``). Returns the list of parameter snapshots taken
    at the start of every call."""
    original = model.compute_loss
    calls = {"n": 0, "hook": None}
    snapshots = []
    bad = {at_call} if isinstance(at_call, int) else set(at_call)
    param = next(p for p in model.parameters() if p.requires_grad)

    def compute_loss(*args, **kwargs):
        j = calls["n"]
        calls["n"] += 1
        snapshots.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        if calls["hook"] is not None:
            calls["hook"].remove()
            calls["hook"] = None
        if j in bad and kind == "raise":
            raise Interrupted
        out = dict(original(*args, **kwargs))
        if j in bad and kind == "loss":
            nan = out[term] * float("nan")
            out[term] = nan
            out["total"] = out["total"] + nan
        if j in bad and kind == "grad":
            calls["hook"] = param.register_hook(lambda g: torch.full_like(g, float("inf")))
        return out

    model.compute_loss = compute_loss
    return snapshots


def same_state(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def jsonl(path):
    return [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]


# ---------------------------------------------------------------- non-finite losses


def test_nan_loss_stops_and_names_the_term(tiny_graphs, make_model, tmp_path):
    train, _, _ = tiny_graphs
    model = make_model()
    inject(model, at_call=4, term="eec")  # epoch 1 (3 steps per epoch), its 2nd step
    trainer = Trainer(model, train, None, {**BASE, "max_epochs": 2}, save_dir=tmp_path)
    with pytest.raises(
        NonFiniteError, match=r"loss term\(s\) 'eec' at optimiser step 5 \(epoch 1\)"
    ) as info:
        trainer.fit()
    assert trainer.step == 4
    assert "'chamfer'" not in str(info.value)
    events = [r for r in jsonl(tmp_path) if r["tag"] == "nonfinite"]
    assert [(r["step"], r["epoch"], r["nonfinite/culprits"]) for r in events] == [(5, 1, "eec")]
    # the last checkpoint (end of epoch 0) is intact and resumable
    assert json.loads(load_checkpoint(tmp_path / "checkpoints" / "last.pt")["meta"])["step"] == 3


def test_nan_loss_skip_mode_leaves_weights_unchanged(tiny_graphs, make_model, tmp_path):
    train, _, _ = tiny_graphs
    model = make_model()
    snapshots = inject(model, at_call=1)
    cfg = {**BASE, "max_epochs": 1, "nonfinite": "skip", "max_nonfinite_skips": 2}
    trainer = Trainer(model, train, None, cfg, save_dir=tmp_path)
    with pytest.warns(RuntimeWarning, match=r"'chamfer' at optimiser step 2 .*skipped \(1 of"):
        history = trainer.fit()
    assert trainer.step == 3  # the schedule moved on
    assert trainer.nonfinite_skips == 1
    assert not same_state(snapshots[0], snapshots[1])  # a good step changes the weights
    assert same_state(snapshots[1], snapshots[2])  # the bad one did not
    for value in trainer.model.state_dict().values():
        assert torch.isfinite(value).all()
    for state in trainer.optimizer.state_dict()["state"].values():
        assert int(state["step"]) == 2
        assert torch.isfinite(state["exp_avg_sq"]).all()
    assert history[0]["nonfinite_skips"] == 1
    assert math.isfinite(history[0]["train/total"])  # the bad batch is left out of the mean
    rows = jsonl(tmp_path)
    assert [r["train/nonfinite_skips"] for r in rows if r["tag"] == "train"] == [0, 1]
    assert [r["step"] for r in rows if r["tag"] == "nonfinite"] == [2]


def test_skip_mode_stops_after_too_many_skips(tiny_graphs, make_model):
    train, _, _ = tiny_graphs
    model = make_model()
    inject(model, at_call={0, 2, 3}, term="kl")
    cfg = {**BASE, "max_epochs": 2, "nonfinite": "skip", "max_nonfinite_skips": 2}
    trainer = Trainer(model, train, None, cfg)
    with (
        pytest.warns(RuntimeWarning, match="skipped"),
        pytest.raises(NonFiniteError, match=r"'kl' at optimiser step 4 \(epoch 1\).*3 steps "),
    ):
        trainer.fit()
    assert trainer.nonfinite_skips == 3


def test_nonfinite_gradients_are_named(tiny_graphs, make_model):
    train, _, _ = tiny_graphs
    model = make_model()
    inject(model, at_call=1, kind="grad")
    trainer = Trainer(model, train, None, {**BASE, "max_epochs": 1})
    with pytest.raises(
        NonFiniteError, match=r"gradients \(of .*\) at optimiser step 2 \(epoch 0\)"
    ):
        trainer.fit()


def test_accumulation_skips_the_whole_group(tiny_graphs, make_model):
    train, _, _ = tiny_graphs
    model = make_model()
    snapshots = inject(model, at_call=0)  # first micro-batch of the first step
    cfg = {**BASE, "max_epochs": 1, "batch_size": 2, "accumulation_steps": 2, "nonfinite": "skip"}
    trainer = Trainer(model, train, None, cfg)
    with pytest.warns(RuntimeWarning, match="step 1"):
        trainer.fit()
    assert trainer.nonfinite_skips == 1
    assert same_state(snapshots[0], snapshots[2])  # no update from the poisoned group
    assert not same_state(snapshots[2], snapshots[4])


def test_nonfinite_keys_in_yaml(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(
        "training:\n  nonfinite: skip\n  max_nonfinite_skips: 3\n  checkpoint_every_steps: 5\n"
    )
    cfg = load_run_config(path).training
    assert (cfg.nonfinite, cfg.max_nonfinite_skips, cfg.checkpoint_every_steps) == ("skip", 3, 5)
    path.write_text("training:\n  nonfinite: ignore\n")
    with pytest.raises(ValueError, match="nonfinite"):
        load_run_config(path)


# ---------------------------------------------------------------- unknown config keys


@pytest.mark.parametrize(
    ("text", "key", "section"),
    [
        ("training: {lr: 1, bogus: 2}\n", "bogus", "training"),
        ("model:\n  encoder: {num_blocks: 1, blocks: 2}\n", "blocks", "model.encoder"),
        ("graph: {kk: 3}\n", "kk", "graph"),
        ("training: 3\n", None, "training"),
    ],
)
def test_unknown_config_keys_name_key_and_section(tmp_path, text, key, section, capsys):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    where = f"RunConfig.{section}" if key is None else f"RunConfig.{section}.{key}: unknown key"
    with pytest.raises(ConfigError, match=re.escape(where)) as info:
        load_run_config(path)
    assert "run.yaml" in str(info.value)
    argv = ["train", "--config", str(path), "--data", "sample:g", "-o", str(tmp_path)]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert where in err
    assert "Traceback" not in err
    assert not (tmp_path / "checkpoints").exists()


# ---------------------------------------------------------------- interrupted runs


def test_mid_epoch_checkpoint_resumes_exactly(tiny_graphs, make_model, tmp_path):
    train, val, _ = tiny_graphs
    cfg = {**BASE, "max_epochs": 2, "latent_noise": 0.1, "checkpoint_every_steps": 1}
    full = Trainer(make_model(), train, val, cfg, save_dir=tmp_path / "full")
    torch.manual_seed(5)
    full_history = full.fit()

    model = make_model()
    inject(model, at_call=6, kind="raise")  # call 3 validates: step 6 = epoch 1, batch 2
    part = Trainer(model, train, val, cfg, save_dir=tmp_path / "part")
    torch.manual_seed(5)
    with pytest.raises(Interrupted):
        part.fit()
    meta = json.loads(load_checkpoint(tmp_path / "part" / "checkpoints" / "last.pt")["meta"])
    assert (meta["epoch"], meta["step"], meta["position"]["micro"]) == (1, 5, 2)

    torch.manual_seed(1234)
    resumed = Trainer(make_model(seed=3), train, val, cfg, save_dir=tmp_path / "part").resume()
    assert (resumed.epoch, resumed.step) == (1, 5)
    assert resumed.fit() == full_history
    assert resumed.step == full.step == 6
    assert same_state(full.model.state_dict(), resumed.model.state_dict())
    assert load_checkpoint(tmp_path / "part" / "checkpoints" / "last.pt")["meta"] is not None


CHILD = """
import sys, time
import hypervae as hv
from hypervae._config import ConfigError
from hypervae.cli import main
original = hv.HyperVAE.compute_loss
def slow(self, *args, **kwargs):
    time.sleep(0.15)  # leaves time to kill the run between two checkpoints
    return original(self, *args, **kwargs)
hv.HyperVAE.compute_loss = slow
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow  # about 30 s; fast resume tests: test_mid_epoch_checkpoint_resumes_exactly
def test_sigkill_mid_epoch_then_resume(tmp_path):
    """A run killed (SIGKILL) right after a mid-epoch checkpoint resumes to the same end."""
    root = tmp_path / "graphs"
    hv.graph.build_dataset(
        {"train": synthetic_jets(12, seed=5), "val": synthetic_jets(4, seed=6)},
        root,
        GRAPH_CONFIG,
        progress=False,
    )
    block = {"num_blocks": 1, "hidden_v_channels": 4, "hidden_s_channels": 8, "num_heads": 2}
    config = {
        "model": {"max_particles": 8, "latent_dim": 4, "hidden": 16, "num_heads": 2,
                  "encoder": block, "decoder": block},
        "training": {"batch_size": 2, "max_epochs": 2, "warmup_steps": 1, "log_every": 1,
                     "seed": 3, "checkpoint_every_steps": 2, "device": "cpu"},
    }  # fmt: skip
    run_file = tmp_path / "run.yaml"
    run_file.write_text(yaml.safe_dump(config))
    common = ["--config", str(run_file), "--data", str(root), "-q", "--no-tensorboard"]
    save = tmp_path / "killed"
    last = save / "checkpoints" / "last.pt"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, "train", *common, "-o", str(save)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    killed_at = None
    seen = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            if last.is_file():
                meta = json.loads(load_checkpoint(last)["meta"])  # never half-written
                seen += 1
                if meta["epoch"] == 1 and meta["position"] is not None:
                    os.kill(child.pid, signal.SIGKILL)
                    killed_at = meta
                    break
            time.sleep(0.01)
    finally:
        if child.poll() is None and killed_at is None:
            child.kill()
        child.wait(30)
        stderr = child.stderr.read().decode()
        child.stderr.close()
    assert killed_at is not None, stderr[-2000:]
    assert child.returncode == -signal.SIGKILL
    assert seen >= 1
    meta = json.loads(load_checkpoint(last)["meta"])  # the file on disk still loads
    assert meta["epoch"] == 1
    assert meta["position"] is not None
    assert 0 < meta["position"]["micro"] < 6
    assert not (save / "final").exists()

    torch.set_num_threads(1)
    assert main(["train", *common, "-o", str(save), "--resume"]) == 0
    done = json.loads(load_checkpoint(last)["meta"])
    assert (done["epoch"], done["step"], done["position"]) == (2, 12, None)
    # an uninterrupted run ends with the very same weights
    assert main(["train", *common, "-o", str(tmp_path / "straight")]) == 0
    a = hv.HyperVAE.from_pretrained(save / "final").state_dict()
    b = hv.HyperVAE.from_pretrained(tmp_path / "straight" / "final").state_dict()
    assert same_state(a, b)
    epochs = [r["epoch"] for r in jsonl(save) if r["tag"] == "epoch"]
    assert epochs == [0, 1]
    # the steps the killed run logged after its last checkpoint are not there twice
    steps = [r["step"] for r in jsonl(save) if r["tag"] == "train"]
    assert steps == list(range(1, 13))
    strip = lambda rows: [{k: v for k, v in r.items() if k != "time"} for r in rows]
    assert strip(jsonl(save)) == strip(jsonl(tmp_path / "straight"))


# ---------------------------------------------------------------- no half-written outputs


def test_failing_generate_leaves_no_output(tmp_path, make_model, monkeypatch, capsys):
    out = tmp_path / "out" / "gen.parquet"
    argv = ["generate", "--model", str(tmp_path / "no-model"), "-n", "3", "-o", str(out)]
    assert main(argv) != 0
    assert "no-model" in capsys.readouterr().err
    assert not out.exists()

    model_dir = make_model().save_pretrained(tmp_path / "model")
    import awkward as ak
    import safetensors.torch

    def broken(data, path, *args, **kwargs):
        Path(path).write_bytes(b"PAR1 half a file")
        msg = "disk full"
        raise OSError(msg)

    import pyarrow.parquet as pq

    monkeypatch.setattr(ak, "to_parquet", broken)
    # 'generate' streams parquet through pyarrow's writer (hypervae.model.cli)
    monkeypatch.setattr(pq.ParquetWriter, "write_table", lambda *a, **k: broken(None, a[0].where))
    monkeypatch.setattr(safetensors.torch, "save_file", broken)
    monkeypatch.setattr(hv.graph.storage, "save_file", broken)
    for name in ("gen.parquet", "gen.safetensors"):
        out = tmp_path / "out" / name
        argv = ["generate", "--model", str(model_dir), "-n", "3", "--seed", "0", "-o", str(out)]
        assert main(argv) == 1  # an I/O error is a clean exit 1 with the message
        assert "hypervae generate: error: disk full" in capsys.readouterr().err
        assert not out.exists(), name
    assert not list((tmp_path / "out").iterdir())  # no temporary file left either

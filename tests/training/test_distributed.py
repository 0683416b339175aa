"""DistributedDataParallel under torchrun: two gloo processes on CPU agree with one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
import yaml
from safetensors.torch import load_file

import hypervae as hv
from hypervae.training import load_checkpoint

from .conftest import GRAPH_CONFIG, deterministic_overrides, synthetic_jets

WORKER = """
import argparse, sys
from hypervae.training import cli
parser = argparse.ArgumentParser()
cli.register(parser.add_subparsers(dest="command"))
args = parser.parse_args(sys.argv[1:])
sys.exit(args.func(args))
"""


@pytest.mark.slow  # about 75 s on 2 cores; test_generic.py has a fast one-process DDP test
@pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")
def test_two_gloo_processes_match_one(tmp_path):
    block = {"num_blocks": 1, "hidden_v_channels": 4, "hidden_s_channels": 8, "num_heads": 2}
    model = {"max_particles": 8, "latent_dim": 4, "hidden": 16, "num_heads": 2,
             "encoder": block, "decoder": block, **deterministic_overrides()}  # fmt: skip
    training = {"max_epochs": 2, "warmup_steps": 0, "grad_clip": 1.0, "progress": False,
                "tensorboard": False, "kl_warmup_epochs": 1, "seed": 5, "device": "cpu"}  # fmt: skip
    root = tmp_path / "graphs"
    splits = {"train": synthetic_jets(16, seed=11), "val": synthetic_jets(4, seed=12)}
    hv.graph.build_dataset(splits, root, GRAPH_CONFIG, progress=False)
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    results = {}
    for procs, batch in ((1, 8), (2, 4)):
        config = tmp_path / f"run{procs}.yaml"
        config.write_text(
            yaml.safe_dump({"model": model, "training": {**training, "batch_size": batch}})
        )
        save = tmp_path / f"run{procs}"
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                    f"--nproc-per-node={procs}", str(worker)]  # fmt: skip
        argv = [
            "train",
            "--config",
            str(config),
            "--data",
            str(root),
            "-o",
            str(save),
            "-q",
        ]
        done = subprocess.run(
            [*launcher, *argv], env=env, capture_output=True, check=False, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]
        results[procs] = save
    one, two = (load_file(results[p] / "final" / "model.safetensors") for p in (1, 2))
    for name, value in one.items():
        torch.testing.assert_close(two[name], value, rtol=1e-4, atol=1e-5, msg=name)
    histories = [
        json.loads(load_checkpoint(results[p] / "checkpoints" / "last.pt")["meta"])["history"]
        for p in (1, 2)
    ]  # fmt: skip
    assert len(histories[0]) == len(histories[1]) == 2
    for a, b in zip(*histories, strict=True):
        assert a["step"] == b["step"] == (a["epoch"] + 1) * 2
        for key in ("train/total", "val/total", "val/chamfer"):
            assert b[key] == pytest.approx(a[key], rel=1e-4), key

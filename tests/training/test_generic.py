"""The one Trainer beyond the VAE: any model with a loss function, its state, its logs."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from hypervae.training import Trainer, TrainState, flat_then_decay, truncate_metrics

from .conftest import BASE


class Pairs:
    """``n`` (x, y) pairs of a noisy line; batches built by ``__getitems__``."""

    def __init__(self, n: int, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 3, generator=gen)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(n, generator=gen)

    def __len__(self) -> int:
        return len(self.y)

    def __getitems__(self, indices):
        idx = torch.as_tensor(indices)
        return Batch(self.x[idx], self.y[idx])

    @staticmethod
    def collate(batch):
        return batch


class Batch:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def to(self, device):
        return Batch(self.x.to(device), self.y.to(device))

    def __len__(self):
        return len(self.y)


def regression_loss(model, batch, state: TrainState):
    err = model(batch.x).squeeze(-1) - batch.y
    return {"total": err.pow(2).mean(), "mae": err.abs().mean().detach()}


CFG = {"batch_size": 4, "max_epochs": 3, "lr": 0.05, "progress": False, "tensorboard": False,
       "log_every": 1, "patience": 0, "checkpoint_every": 0, "schedule": "flat_decay",
       "flat_fraction": 0.5, "final_lr_fraction": 0.1}  # fmt: skip


def make(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Linear(3, 1)


def test_any_model_trains_with_its_loss_function_and_state(tmp_path):
    states = []

    def loss(model, batch, state):
        states.append(state)
        return regression_loss(model, batch, state)

    cfg = {**CFG, "optimizer": "ranger"}
    trainer = Trainer(make(), Pairs(12), Pairs(4, seed=1), cfg, save_dir=tmp_path, loss_fn=loss)
    history = trainer.fit()
    assert type(trainer.optimizer).__name__ == "Ranger"
    assert len(history) == 3
    assert all(math.isfinite(v) for h in history for v in h.values())
    train = [s for s in states if s.training]
    assert [s.step for s in train] == list(range(9))
    assert [s.epoch for s in train] == [0] * 3 + [1] * 3 + [2] * 3
    assert [s.lr for s in train] == pytest.approx(
        [0.05 * flat_then_decay(k, 9, 0.5, 0.1) for k in range(9)]
    )
    assert all(not s.training and s.latent_noise == 0 for s in states if not s.training)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["tag"] == "train"] == list(range(1, 10))
    assert {"train/total", "train/mae"} <= set(rows[0])
    # a model without save_pretrained is saved in the one weights format
    config = json.loads((tmp_path / "final" / "config.json").read_text())
    assert (config["class"], config["format"]) == ("Linear", 2)
    assert (tmp_path / "final" / "model.safetensors").is_file()


def test_plain_tensor_datasets_use_default_collation():
    data, val = Pairs(12), Pairs(4, seed=1)
    pairs = torch.utils.data.TensorDataset(data.x, data.y)
    val_pairs = torch.utils.data.TensorDataset(val.x, val.y)

    def loss(model, batch, state):
        x, y = batch  # what default_collate makes of (x, y) items
        return regression_loss(model, Batch(x, y), state)

    seen = Trainer(make(), Pairs(12), Pairs(4, seed=1), CFG, loss_fn=regression_loss)
    plain = Trainer(make(), pairs, val_pairs, CFG, loss_fn=loss)
    assert seen.fit() == plain.fit()


def test_empty_training_data_is_named():
    with pytest.raises(ValueError, match="train_data: the dataset is empty"):
        Trainer(make(), Pairs(0), None, CFG, loss_fn=regression_loss)


def test_restore_best_loads_the_best_epoch():
    def misled(model, batch, state):  # from epoch 2 on, training pulls towards -y
        flip = state.training and state.epoch >= 2
        return regression_loss(model, Batch(batch.x, -batch.y) if flip else batch, state)

    cfg = {**CFG, "max_epochs": 6, "lr": 0.3, "restore_best": True}
    trainer = Trainer(make(), Pairs(12), Pairs(4, seed=1), cfg, loss_fn=misled)
    history = trainer.fit()
    val = [h["val/total"] for h in history]
    assert min(val) < val[-1]
    assert trainer.validate()["total"] == pytest.approx(min(val), rel=1e-6)
    off = Trainer(make(), Pairs(12), Pairs(4, seed=1), {**cfg, "restore_best": False},
                  loss_fn=misled)  # fmt: skip
    off.fit()
    assert off.validate()["total"] == pytest.approx(val[-1], rel=1e-6)


def test_free_bits_does_not_change_the_users_config(tiny_graphs, make_model):
    model = make_model()
    user_config = model.config
    before = user_config.to_dict()
    trainer = Trainer(model, tiny_graphs[0], None, {**BASE, "free_bits": 0.25})
    assert user_config.to_dict() == before
    assert trainer.model.config.free_bits == 0.25
    assert trainer.model.config is not user_config


def test_resume_drops_the_log_lines_after_the_checkpoint(tmp_path):
    """Regression (issue 14 #8): a crash after step 5, the checkpoint at step 4: the
    resumed run's metrics.jsonl holds each step once, as the uninterrupted run's."""
    cfg = {**CFG, "checkpoint_every_steps": 2}
    full = Trainer(make(), Pairs(12), Pairs(4, seed=1), cfg, save_dir=tmp_path / "full",
                   loss_fn=regression_loss)  # fmt: skip
    full.fit()

    calls = {"n": 0}

    def crashing(model, batch, state):
        calls["n"] += 1
        if state.training and state.step == 5:  # step 6 is being computed: step 5 logged
            raise KeyboardInterrupt
        return regression_loss(model, batch, state)

    part = Trainer(make(), Pairs(12), Pairs(4, seed=1), cfg, save_dir=tmp_path / "part",
                   loss_fn=crashing)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        part.fit()
    resumed = Trainer(make(seed=1), Pairs(12), Pairs(4, seed=1), cfg,
                      save_dir=tmp_path / "part", loss_fn=regression_loss).resume()  # fmt: skip
    assert resumed.step == 4
    resumed.fit()

    def rows(name):
        lines = (tmp_path / name / "metrics.jsonl").read_text().splitlines()
        return [{k: v for k, v in json.loads(line).items() if k != "time"} for line in lines]

    steps = [r["step"] for r in rows("part") if r["tag"] == "train"]
    assert steps == list(range(1, 10))
    assert rows("part") == rows("full")


def test_truncate_metrics_drops_later_and_broken_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = [json.dumps({"tag": "train", "step": s}) for s in (1, 2, 3, 4)]
    path.write_text("\n".join(lines) + '\n{"tag": "tra')
    assert truncate_metrics(path, 2) == 3
    assert path.read_text() == "\n".join(lines[:2]) + "\n"
    assert truncate_metrics(path, 2) == 0


def test_one_process_group_trains_as_without_ddp(tmp_path):
    """The DDP code path (wrapping, all-reduces, the no_sync of accumulation) in one
    gloo process: the same weights as without a process group."""
    dist = torch.distributed
    if not dist.is_available():
        pytest.skip("no torch.distributed")
    cfg = {**CFG, "accumulation_steps": 2}
    plain = Trainer(make(), Pairs(12), Pairs(4, seed=1), cfg, loss_fn=regression_loss)
    plain.fit()
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        ddp = Trainer(make(), Pairs(12), Pairs(4, seed=1), cfg, loss_fn=regression_loss)
        assert ddp.distributed
        assert isinstance(ddp.loss_module, nn.parallel.DistributedDataParallel)
        history = ddp.fit()
    finally:
        dist.destroy_process_group()
    assert history == plain.history
    for name, value in plain.model.state_dict().items():
        assert torch.equal(value, ddp.model.state_dict()[name]), name

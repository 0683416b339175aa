"""Exponential moving average of the weights: the recurrence, the Trainer's use, resume."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hypervae.training import Trainer
from hypervae.training.ema import ExponentialMovingAverage

from .test_generic import CFG, Pairs, make, regression_loss


def test_update_matches_the_recurrence_written_out():
    model = nn.Linear(2, 1)
    ema = ExponentialMovingAverage(model, decay=0.9)
    expected = model.weight.detach().clone()
    for step in range(1, 30):
        with torch.no_grad():
            model.weight.add_(0.1 * step)
        d = min(0.9, (1 + step) / (10 + step))
        expected = d * expected + (1 - d) * model.weight.detach()
        ema.update(model, step)
    torch.testing.assert_close(ema.shadow["weight"], expected, rtol=0, atol=1e-6)
    raw = model.weight.detach().clone()
    with ema.swapped(model):
        torch.testing.assert_close(model.weight.detach(), expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(model.weight.detach(), raw, rtol=0, atol=0)  # restored


def test_frozen_parameters_are_not_averaged_and_bad_decay_is_refused():
    model = nn.Linear(2, 1)
    model.bias.requires_grad_(False)
    assert list(ExponentialMovingAverage(model, 0.5).shadow) == ["weight"]
    with pytest.raises(ValueError, match=r"decay: must be in \[0, 1\)"):
        ExponentialMovingAverage(model, 1.0)


def test_trainer_validates_and_returns_the_averaged_weights():
    cfg = {**CFG, "ema_decay": 0.95, "restore_best": False}
    trainer = Trainer(make(), Pairs(32), Pairs(16, seed=1), cfg, loss_fn=regression_loss)
    trainer.fit(epochs=2)
    shadow = {k: v.clone() for k, v in trainer.ema.shadow.items()}
    assert not torch.equal(shadow["weight"], trainer.model.weight.detach())  # raw differs
    val = trainer.validate()["total"]
    averaged = make()
    averaged.load_state_dict(shadow)
    batch = Pairs(16, seed=1).__getitems__(list(range(16)))
    with torch.no_grad():
        direct = regression_loss(averaged, batch, trainer.state(False))["total"].item()
    assert val == pytest.approx(direct, rel=1e-6)
    trainer.fit()  # to max_epochs: the model keeps the averaged weights
    torch.testing.assert_close(trainer.model.weight.detach(), trainer.ema.shadow["weight"])


def test_resume_continues_the_average_exactly(tmp_path):
    cfg = {**CFG, "ema_decay": 0.9}
    straight = Trainer(make(), Pairs(32), None, cfg, loss_fn=regression_loss)
    straight.fit()
    first = Trainer(make(), Pairs(32), None, cfg, save_dir=tmp_path, loss_fn=regression_loss)
    first.fit(epochs=1)
    second = Trainer(make(), Pairs(32), None, cfg, save_dir=tmp_path, loss_fn=regression_loss)
    second.resume().fit()
    torch.testing.assert_close(second.ema.shadow["weight"], straight.ema.shadow["weight"])
    torch.testing.assert_close(second.model.weight, straight.model.weight)
    plain = Trainer(make(), Pairs(32), None, CFG, loss_fn=regression_loss)
    with pytest.raises(ValueError, match="no EMA weights"):
        Trainer(make(), Pairs(32), None, cfg, loss_fn=regression_loss).load_state_dict(
            plain.state_dict()
        )

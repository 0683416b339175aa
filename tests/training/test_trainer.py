"""Trainer: schedules, clipping, accumulation, validation, early stopping, checkpoints."""

from __future__ import annotations

import json
import math

import pytest
import torch

import hypervae as hv
from hypervae.training import Trainer, load_checkpoint, warmup_cosine

from .conftest import BASE, deterministic_overrides


def test_fit_logs_every_term_and_follows_the_schedules(tiny_graphs, make_model, tmp_path):
    train, val, norm = tiny_graphs
    cfg = {**BASE, "max_epochs": 2, "tau_initial": 1.0, "tau_decay": 0.5, "tau_final": 0.1}
    trainer = Trainer(make_model(), train, val, cfg, save_dir=tmp_path, normalization=norm)
    history = trainer.fit()
    assert trainer.steps_per_epoch == 3
    assert trainer.step == 6
    assert len(history) == 2
    for record in history:
        assert all(math.isfinite(v) for v in record.values())
        assert {"train/total", "val/total", "val/kl", "lr", "tau", "kl_weight"} <= set(record)
    # lr of the last step taken: warm-up 2 then cosine over 6 steps down to min_lr
    expected = 1e-3 * warmup_cosine(5, 2, 6, 1e-5 / 1e-3)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if r["tag"] == "train"]
    assert len(steps) == 6
    assert steps[-1]["train/lr"] == pytest.approx(expected)
    assert [r["train/tau"] for r in steps[:4]] == pytest.approx(
        [1.0, 0.5 ** (1 / 3), 0.5 ** (2 / 3), 0.5]
    )
    assert [r["train/kl_weight"] for r in steps] == pytest.approx([s / 6 for s in range(6)])
    terms = {"chamfer", "eec", "jet", "consistency", "kl", "multiplicity", "existence", "total"}
    assert {f"train/{t}" for t in terms | {"grad_norm"}} <= set(steps[0])
    assert any(r["tag"] == "epoch" and "epoch/val/total" in r for r in rows)


def test_gradient_clipping_bounds_the_norm(tiny_graphs, make_model):
    train, _, _ = tiny_graphs
    model = make_model()
    trainer = Trainer(model, train, None, {**BASE, "max_epochs": 1, "grad_clip": 1e-3})
    seen = []
    original = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm, *args, **kwargs):
        params = list(params)
        total = original(params, max_norm, *args, **kwargs)
        after = torch.linalg.vector_norm(
            torch.stack([p.grad.norm() for p in params if p.grad is not None])
        )
        seen.append((float(total), float(after), max_norm))
        return total

    torch.nn.utils.clip_grad_norm_ = spy
    try:
        trainer.fit()
    finally:
        torch.nn.utils.clip_grad_norm_ = original
    assert len(seen) == 3
    for total, after, max_norm in seen:
        assert max_norm == 1e-3
        assert total > max_norm
        assert after == pytest.approx(max_norm, rel=1e-3)


def test_accumulation_matches_one_large_batch(tiny_graphs, make_model):
    train, _, _ = tiny_graphs
    det = deterministic_overrides()
    cfg = {**BASE, "max_epochs": 1, "warmup_steps": 0, "grad_clip": 0.0}
    big = Trainer(make_model(**det), train[:8], None, {**cfg, "batch_size": 8})
    small = Trainer(
        make_model(**det), train[:8], None, {**cfg, "batch_size": 4, "accumulation_steps": 2}
    )
    big.fit()
    small.fit()
    assert big.step == small.step == 1
    for (name, a), b in zip(
        big.model.state_dict().items(), small.model.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6, msg=name)


def test_validation_ignores_annealing_and_training_rng(tiny_graphs, make_model):
    train, val, _ = tiny_graphs
    trainer = Trainer(
        make_model(), train, val, {**BASE, "kl_warmup_epochs": 5, "kl_max_weight": 0.3}
    )
    first = trainer.validate()
    state = torch.get_rng_state()
    trainer.step = 7  # a different KL weight and temperature
    second = trainer.validate()
    assert torch.equal(state, torch.get_rng_state())
    assert first == second
    assert trainer.kl_weight() != trainer.kl_weight(0)
    weights = {**trainer.model.config.loss_weights}
    weights["kl"] *= trainer.config.kl_max_weight  # the target, not the annealed weight
    expected = sum(weights[k] * first[k] for k in weights)
    assert first["total"] == pytest.approx(expected, rel=1e-5)


def test_early_stopping(tiny_graphs, make_model):
    train, val, _ = tiny_graphs
    trainer = Trainer(
        make_model(), train, val, {**BASE, "max_epochs": 10, "patience": 2, "min_delta": 1e9}
    )
    history = trainer.fit()
    assert trainer.stopped_early
    assert len(history) == 3
    assert trainer.bad_epochs == 2


def test_checkpoints_are_safe_and_complete(tiny_graphs, make_model, tmp_path):
    train, val, norm = tiny_graphs
    trainer = Trainer(
        make_model(), train, val, {**BASE, "max_epochs": 2}, save_dir=tmp_path, normalization=norm
    )
    trainer.fit()
    ckpt = tmp_path / "checkpoints"
    assert sorted(p.name for p in ckpt.iterdir()) == [
        "best.pt",
        "epoch-0001.pt",
        "epoch-0002.pt",
        "last.pt",
    ]
    assert not list(tmp_path.rglob("*.tmp"))
    state = torch.load(ckpt / "last.pt", weights_only=True)  # no code is unpickled
    assert set(state) == {"format", "model", "optimizer", "scheduler", "scaler", "rng", "meta"}
    meta = json.loads(state["meta"])
    assert (meta["epoch"], meta["step"]) == (2, 6)
    for folder in ("best", "final"):
        loaded = hv.HyperVAE.from_pretrained(tmp_path / folder)
        assert loaded.config == trainer.model.config
        assert (tmp_path / folder / "normalization.json").is_file()
    final = hv.HyperVAE.from_pretrained(tmp_path / "final")
    for name, value in trainer.model.state_dict().items():
        assert torch.equal(value, final.state_dict()[name]), name
    torch.save({"format": "other"}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="format"):
        load_checkpoint(tmp_path / "bad.pt")


def test_resume_reproduces_an_uninterrupted_run(tiny_graphs, make_model, tmp_path):
    train, val, _ = tiny_graphs
    cfg = {**BASE, "max_epochs": 3, "latent_noise": 0.1}
    torch.manual_seed(99)
    full = Trainer(make_model(), train, val, cfg, save_dir=tmp_path / "full")
    torch.manual_seed(5)
    full_history = full.fit()
    part = Trainer(make_model(), train, val, cfg, save_dir=tmp_path / "part")
    torch.manual_seed(5)
    part.fit(epochs=1)
    torch.manual_seed(1234)  # whatever happens in between must not matter
    resumed = Trainer(make_model(seed=3), train, val, cfg, save_dir=tmp_path / "part").resume()
    assert (resumed.epoch, resumed.step) == (1, 3)
    history = resumed.fit()
    assert history == full_history
    for name, value in full.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    for a, b in zip(
        full.optimizer.state_dict()["state"].values(),
        resumed.optimizer.state_dict()["state"].values(),
        strict=True,
    ):
        assert torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])


def test_resume_refuses_another_model(tiny_graphs, make_model, tmp_path):
    train, _, _ = tiny_graphs
    Trainer(make_model(), train, None, {**BASE, "max_epochs": 1}, save_dir=tmp_path).fit()
    other = Trainer(
        make_model(latent_dim=3), train, None, {**BASE, "max_epochs": 1}, save_dir=tmp_path
    )
    with pytest.raises(ValueError, match="latent_dim"):
        other.resume()


def test_too_many_particles_is_an_error(tiny_graphs, make_model):
    train, _, _ = tiny_graphs
    model = make_model(max_particles=4)
    with pytest.raises(ValueError, match="max_particles=4"):
        Trainer(model, train, None, {**BASE, "max_epochs": 1}).fit()


def test_bf16_autocast_on_cpu_trains(tiny_graphs, make_model):
    train, val, _ = tiny_graphs
    history = Trainer(
        make_model(), train, val, {**BASE, "max_epochs": 1, "precision": "bf16"}
    ).fit()
    assert math.isfinite(history[0]["train/total"])
    assert math.isfinite(history[0]["val/total"])


def test_fp16_needs_cuda(tiny_graphs, make_model):
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(ValueError, match="fp16"):
        Trainer(make_model(), tiny_graphs[0], None, {**BASE, "precision": "fp16"})


def test_tensorboard_is_optional(tiny_graphs, make_model, tmp_path):
    from hypervae.training import tensorboard_available

    trainer = Trainer(
        make_model(),
        tiny_graphs[0],
        None,
        {**BASE, "max_epochs": 1, "tensorboard": True},
        save_dir=tmp_path,
    )
    if tensorboard_available():
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        trainer.fit()
        events = EventAccumulator(str(tmp_path / "tensorboard"))
        events.Reload()
        tags = set(events.Tags()["scalars"])
        terms = ("chamfer", "eec", "jet", "consistency", "kl", "multiplicity", "existence")
        expected = {f"train/{t}" for t in (*terms, "total", "lr", "tau", "kl_weight", "grad_norm")}
        assert expected <= tags
    else:
        with pytest.warns(RuntimeWarning, match="tensorboard"):
            trainer.fit()
    assert (tmp_path / "metrics.jsonl").stat().st_size > 0


def test_progress_bar(tiny_graphs, make_model, capsys):
    Trainer(make_model(), tiny_graphs[0], None, {**BASE, "max_epochs": 1, "progress": True}).fit()
    assert "epoch 0" in capsys.readouterr().err

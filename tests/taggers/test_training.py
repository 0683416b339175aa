from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest
import torch

from hypervae._config import ConfigError
from hypervae.taggers import (
    ParticleTransformer,
    PHATJeT,
    TaggerData,
    TaggerTrainingConfig,
    build_tagger,
    evaluate_tagger,
    load_tagger,
    predict_proba,
    toy_jets,
    train_tagger,
)
from hypervae.training import flat_then_decay

from .conftest import TINY_PART, TINY_PHAT


def _two_classes(n, seed):
    jets = ak.concatenate([toy_jets(n, 1, seed=seed), toy_jets(n, 3, seed=seed + 1)])
    return TaggerData.from_jets(jets, labels=[0] * n + [1] * n)


def test_tagger_data_from_jets_concat_subset():
    jets = toy_jets(4, 3, n_particles=(2, 5), seed=0)
    data = TaggerData.from_jets(jets)
    assert data.labels.tolist() == [2, 2, 2, 2]  # the 'jet_type' field (t)
    assert data.p4.dtype == torch.float64
    assert data.mask.sum(1).tolist() == ak.num(jets.particles).tolist()
    wide = TaggerData.from_jets(toy_jets(2, 1, n_particles=7, seed=1))
    both = TaggerData.concat([data, wide])
    assert both.p4.shape == (6, 7, 4)
    assert both.mask[:4, data.p4.shape[1] :].sum() == 0
    sub = both.subset([5, 0])
    assert sub.labels.tolist() == [1, 2]
    torch.testing.assert_close(sub.p4[1, : data.p4.shape[1]], data.p4[0])
    batches = list(both.batches(4))
    assert [len(b[3]) for b in batches] == [4, 2]
    with pytest.raises(ValueError, match="jet 1 has no particle"):
        TaggerData(torch.zeros(2, 3, 4), torch.tensor([[True] * 3, [False] * 3]), torch.zeros(2))


def test_schedule_is_flat_then_decays_to_final_fraction():
    cfg = TaggerTrainingConfig(flat_fraction=0.7, final_lr_fraction=0.01)
    assert flat_then_decay(0, 100, 0.7, 0.01) == 1.0
    assert flat_then_decay(69, 100, 0.7, 0.01) == 1.0
    assert flat_then_decay(85, 100, 0.7, 0.01) == pytest.approx(0.1)
    assert flat_then_decay(100, 100, 0.7, 0.01) == pytest.approx(0.01)
    assert TaggerTrainingConfig.from_json(cfg.to_json()) == cfg


def test_build_tagger():
    assert isinstance(
        build_tagger("part", 4, **{k: v for k, v in TINY_PART.items() if k != "num_classes"}),
        ParticleTransformer,
    )
    model = build_tagger("phat-large", 2)
    assert isinstance(model, PHATJeT)
    assert model.config.dims == (128, 256, 512)
    assert model.config.num_classes == 2
    with pytest.raises(ValueError, match="unknown tagger 'gnn'"):
        build_tagger("gnn", 2)


@pytest.mark.slow  # 12-15 s each; the fast tests below train for one or two epochs
@pytest.mark.parametrize(("name", "cfg"), [("part", TINY_PART), ("phat", TINY_PHAT)])
def test_tiny_training_separates_one_from_three_prongs(name, cfg):
    torch.manual_seed(0)
    train, val, test = _two_classes(200, 0), _two_classes(50, 10), _two_classes(100, 20)
    model = build_tagger(name, **{**cfg, "num_classes": 2})
    before = evaluate_tagger(model, test)
    history = train_tagger(model, train, val, {"max_epochs": 12, "batch_size": 32, "lr": 2e-2})
    assert len(history) == 12
    assert history[-1]["lr"] == pytest.approx(2e-2 * 0.01)
    after = evaluate_tagger(model, test, ["one", "three"])
    assert after["accuracy"] > 0.9
    assert after["auc_three"] > 0.97
    assert after["loss"] < before["loss"] - 0.3
    best = min(h["val_loss"] for h in history)
    _, probs = evaluate_tagger(model, val)["loss"], predict_proba(model, val)
    expected = torch.nn.functional.cross_entropy(torch.log(torch.tensor(probs)), val.labels)
    assert expected.item() == pytest.approx(best, rel=1e-4)  # best epoch restored
    assert np.allclose(probs.sum(1), 1.0)


class Stop(Exception):
    """Stands for a crash after an epoch."""


def test_train_tagger_resumes_exactly(tmp_path):
    data = _two_classes(24, 0)
    val = _two_classes(8, 5)
    cfg = {"max_epochs": 2, "batch_size": 16, "lr": 1e-2, "restore_best": False}

    def tagger(seed=0):
        torch.manual_seed(seed)
        return build_tagger("phat", **{**TINY_PHAT, "num_classes": 2})  # dropout 0.1: RNG used

    torch.manual_seed(7)
    straight = tagger()
    history = train_tagger(straight, data, val, cfg, save_dir=tmp_path / "a")

    def crash(record):
        raise Stop

    torch.manual_seed(7)
    with pytest.raises(Stop):
        train_tagger(tagger(), data, val, cfg, callback=crash, save_dir=tmp_path / "b")
    torch.manual_seed(123)  # whatever happens in between does not matter
    resumed = tagger(seed=1)
    again = train_tagger(resumed, data, val, cfg, save_dir=tmp_path / "b", resume=True)
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]
    assert strip(again) == strip(history)
    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    assert (tmp_path / "b" / "final" / "model.safetensors").is_file()
    assert type(load_tagger(tmp_path / "b" / "best")) is PHATJeT


def test_train_tagger_mixed_precision_and_accumulation():
    data = _two_classes(20, 0)
    torch.manual_seed(0)
    model = build_tagger("part", **{**TINY_PART, "num_classes": 2})
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = {"max_epochs": 1, "batch_size": 8, "accumulation_steps": 2, "precision": "bf16",
           "grad_clip": 1.0}  # fmt: skip
    history = train_tagger(model, data, None, cfg)
    assert math.isfinite(history[0]["train_loss"])
    assert 0.0 <= history[0]["train_accuracy"] <= 1.0
    assert not all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert not model.training


def test_tagger_config_is_checked_and_renamed():
    with pytest.raises(ConfigError, match=r"TaggerTrainingConfig\.batch_size: must be >= 1"):
        TaggerTrainingConfig.from_dict({"batch_size": 0})
    with pytest.raises(ConfigError, match=r"TaggerTrainingConfig\.precision: must be one of"):
        TaggerTrainingConfig(precision="fp8")
    with pytest.warns(DeprecationWarning, match="'epochs' is deprecated"):
        cfg = TaggerTrainingConfig.from_dict({"epochs": 3})
    assert cfg.max_epochs == 3
    with pytest.warns(DeprecationWarning, match="use max_epochs"):
        assert cfg.epochs == 3
    with pytest.warns(DeprecationWarning, match="device=None"):
        assert TaggerTrainingConfig(device=None).device == "auto"
    inner = cfg.training_config()
    assert (inner.optimizer, inner.schedule, inner.max_epochs) == ("ranger", "flat_decay", 3)


def test_labels_out_of_range_are_refused_naming_the_jet():
    from hypervae.taggers import TaggerData, build_tagger, train_tagger

    p4 = torch.rand(4, 10, 4) * 10
    p4[..., 0] += 20
    mask = torch.ones(4, 10, dtype=torch.bool)
    model = build_tagger("pointnet-small", num_classes=5, max_particles=10)
    bad = TaggerData(p4, mask, torch.tensor([0, 1, 2, 7]))
    with pytest.raises(ValueError, match=r"train\.labels: jet 3 has label 7, outside 0\.\.4"):
        train_tagger(model, bad, None, {"max_epochs": 1})
    good = TaggerData(p4, mask, torch.tensor([0, 1, 2, 3]))
    negative = TaggerData(p4, mask, torch.tensor([0, -1, 2, 3]))
    with pytest.raises(ValueError, match=r"val\.labels: jet 1 has label -1"):
        train_tagger(model, good, negative, {"max_epochs": 1})

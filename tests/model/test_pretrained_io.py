"""save_pretrained / from_pretrained: format 2, the old flat format, strictness, and
hostile directories refused with the file and field named before anything is allocated."""

from __future__ import annotations

import json

import pytest
import torch

from hypervae import HyperVAE
from hypervae.model import network
from tests.model.helpers import small_model


@pytest.fixture
def saved(tmp_path):
    model = small_model()
    return model, model.save_pretrained(tmp_path / "m")


def test_save_load_round_trip_in_format_2(saved):
    model, path = saved
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]
    meta = json.loads((path / "config.json").read_text())
    assert meta["class"] == "HyperVAE"
    assert meta["format"] == 2
    assert meta["config"] == model.config.to_dict()
    loaded = HyperVAE.from_pretrained(path)
    assert not loaded.training
    assert next(loaded.parameters()).dtype == torch.float64  # the saved precision
    a = model.sample(20, jet_type="t", seed=3)
    b = loaded.sample(20, jet_type="t", seed=3)
    assert a.particles.pt.to_list() == b.particles.pt.to_list()
    c = model.sample(20, jet_type="t", seed=4)
    assert a.particles.pt.to_list() != c.particles.pt.to_list()


def test_the_old_flat_format_loads(saved):
    """config.json holding the config dict alone (the shipped models' format)."""
    model, path = saved
    (path / "config.json").write_text(json.dumps(model.config.to_dict()))
    loaded = HyperVAE.from_pretrained(path)
    assert loaded.config == model.config
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())


def test_strict_loading(saved):
    from safetensors.torch import load_file, save_file

    _, path = saved
    state = load_file(str(path / "model.safetensors"))
    save_file({**state, "extra.weight": torch.zeros(1)}, str(path / "model.safetensors"))
    with pytest.raises(ValueError, match=r"(?s)does not match config\.json.*Unexpected key"):
        HyperVAE.from_pretrained(path)
    state.pop("jet_head.bias")
    save_file(state, str(path / "model.safetensors"))
    with pytest.raises(ValueError, match=r"(?s)does not match config\.json.*Missing key"):
        HyperVAE.from_pretrained(path)
    with pytest.raises(FileNotFoundError, match="no shipped model"):
        HyperVAE.from_pretrained("no-such-model")


def test_corrupted_files_name_the_file(saved):
    _, path = saved
    weights = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(ValueError, match=r"model\.safetensors is truncated or corrupted"):
        HyperVAE.from_pretrained(path)
    (path / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match=r"model\.safetensors is truncated or corrupted"):
        HyperVAE.from_pretrained(path)
    (path / "model.safetensors").write_bytes(weights)
    text = (path / "config.json").read_text()
    (path / "config.json").write_text(text[:20])
    with pytest.raises(ValueError, match=r"config\.json: not valid JSON"):
        HyperVAE.from_pretrained(path)
    meta = json.loads(text)
    # a config that does not match the weights: other widths -> a size mismatch
    (path / "config.json").write_text(
        json.dumps({**meta, "config": {**meta["config"], "hidden": 24}})
    )
    with pytest.raises(ValueError, match=r"(?s)does not match config\.json.*size mismatch"):
        HyperVAE.from_pretrained(path)
    (path / "config.json").write_text(json.dumps({**meta, "class": "PHATJeT"}))
    with pytest.raises(ValueError, match=r"config\.json: holds a PHATJeT, not a HyperVAE"):
        HyperVAE.from_pretrained(path)
    (path / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"no config\.json"):
        HyperVAE.from_pretrained(path)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"max_particles": 100_000_000}, r"HyperVAEConfig\.max_particles: must be <= 1000"),
        ({"hidden": 2e6}, r"HyperVAEConfig\.hidden: expected an int, got 2000000\.0"),
        ({"hidden": 2_000_000}, r"HyperVAEConfig\.hidden: must be <= 4096"),
        ({"max_particles": "30"}, r"HyperVAEConfig\.max_particles: expected an int, got '30'"),
        ({"latent_dim": True}, r"HyperVAEConfig\.latent_dim: expected an int, got True"),
        ({"bogus": 1}, r"HyperVAEConfig\.bogus: unknown key"),
        ({"norm": {"mean": [6.9, float("nan"), 4.8], "std": [0.1, 1.0, 0.5]}},
         r"HyperVAEConfig\.norm\.mean\[1\]: must be finite"),
        ({"norm": {"mean": [6.9, 0.0, 4.8], "std": [0.1, -1.0, 0.5]}},
         r"HyperVAEConfig\.norm\.std\[1\]: must be > 0"),
    ],
)  # fmt: skip
def test_config_values_checked_before_anything_is_allocated(saved, monkeypatch, change, match):
    model, path = saved
    flat = {**model.config.to_dict(), **change}
    (path / "config.json").write_text(json.dumps(flat))  # json writes NaN as NaN

    def allocate(*args, **kwargs):
        msg = "the model was built before the config was checked"
        raise AssertionError(msg)

    monkeypatch.setattr(network.HyperVAE, "__init__", allocate)
    with pytest.raises(ValueError, match=r"config\.json: " + match):
        HyperVAE.from_pretrained(path)


def test_deep_nesting_is_a_clear_error(saved):
    _model, path = saved
    deep = "[" * 100_000 + "]" * 100_000
    (path / "config.json").write_text(f'{{"loss_weights": {deep}}}')
    with pytest.raises(ValueError, match=r"config\.json: not valid JSON"):
        HyperVAE.from_pretrained(path)
    nested = {"kl": 1.0}
    for _ in range(50):
        nested = {"kl": nested}
    (path / "config.json").write_text(json.dumps({"loss_weights": nested}))
    with pytest.raises(ValueError, match=r"config\.json: HyperVAEConfig\.loss_weights\.kl"):
        HyperVAE.from_pretrained(path)


@pytest.mark.parametrize("device", ["banana", "cuda:99", "gpu"])
def test_bad_devices_get_the_device_message(saved, device):
    _, path = saved
    if device == "cuda:99" and torch.cuda.is_available() and torch.cuda.device_count() > 99:
        pytest.skip("a machine with 100 GPUs")
    with pytest.raises(ValueError, match=rf"device.*{device}") as info:
        HyperVAE.from_pretrained(path, device=device)
    assert "truncated" not in str(info.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA present")
def test_cuda_without_a_gpu_is_named(saved):
    _, path = saved
    with pytest.raises(ValueError, match=r"device 'cuda': CUDA is not available"):
        HyperVAE.from_pretrained(path, device="cuda")

"""TrainingConfig, RunConfig and the YAML run file."""

from __future__ import annotations

import dataclasses
import json

import pytest

from hypervae._config import ConfigError
from hypervae.training import RunConfig, TrainingConfig, load_run_config


def test_training_config_round_trips_json():
    cfg = TrainingConfig(lr=3e-4, betas=(0.8, 0.9), precision="bf16", free_bits=0.1)
    assert TrainingConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_unknown_training_key_is_named():
    with pytest.raises(ValueError, match="'learning_rate'"):
        TrainingConfig.from_dict({"learning_rate": 1e-3})


@pytest.mark.parametrize(
    ("field", "value"),
    [("lr", 0.0), ("batch_size", 0), ("precision", "fp8"), ("tau_decay", 1.5), ("grad_clip", -1)],
)
def test_bad_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        TrainingConfig.from_dict({field: value})


def test_yaml_sections_map_onto_dataclasses(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(
        "model:\n  latent_dim: 8\n  encoder: {num_blocks: 1}\n"
        "graph:\n  budget: knn\n  k: 3\n"
        "training:\n  lr: 0.002\n  betas: [0.8, 0.95]\n"
    )
    run = load_run_config(path)
    assert run.model.latent_dim == 8
    assert run.model.encoder.num_blocks == 1
    assert run.graph.k == 3
    assert run.training.lr == 0.002
    assert run.training.betas == (0.8, 0.95)
    assert RunConfig.from_dict(json.loads(json.dumps(run.to_dict()))) == run


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("trainig:\n  lr: 0.1\n", "trainig"),
        ("training:\n  lr: 0.1\n  warmup: 3\n", "warmup"),
        ("model:\n  latentdim: 3\n", "latentdim"),
    ],
)
def test_yaml_unknown_keys_are_named(tmp_path, text, key):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=key):
        load_run_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.yaml"):
        load_run_config(tmp_path / "nope.yaml")


def test_configs_are_frozen_and_replace_checks():
    cfg = TrainingConfig(lr=1e-3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 2e-3  # type: ignore[misc]
    assert cfg.replace(lr=2e-3).lr == 2e-3
    assert cfg.lr == 1e-3
    with pytest.raises(ConfigError, match=r"TrainingConfig\.batch_size: must be >= 1, got 0"):
        cfg.replace(batch_size=0)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"precision": "fp8"}, r"TrainingConfig\.precision: must be one of \['fp32', 'bf16', 'fp16'\]"),
        ({"seed": 10**23}, r"TrainingConfig\.seed: must be <= 4294967295"),
        ({"seed": -1}, r"TrainingConfig\.seed: must be >= 0"),
        ({"optimizer": "sgd"}, r"TrainingConfig\.optimizer: must be one of"),
        ({"betas": [0.9]}, r"TrainingConfig\.betas: expected two values"),
        ({"lr": 1e-6}, r"TrainingConfig\.min_lr: must not exceed lr"),
        ({"batch_size": 2.5}, r"TrainingConfig\.batch_size: expected an int"),
    ],
)  # fmt: skip
def test_bad_values_give_the_dotted_path(values, message):
    with pytest.raises(ConfigError, match=message):
        TrainingConfig.from_dict(values)


def test_deprecated_spellings_still_work():
    with pytest.warns(DeprecationWarning, match="'epochs' is deprecated; use 'max_epochs'"):
        cfg = TrainingConfig.from_dict({"epochs": 4})
    assert cfg.max_epochs == 4
    with pytest.warns(DeprecationWarning, match="device=None is deprecated"):
        assert TrainingConfig(device=None).device == "auto"
    with pytest.raises(ConfigError, match="max_epochs only"):
        TrainingConfig.from_dict({"epochs": 4, "max_epochs": 5})
    with pytest.warns(DeprecationWarning, match="'epochs'"):
        run = RunConfig.from_dict({"training": {"epochs": 2}})
    assert run.training.max_epochs == 2


def test_nested_run_config_errors_name_the_path(tmp_path):
    with pytest.raises(ConfigError, match=r"^RunConfig\.training\.lr: must be > 0"):
        RunConfig.from_dict({"training": {"lr": 0}})
    with pytest.raises(ConfigError, match=r"^RunConfig\.model\.encoder\.blocks: unknown key"):
        RunConfig.from_dict({"model": {"encoder": {"blocks": 2}}})
    path = tmp_path / "run.yaml"
    path.write_text("training: [1, 2\n")
    with pytest.raises(ValueError, match=r"run\.yaml: not valid YAML"):
        load_run_config(path)

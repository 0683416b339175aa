"""TrainingConfig, RunConfig and the YAML run file."""

from __future__ import annotations

import json

import pytest

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

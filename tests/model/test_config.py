"""HyperVAEConfig, JetFeatureNorm and ParticleLGATrConfig: checked at construction."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from hypervae import HyperVAEConfig
from hypervae._config import ConfigError
from hypervae.model import JetFeatureNorm
from hypervae.nn import ParticleLGATr, ParticleLGATrConfig


def test_round_trip_and_unknown_keys():
    cfg = HyperVAEConfig(latent_dim=3, encoder={"backbone": "full"})
    assert isinstance(cfg.encoder, ParticleLGATrConfig)
    assert HyperVAEConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert HyperVAEConfig.from_json(cfg.to_json()) == cfg
    assert HyperVAEConfig.from_dict(cfg) is cfg  # a config instance is returned as it is
    with pytest.raises(ConfigError, match=r"^HyperVAEConfig\.latent: unknown key"):
        HyperVAEConfig.from_dict({"latent": 3})
    with pytest.raises(ConfigError, match=r"^HyperVAEConfig\.encoder\.blocks: unknown key"):
        HyperVAEConfig.from_dict({"encoder": {"blocks": 3}})
    with pytest.raises(ConfigError, match=r"HyperVAEConfig\.loss_weights\.chamfr: unknown loss"):
        HyperVAEConfig(loss_weights={"chamfr": 1.0})
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.latent_dim = 5  # frozen: nobody changes a model's config behind its back


@pytest.mark.parametrize(
    ("values", "path"),
    [
        ({"latent_dim": 0, "hidden": -3}, "latent_dim: must be >= 1"),
        ({"hidden": -3}, "hidden: must be >= 1"),
        ({"hidden": 5000}, "hidden: must be <= 4096"),
        ({"hidden": 2e6}, "hidden: expected an int"),
        ({"max_particles": 0}, "max_particles: must be >= 1"),
        ({"max_particles": 100_000_000}, "max_particles: must be <= 1000"),
        ({"max_particles": "30"}, "max_particles: expected an int, got '30'"),
        ({"particle_output": "polar"}, "particle_output: must be one of"),
        ({"chamfer_space": "cosine"}, "chamfer_space: must be one of"),
        ({"free_bits": math.nan}, "free_bits: must be finite"),
        ({"logvar_min": 5.0, "logvar_max": 4.0}, "logvar_min: must be <= logvar_max"),
        ({"hidden": 18, "num_heads": 4}, "num_heads: must divide hidden=18"),
        ({"loss_weights": {"kl": -1.0}}, r"loss_weights\.kl: must be >= 0"),
        ({"norm": {"mean": [1.0, math.nan, 2.0]}}, r"norm\.mean\[1\]: must be finite"),
        ({"norm": {"std": [0.1, 0.0, 0.5]}}, r"norm\.std\[1\]: must be > 0"),
        ({"norm": {"std": [0.1, 0.5]}}, r"norm\.std: expected 3 values"),
        ({"encoder": {"backbone": "nope"}}, r"encoder\.backbone: must be one of"),
        ({"slot_decoder": {"num_blocks": -1}}, r"slot_decoder\.num_blocks: must be >= 1"),
        ({"decoder": {"num_blocks": -1}}, r"slot_decoder\.num_blocks: must be >= 1"),
        ({"decoder": "banana"}, r"decoder: must be one of \['slots', 'flow'\]"),
        ({"latent_dim": 8, "flow": {"latent_dim": 4}}, r"flow\.latent_dim: must equal"),
    ],
)
def test_bad_values_are_refused_with_the_dotted_path(values, path):
    with pytest.raises(ConfigError, match="^HyperVAEConfig." + path):
        HyperVAEConfig.from_dict(values)


def test_hypervae_config_refuses_at_construction():
    with pytest.raises(ConfigError, match=r"HyperVAEConfig\.latent_dim: must be >= 1, got 0"):
        HyperVAEConfig(latent_dim=0, hidden=-3)


def test_particle_lgatr_config():
    with pytest.raises(ConfigError, match=r"ParticleLGATrConfig\.backbone: must be one of"):
        ParticleLGATrConfig(backbone="nope", num_blocks=1)
    with pytest.raises(ConfigError, match=r"ParticleLGATrConfig\.num_blocks: must be >= 1"):
        ParticleLGATrConfig(num_blocks=-1)
    assert ParticleLGATrConfig.coerce({"num_blocks": 1}) == ParticleLGATrConfig(num_blocks=1)
    with pytest.warns(DeprecationWarning, match="cast is deprecated"):
        assert ParticleLGATrConfig.cast({"num_blocks": 3}).num_blocks == 3
    with pytest.raises(ConfigError, match=r"ParticleLGATrConfig\.blocks: unknown key"):
        ParticleLGATr(1, 1, 1, 1, {"blocks": 2})


def test_jet_feature_norm_fits_and_converts_lists():
    norm = JetFeatureNorm(mean=[1.0, 2.0, 3.0], std=[1.0, 1.0, 1.0])
    assert norm.mean == (1.0, 2.0, 3.0)
    assert norm.to_dict() == {"mean": [1.0, 2.0, 3.0], "std": [1.0, 1.0, 1.0]}
    assert HyperVAEConfig(norm={"mean": [1, 2, 3]}).norm.mean == (1.0, 2.0, 3.0)

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from hypervae._config import ConfigError
from hypervae.taggers import ParticleTransformer, ParticleTransformerConfig

from .conftest import TINY_PART, with_garbage_padding


@pytest.fixture
def model():
    torch.manual_seed(0)
    return ParticleTransformer(TINY_PART).eval()


def test_default_config_matches_design_notes():
    cfg = ParticleTransformerConfig()
    assert (cfg.num_layers, cfg.embed_dim, cfg.num_heads, cfg.mlp_dim) == (8, 256, 16, 1024)
    assert cfg.dropout == 0.1
    assert cfg.num_features == 9


def test_config_round_trips_json_and_rejects_bad_fields():
    cfg = ParticleTransformerConfig.from_dict(TINY_PART)
    again = ParticleTransformerConfig.from_json(json.dumps(json.loads(cfg.to_json())))
    assert again == cfg
    assert again.pair_embed_dims == (8, 8)
    with pytest.raises(
        ConfigError,
        match=r"^ParticleTransformerConfig.embed_dim: 10 must be divisible by num_heads=3",
    ):
        ParticleTransformerConfig(embed_dim=10, num_heads=3)
    with pytest.raises(ConfigError, match=r"^ParticleTransformerConfig.depth: unknown key"):
        ParticleTransformerConfig.from_dict({"depth": 3})
    with pytest.raises(ConfigError, match=r"^ParticleTransformerConfig.num_layers: must be >= 1"):
        ParticleTransformerConfig(num_layers=0)
    with pytest.raises(ConfigError, match=r"^ParticleTransformerConfig.dropout: must be < 1.0"):
        ParticleTransformerConfig(dropout=1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.embed_dim = 3  # type: ignore[misc]


def test_shapes_and_probabilities(model, jets):
    p4, mask = jets
    logits = model(p4, mask)
    assert logits.shape == (3, 3)
    assert logits.dtype == torch.float32
    probs = model.predict_proba(p4, mask)
    torch.testing.assert_close(probs.sum(-1), torch.ones(3))


def test_padding_is_exactly_ignored(model, jets):
    p4, mask = jets
    ref = model(p4, mask)
    for value in (float("nan"), 1e6, -3.0):
        p4g, maskg = with_garbage_padding(p4, mask, n_extra=7, value=value)
        torch.testing.assert_close(model(p4g, maskg), ref, atol=1e-6, rtol=0)


def test_real_particles_matter(model, jets):
    p4, mask = jets
    ref = model(p4, mask)
    changed = p4.clone()
    changed[0, 1] *= 3.0  # a real particle of jet 0
    out = model(changed, mask)
    assert not torch.allclose(out[0], ref[0], atol=1e-4)
    torch.testing.assert_close(out[1:], ref[1:])  # jets are independent


def test_permutation_invariance(model, jets):
    p4, mask = jets
    perm = torch.tensor([4, 2, 5, 0, 3, 1])
    torch.testing.assert_close(
        model(p4[:, perm], mask[:, perm]), model(p4, mask), atol=1e-5, rtol=0
    )


def test_pair_bias_is_used_and_zero_on_padding(model, jets):
    p4, mask = jets
    bias = model.pair_embed(p4, mask)
    assert bias.shape == (3, 2, 6, 6)
    pair = mask[:, :, None] & mask[:, None, :]
    assert torch.all(bias.permute(0, 2, 3, 1)[~pair] == 0)
    assert bias[0, :, :5, :5].abs().sum() > 0
    no_pair = ParticleTransformer({**TINY_PART, "pair_embed_dims": ()})
    assert no_pair.pair_embed is None


def test_extra_features_and_gradients(jets):
    p4, mask = jets
    model = ParticleTransformer({**TINY_PART, "num_extra_features": 2}).train()
    extra = torch.randn(*mask.shape, 2)
    p4g, maskg = with_garbage_padding(p4, mask, n_extra=2, value=0.0)
    p4g.requires_grad_(True)
    extra_g = torch.cat([extra, torch.zeros(3, 2, 2)], dim=1)
    model(p4g, maskg, extra_g).sum().backward()
    assert torch.isfinite(p4g.grad).all()
    assert torch.all(p4g.grad[~maskg] == 0)
    with pytest.raises(ValueError, match="extra: expected 2 features per particle, got 0"):
        model(p4, mask)

"""Published-size presets and budget-matched baselines: budgets, invariances, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from hypervae._config import ConfigError
from hypervae.taggers import build_tagger, count_flops, count_macs, flop_probe_jet
from hypervae.taggers.features import check_jet_type
from hypervae.taggers.metrics import tagging_metrics

from .conftest import make_p4, with_garbage_padding

#: Published parameter counts (5 classes): PHAT-JeT small, Transformer, PointNet.
TARGETS = {"phat-jet": 6694, "transformer-small": 4600, "pointnet-small": 5893}
SMALL = ["phat-jet", "transformer-small", "pointnet-small", "part-small"]


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_parameter_counts_within_ten_percent_of_the_published_budget(name):
    n = _params(build_tagger(name, num_classes=5))
    assert abs(n - TARGETS[name]) <= 0.1 * TARGETS[name], n


def test_medium_and_large_presets_grow_and_take_overrides():
    sizes = [_params(build_tagger(n, 5)) for n in ("phat-jet", "phat-jet-medium", "phat-jet-large")]
    assert sizes[0] < sizes[1] < sizes[2]
    model = build_tagger("phat-jet", num_classes=2, sort_by="morton", aggregation="mean")
    assert (model.config.sort_by, model.config.aggregation) == ("morton", "mean")
    with pytest.raises(ValueError, match=r"name: unknown tagger 'phat-jet-huge'; expected one of"):
        build_tagger("phat-jet-huge", 5)
    with pytest.raises(ConfigError, match=r"^PHATJeTConfig.depth: unknown key"):
        build_tagger("phat-jet", 5, depth=3)


def test_flop_count_matches_a_hand_count_for_pointnet():
    model = build_tagger("pointnet-small", num_classes=5)
    p = 150
    per_particle = 16 * 32 + 32 * 64
    head = 64 * 48 + 48 * 5
    assert count_macs(model, p) == p * per_particle + head
    assert count_flops(model, p) == 2 * (p * per_particle + head)


def test_flop_count_of_transformer_attention_by_hand():
    model = build_tagger("transformer-small", num_classes=5)
    p, d, m = 20, 16, 24
    linears = p * 16 * d + 2 * p * (4 * d * d + 2 * d * m) + d * 5
    attention = 2 * (2 * p * p * d)  # QK^T and AV in each of 2 blocks
    assert count_macs(model, p) == linears + attention


def test_phat_jet_flops_are_near_the_published_budget():
    flops = count_flops(build_tagger("phat-jet", num_classes=5), 150)
    assert 0.8 * 1.31e6 < flops < 1.3 * 1.31e6, flops  # our sizes; published 1.31 MFLOPs


def _jets(n_jets: int, n_particles: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    pt = 1.0 + 200.0 * torch.rand(n_jets, n_particles, generator=g, dtype=torch.float64)
    eta = 0.3 * torch.randn(n_jets, n_particles, generator=g, dtype=torch.float64)
    phi = 0.3 * torch.randn(n_jets, n_particles, generator=g, dtype=torch.float64)
    mask = (
        torch.arange(n_particles)[None]
        < torch.tensor([n_particles, n_particles - 7])[:n_jets, None]
    )
    return make_p4(pt, eta, phi), mask


@pytest.mark.parametrize("name", SMALL)
def test_permutation_invariance_and_padding(name):
    torch.manual_seed(0)
    model = build_tagger(name, num_classes=5).eval()
    p4, mask = _jets(2, 40, seed=1)
    ref = model(p4, mask)
    perm = torch.randperm(40, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(model(p4[:, perm], mask[:, perm]), ref, atol=2e-5, rtol=0)
    p4g, maskg = with_garbage_padding(p4, mask, n_extra=9, value=math.nan)
    torch.testing.assert_close(model(p4g, maskg), ref, atol=2e-5, rtol=0)


@pytest.mark.parametrize("name", SMALL)
def test_bad_input_errors_name_the_argument(name):
    model = build_tagger(name, num_classes=5, max_particles=30).eval()
    p4, mask = _jets(2, 40, seed=3)
    with pytest.raises(ValueError, match=r"mask: jet 0 has 40 real particles; .* max_particles=30"):
        model(p4, mask)
    p4, mask = p4[:, :30], mask[:, :30]
    with pytest.raises(ValueError, match=r"p4: expected shape \[B, P, 4\]"):
        model(torch.cat([p4, p4[..., :1]], -1), mask)
    with pytest.raises(ValueError, match="extra: expected 0 features per particle, got 3"):
        model(p4, mask, torch.zeros(2, 30, 3))
    bad = p4.clone()
    bad[1, 4, 2] = math.nan
    with pytest.raises(ValueError, match="p4: jet 1 has a non-finite 4-momentum"):
        model(bad, mask)
    bad, short = p4.clone(), mask.clone()
    short[1, 25:] = False
    bad[1, 29, 2] = math.nan  # a padded slot of jet 1: fine
    assert torch.isfinite(model(bad, short)).all()


def test_label_out_of_range_is_named():
    with pytest.raises(
        ValueError, match=r"jet_type: jet 2 has class 5; expected an integer 0 <= class < 5"
    ):
        check_jet_type(torch.tensor([0, 4, 5]), 5)
    with pytest.raises(ValueError, match=r"jet_type: jet 0 has class -1"):
        check_jet_type(torch.tensor([-1]), 5)
    probs = torch.full((3, 2), 0.5).numpy()
    with pytest.raises(ValueError, match=r"labels: jet 1 has class 2"):
        tagging_metrics([0, 2, 1], probs)


def test_probe_jet_is_deterministic():
    a, _ = flop_probe_jet(10)
    b, mask = flop_probe_jet(10)
    assert torch.equal(a, b)
    assert mask.all()

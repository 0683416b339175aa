from __future__ import annotations

import pytest
import torch

from hypervae._config import ConfigError
from hypervae.taggers import PHATJeT, PHATJeTConfig, kinematics, sort_particles
from hypervae.taggers.phat import _morton

from .conftest import TINY_PHAT, with_garbage_padding

TINY_NEW = {
    "num_classes": 3,
    "dims": (8, 16),
    "depths": (1, 1),
    "num_heads": (2, 2),
    "patch_sizes": (4, 2),
    "strides": (1, 3),
    "grid_size": 8,
    "cpe": True,
    "aggregation": "max",
    "dropout": 0.1,
}


def test_config_is_checked_frozen_and_round_trips():
    cfg = PHATJeTConfig.from_dict(TINY_NEW)
    assert PHATJeTConfig.from_json(cfg.to_json()) == cfg
    assert cfg.patch_sizes == (4, 2)
    with pytest.raises(ConfigError, match=r"^PHATJeTConfig.sort_by: must be one of \['kt'"):
        PHATJeTConfig(sort_by="random")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^PHATJeTConfig.aggregation: must be one of"):
        PHATJeTConfig(aggregation="sum")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"dims\[1\]: 10 must be divisible by num_heads\[1\]=4"):
        PHATJeTConfig.from_dict({**TINY_NEW, "dims": (8, 10), "num_heads": (2, 4)})
    with pytest.raises(ConfigError, match=r"^PHATJeTConfig.strides: need one entry per stage"):
        PHATJeTConfig.from_dict({**TINY_NEW, "strides": (1,)})
    with pytest.raises(ConfigError, match=r"^PHATJeTConfig.strides\[0\]: the first stage"):
        PHATJeTConfig.from_dict({**TINY_NEW, "strides": (2, 2)})
    with pytest.raises(ConfigError, match=r"^PHATJeTConfig.patch_sizes\[1\]: must be >= 1"):
        PHATJeTConfig.from_dict({**TINY_NEW, "patch_sizes": (4, 0)})
    with pytest.raises(ConfigError, match=r"^PHATJeTConfig.max_particles: must be >= 1"):
        PHATJeTConfig(max_particles=0)
    with pytest.raises(ConfigError, match=r"^PHATJeTConfig.cpe_kernel: must be odd, got 4"):
        PHATJeTConfig(cpe_kernel=4)


def test_first_version_names_still_load():
    assert PHATJeTConfig.preset("small").dims == (64, 128)
    assert PHATJeTConfig.preset("large").num_heads == (4, 8, 16)
    with pytest.warns(DeprecationWarning, match="'ordering' and 'patch_size'"):
        old = PHATJeTConfig.from_dict({**TINY_PHAT, "ordering": "pt"})
    assert old.sort_by == "pt"
    assert old.patch_sizes == (4, 4)
    assert old.strides == (1, 2)
    assert (old.features, old.aggregation, old.cpe, old.max_particles) == (
        "part",
        "mean",
        False,
        None,
    )
    with pytest.raises(ValueError, match="unknown PHAT-JeT preset"):
        PHATJeTConfig.preset("huge")


def test_morton_code_interleaves_bits():
    i = torch.tensor([0, 1, 0, 1, 2, 3])
    j = torch.tensor([0, 0, 1, 1, 0, 3])
    assert _morton(i, j).tolist() == [0, 2, 1, 3, 8, 15]


def test_sorting_puts_padding_last(jets):
    p4, mask = jets
    kin = kinematics(p4, mask)
    order = sort_particles(kin, mask, "pt")
    pt_sorted = kin["pt"].gather(1, order)
    assert torch.all(pt_sorted[0, :4] >= pt_sorted[0, 1:5])
    assert mask.gather(1, order)[1].tolist() == [True] * 3 + [False] * 3
    eta_order = sort_particles(kin, mask, "eta")
    deta = kin["deta"].gather(1, eta_order)[0, :5]
    assert torch.all(deta[:-1] <= deta[1:])


@pytest.mark.parametrize("sort_by", ["kt", "pt", "eta", "morton"])
@pytest.mark.parametrize("cfg", [TINY_PHAT, TINY_NEW], ids=["first-version", "stages"])
def test_permutation_and_padding_invariance(sort_by, cfg, jets):
    torch.manual_seed(0)
    model = PHATJeT({**cfg, "sort_by": sort_by}).eval()
    p4, mask = jets
    ref = model(p4, mask)
    assert ref.shape == (3, 3)
    perm = torch.tensor([3, 5, 1, 0, 4, 2])
    torch.testing.assert_close(model(p4[:, perm], mask[:, perm]), ref, atol=1e-5, rtol=0)
    p4g, maskg = with_garbage_padding(p4, mask, n_extra=11, value=float("nan"))
    torch.testing.assert_close(model(p4g, maskg), ref, atol=1e-6, rtol=0)


def test_real_particles_matter_and_gradients_are_finite(jets):
    torch.manual_seed(0)
    model = PHATJeT(TINY_NEW).eval()
    p4, mask = jets
    ref = model(p4, mask)
    changed = p4.clone()
    changed[1, 2, 1:3] *= -1.0  # flip one real particle of jet 1 in azimuth
    out = model(changed, mask)
    assert not torch.allclose(out[1], ref[1], atol=1e-4)
    torch.testing.assert_close(out[[0, 2]], ref[[0, 2]])
    p4g, maskg = with_garbage_padding(p4, mask, n_extra=3, value=0.0)
    p4g.requires_grad_(True)
    model.train()(p4g, maskg).sum().backward()
    assert torch.isfinite(p4g.grad).all()
    assert torch.all(p4g.grad[~maskg] == 0)
    for name, param in model.named_parameters():
        assert param.grad is not None, name


def test_three_stage_model_runs_on_odd_sizes():
    torch.manual_seed(0)
    cfg = {**TINY_PHAT, "dims": (8, 8, 16), "depths": (1, 1, 1), "num_heads": (2, 2, 2)}
    model = PHATJeT(cfg).eval()
    p4 = torch.rand(2, 13, 4, dtype=torch.float64) * 10
    p4[..., 0] = p4[..., 1:].norm(dim=-1) + 0.1
    mask = torch.ones(2, 13, dtype=torch.bool)
    assert model(p4, mask).shape == (2, 3)

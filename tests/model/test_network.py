from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from hypervae import HyperVAE
from hypervae.model import Decoded, Posterior
from tests.lorentz import random_lorentz
from tests.model.helpers import jet_graph, small_model


def test_encoder_lorentz_invariant():
    model = small_model(use_edges=False, use_hyperedges=False).eval()
    batch = Batch.from_data_list([jet_graph(5, 1), jet_graph(7, 2)])
    mu, logvar = model.encode(batch)
    moved = batch.clone()
    moved.x = batch.x @ random_lorentz(torch.Generator().manual_seed(3)).T
    mu2, logvar2 = model.encode(moved)
    assert (mu2 - mu).abs().max() < 1e-5
    assert (logvar2 - logvar).abs().max() < 1e-5


def test_encoder_permutation_and_batch_invariant():
    model = small_model().eval()
    graph = jet_graph(6, 4)
    perm = torch.randperm(6, generator=torch.Generator().manual_seed(5))
    inverse = torch.argsort(perm)
    shuffled = graph.clone()
    shuffled.x = graph.x[perm]
    shuffled.edge_index = inverse[graph.edge_index]
    shuffled.hyperedge_index = torch.stack(
        [inverse[graph.hyperedge_index[0]], graph.hyperedge_index[1]]
    )
    mu_a, _ = model.encode(Batch.from_data_list([graph]))
    mu_b, _ = model.encode(Batch.from_data_list([shuffled]))
    torch.testing.assert_close(mu_a, mu_b)
    # padding and batch neighbours do not change a jet's encoding
    mu_c, _ = model.encode(Batch.from_data_list([jet_graph(8, 6), graph, jet_graph(3, 7)]))
    torch.testing.assert_close(mu_c[1:2], mu_a)


@pytest.mark.parametrize("particle_output", ["frame", "vector"])
def test_decoder_lorentz_equivariant(particle_output):
    model = small_model(particle_output=particle_output).eval()
    g = torch.Generator().manual_seed(8)
    z = torch.randn(3, 4, generator=g, dtype=torch.float64)
    types = torch.tensor([0, 2, 4])
    jet = torch.tensor([[1.1, 1.0, 0.0, 0.0]] * 3, dtype=torch.float64)
    out = model.decode(z, types, jet)
    lam = random_lorentz(g)
    basis = torch.eye(4, dtype=torch.float64).expand(3, 4, 4)
    moved = model.decode(z, types, jet @ lam.T, basis @ lam.T)
    assert (moved.p4 - out.p4 @ lam.T).abs().max() < 1e-5
    assert (moved.exist_logits - out.exist_logits).abs().max() < 1e-5
    # the frame basis lets particles point away from the jet axis (not all parallel to J)
    assert int(torch.linalg.matrix_rank(out.p4[0])) == 4


def test_frame_output_is_massless_with_positive_energy():
    model = small_model().eval()
    g = torch.Generator().manual_seed(3)
    z = torch.randn(64, 4, generator=g, dtype=torch.float64) * 3
    jet = torch.tensor([[1.05, 1.0, 0.0, 0.0]] * 64, dtype=torch.float64)
    with torch.no_grad():
        p4 = model.decode(z, torch.zeros(64, dtype=torch.long), jet).p4
    mass2 = p4[..., 0] ** 2 - (p4[..., 1:] ** 2).sum(-1)
    assert bool((p4[..., 0] > 0).all())
    assert float((mass2 / p4[..., 0] ** 2).abs().max()) < 1e-12
    # slots differ from one another (not one particle repeated)
    assert float(p4[0].std(0).norm()) > 1e-4


def test_every_parameter_gets_a_gradient():
    model = small_model()
    batch = Batch.from_data_list([jet_graph(5, 9), jet_graph(8, 10), jet_graph(3, 11)])
    losses = model.compute_loss(batch, tau=0.5)
    assert set(losses) == {
        "chamfer",
        "eec",
        "jet",
        "consistency",
        "kl",
        "multiplicity",
        "existence",
        "total",
    }
    losses["total"].backward()
    missing = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)
    ]
    assert missing == []
    # the topology (existence logits) is reached through the Gumbel-softmax relaxation
    model.zero_grad()
    out = model(batch, tau=0.5)
    ((out["exist_soft"].sum(1) - 3.0) ** 2).mean().backward()
    assert model.particle_decoder.lgatr.net.linear_out.linear_s.weight.grad.abs().sum() > 0


def test_too_many_particles_refused_not_truncated():
    model = small_model()  # max_particles = 8
    batch = Batch.from_data_list([jet_graph(5, 0), jet_graph(9, 1)])
    with pytest.raises(ValueError, match=r"jet 1 of the batch has 9 particles.*max_particles=8"):
        model.encode(batch)


def test_angular_chamfer_features_see_directions():
    model = small_model()
    # two soft particles in the jet frame (jet along +x): collinear and at 0.5 rad
    soft = torch.tensor([[[0.01, 0.01, 0.0, 0.0], [0.01, 0.01 * 0.8776, 0.01 * 0.4794, 0.0]]])
    f = model.chamfer_features(soft.double())
    assert torch.allclose(f[0, :, 0], soft[0, :, 0].double())
    assert float(f[0, 1, 1]) == pytest.approx(0.4794, abs=1e-4)  # sin of the angle off the axis
    momentum = small_model(chamfer_space="momentum").chamfer_features(soft)
    assert torch.equal(momentum, soft)
    # in momentum space the two differ by ~5e-3; in angular space by the angle itself
    assert float((f[0, 0] - f[0, 1]).norm()) > 50 * float((soft[0, 0] - soft[0, 1]).norm()) / 5


def test_consistency_includes_the_log_mass_difference():
    batch = Batch.from_data_list([jet_graph(5, 9), jet_graph(8, 10)])
    values = {}
    for weight in (0.0, 1.0, 2.0):
        model = small_model(consistency_mass_weight=weight)
        torch.manual_seed(1)  # the same posterior and Gumbel draws for every weight
        values[weight] = float(model.compute_loss(batch, tau=0.5)["consistency"].detach())
    mass_term = values[1.0] - values[0.0]
    assert mass_term > 1e-6
    assert values[2.0] - values[0.0] == pytest.approx(2 * mass_term, rel=1e-9)


def test_typed_outputs_keep_the_old_access():
    model = small_model().eval()
    batch = Batch.from_data_list([jet_graph(5, 1), jet_graph(7, 2)])
    post = model.encode(batch)
    assert isinstance(post, Posterior)
    mu, logvar = post  # the former (mu, logvar) tuple
    assert torch.equal(mu, post.mu)
    assert torch.equal(post.std, (0.5 * logvar).exp())
    out = model.decode(mu, torch.tensor([2, 2]))
    assert isinstance(out, Decoded)
    assert out.p4.shape == (2, 8, 4)
    assert out.exist_logits.shape == (2, 8)
    assert out.mult_logits.shape == (2, 8)
    assert out.jet.shape == (2, 3)
    with pytest.warns(DeprecationWarning, match=r"decode\(\.\.\.\)\['p4'\] is deprecated"):
        assert torch.equal(out["p4"], out.p4)
    with pytest.raises(KeyError):
        out["nope"]


def test_state_dicts_from_before_the_package_split_load():
    """Weights saved when the slot decoder's parameters sat on the model itself
    (``slot_embedding``, ``decoder_lgatr.*``: the shipped models) load strictly."""
    model = small_model()
    state = model.state_dict()
    old = {
        k.replace("particle_decoder.lgatr.", "decoder_lgatr.").replace(
            "particle_decoder.slot_embedding", "slot_embedding"
        ): v
        for k, v in state.items()
    }
    assert "slot_embedding" in old
    assert not any(k.startswith("particle_decoder") for k in old)
    fresh = HyperVAE(model.config).double()
    fresh.load_state_dict(old, strict=True)
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in state.items())

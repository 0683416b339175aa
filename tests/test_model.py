from __future__ import annotations

import json

import awkward as ak
import pytest
import torch
from torch_geometric.data import Batch, Data

from hypervae import HyperVAE, HyperVAEConfig
from tests.lorentz import random_lorentz


class HData(Data):
    """Minimal hypergraph data: hyperedge ids increment by the number of hyperedges."""

    def __inc__(self, key, value, *args, **kwargs):
        if key == "hyperedge_index":
            return torch.tensor([[self.num_nodes], [self.hyperedge_attr.shape[0]]])
        return super().__inc__(key, value, *args, **kwargs)


def jet_graph(n: int, seed: int, jet_type: int = 2) -> HData:
    g = torch.Generator().manual_seed(seed)
    p = torch.randn(n, 3, generator=g, dtype=torch.float64) * 0.1
    p[:, 0] += 1.0 / n
    x = torch.cat([torch.sqrt((p**2).sum(1, keepdim=True) + 1e-4), p], 1)
    edges = torch.combinations(torch.arange(n), 2).T
    tuples = torch.combinations(torch.arange(n), 3)[:4]
    incidence = torch.stack([tuples.reshape(-1), torch.arange(len(tuples)).repeat_interleave(3)])
    return HData(
        x=x,
        edge_index=edges,
        edge_attr=torch.randn(edges.shape[1], 5, generator=g, dtype=torch.float64),
        hyperedge_index=incidence,
        hyperedge_attr=torch.randn(len(tuples), 4, generator=g, dtype=torch.float64),
        jet_type=torch.tensor([jet_type]),
        jet_features=torch.tensor([[1000.0, 0.3, 170.0]], dtype=torch.float64),
        num_nodes=n,
    )


def small_model(**kwargs) -> HyperVAE:
    cfg = {
        "max_particles": 8,
        "latent_dim": 4,
        "hidden": 16,
        "encoder": {"num_blocks": 1},
        "decoder": {"num_blocks": 1},
    }
    torch.manual_seed(0)
    return HyperVAE({**cfg, **kwargs}).double()


def test_config_round_trip_and_errors():
    cfg = HyperVAEConfig(latent_dim=3, encoder={"backbone": "full"})
    assert HyperVAEConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="unknown HyperVAEConfig keys: \\['latent'\\]"):
        HyperVAEConfig.from_dict({"latent": 3})
    with pytest.raises(ValueError, match="unknown loss_weights"):
        HyperVAEConfig(loss_weights={"chamfr": 1.0})


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
    assert (moved["p4"] - out["p4"] @ lam.T).abs().max() < 1e-5
    assert (moved["exist_logits"] - out["exist_logits"]).abs().max() < 1e-5
    # the frame basis lets particles point away from the jet axis (not all parallel to J)
    assert int(torch.linalg.matrix_rank(out["p4"][0])) == 4


def test_frame_output_is_massless_with_positive_energy():
    model = small_model().eval()
    g = torch.Generator().manual_seed(3)
    z = torch.randn(64, 4, generator=g, dtype=torch.float64) * 3
    jet = torch.tensor([[1.05, 1.0, 0.0, 0.0]] * 64, dtype=torch.float64)
    with torch.no_grad():
        p4 = model.decode(z, torch.zeros(64, dtype=torch.long), jet)["p4"]
    mass2 = p4[..., 0] ** 2 - (p4[..., 1:] ** 2).sum(-1)
    assert bool((p4[..., 0] > 0).all())
    assert float((mass2 / p4[..., 0] ** 2).abs().max()) < 1e-12
    # slots differ from one another (not one particle repeated)
    assert float(p4[0].std(0).norm()) > 1e-4
    with pytest.raises(ValueError, match="particle_output must be one of"):
        HyperVAEConfig(particle_output="polar")


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
    assert model.decoder_lgatr.net.linear_out.linear_s.weight.grad.abs().sum() > 0


def test_sample_types_and_shapes():
    model = small_model()
    jets = model.sample(40, jet_type={"g": 0.5, "t": 0.5}, seed=1, batch_size=16)
    assert len(jets) == 40
    assert set(jets.jet_type.to_list()) <= {0, 2}
    assert len(set(jets.jet_type.to_list())) == 2
    assert max(jets.n_particles.to_list()) <= 8
    assert min(jets.n_particles.to_list()) >= 1
    pts = jets.particles.pt.to_list()
    assert all(p == sorted(p, reverse=True) for p in pts)
    with pytest.raises(ValueError, match="unknown jet type"):
        model.sample(2, jet_type="h")


def test_save_load_round_trip(tmp_path):
    model = small_model()
    model.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    loaded = HyperVAE.from_pretrained(tmp_path / "m").double()
    a = model.sample(20, jet_type="t", seed=3)
    b = loaded.sample(20, jet_type="t", seed=3)
    assert a.particles.pt.to_list() == b.particles.pt.to_list()
    c = model.sample(20, jet_type="t", seed=4)
    assert a.particles.pt.to_list() != c.particles.pt.to_list()


def test_strict_loading(tmp_path):
    from safetensors.torch import load_file, save_file

    model = small_model()
    path = model.save_pretrained(tmp_path / "m")
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


def test_corrupted_model_files_name_the_file(tmp_path):
    path = small_model().save_pretrained(tmp_path / "m")
    weights = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(ValueError, match=r"model\.safetensors is truncated or corrupted"):
        HyperVAE.from_pretrained(path)
    (path / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match=r"model\.safetensors is truncated or corrupted"):
        HyperVAE.from_pretrained(path)
    (path / "model.safetensors").write_bytes(weights)
    config = (path / "config.json").read_text()
    (path / "config.json").write_text(config[:20])
    with pytest.raises(ValueError, match=r"config\.json: not valid JSON"):
        HyperVAE.from_pretrained(path)
    # a config that does not match the weights: other widths -> a size mismatch
    (path / "config.json").write_text(json.dumps({**json.loads(config), "hidden": 24}))
    with pytest.raises(ValueError, match=r"(?s)does not match config\.json.*size mismatch"):
        HyperVAE.from_pretrained(path)
    (path / "config.json").write_text(json.dumps({**json.loads(config), "bogus": 1}))
    with pytest.raises(ValueError, match=r"config\.json: unknown HyperVAEConfig keys: \['bogus'\]"):
        HyperVAE.from_pretrained(path)
    (path / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"no config\.json"):
        HyperVAE.from_pretrained(path)


def test_too_many_particles_refused_not_truncated():
    model = small_model()  # max_particles = 8
    batch = Batch.from_data_list([jet_graph(5, 0), jet_graph(9, 1)])
    with pytest.raises(ValueError, match=r"jet 1 of the batch has 9 particles.*max_particles=8"):
        model.encode(batch)


def test_learned_prior_fit_and_sampling(tmp_path):
    torch.manual_seed(0)
    model = HyperVAE(
        HyperVAEConfig(max_particles=8, latent_dim=4, hidden=16, prior_components=2)
    ).double()
    assert not bool(model.prior.fitted.any())
    # unfitted: the learned prior is the standard normal, so both priors agree exactly
    a = model.sample(30, jet_type="t", seed=5, prior="learned")
    b = model.sample(30, jet_type="t", seed=5, prior="normal")
    assert ak.all(a.n_particles > 0)
    graphs = [jet_graph(6, s) for s in range(12)]
    batches = [Batch.from_data_list(graphs[:6]), Batch.from_data_list(graphs[6:])]
    prior = model.fit_prior(batches, draws=100)
    assert prior.fitted.tolist() == [False, False, True, False, False]
    # the mixture reproduces the aggregate posterior's moments: mean E[mu] and second
    # moment E[mu^2] + E[sigma^2] (per dimension), estimated from 1200 draws
    mu, logvar = model.encode(Batch.from_data_list(graphs))
    z = prior.sample(torch.full((20000,), 2), torch.Generator().manual_seed(0))
    assert torch.allclose(z.mean(0), mu.mean(0).to(z.dtype), atol=0.1)
    second = (mu**2 + logvar.exp()).mean(0).to(z.dtype)
    assert torch.allclose((z**2).mean(0), second, rtol=0.15, atol=0.05)
    model.save_pretrained(tmp_path / "m")
    loaded = HyperVAE.from_pretrained(tmp_path / "m").double()
    assert torch.equal(loaded.prior.means, model.prior.means)
    c = loaded.sample(30, jet_type="t", seed=5)
    d = model.sample(30, jet_type="t", seed=5)
    assert c.particles.pt.to_list() == d.particles.pt.to_list()
    assert a.particles.pt.to_list() == b.particles.pt.to_list()
    with pytest.raises(ValueError, match="prior must be 'learned' or 'normal'"):
        model.sample(2, jet_type="t", prior="gmm")
    head = model.sample(10, jet_type="t", seed=1, head=True)
    assert {"head_pt", "head_eta", "head_mass"} <= set(head.fields)
    assert ak.all(head.head_pt > 0)


def test_fit_prior_needs_components():
    with pytest.raises(ValueError, match="prior_components > 0"):
        small_model().fit_prior([])


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
    with pytest.raises(ValueError, match="chamfer_space must be one of"):
        HyperVAEConfig(chamfer_space="cosine")


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

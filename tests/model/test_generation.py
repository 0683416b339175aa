"""Sampling: types and shapes, exact massless output, seed stability, untouched global
RNG, argument checks, non-finite output refused, the learned prior."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from hypervae import HyperVAE, HyperVAEConfig
from tests.model.helpers import jet_graph, small_model


@pytest.fixture(scope="module")
def model32():
    """A tiny float32 model (the dtype the shipped models sample in)."""
    torch.manual_seed(0)
    cfg = {"max_particles": 8, "latent_dim": 4, "hidden": 16, "prior_components": 2,
           "encoder": {"num_blocks": 1}, "decoder": {"num_blocks": 1}}  # fmt: skip
    model = HyperVAE(cfg)
    graphs = [jet_graph(6, s, jet_type=s % 2 * 2) for s in range(12)]
    model.fit_prior([Batch.from_data_list(graphs)], draws=20)  # types 0 and 2 fitted
    return model


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


def test_generated_particles_are_massless_to_float64_precision(model32):
    jets = model32.sample(200, jet_type=None, seed=2)
    p = ak.flatten(jets.particles)
    assert ak.all(p.mass == 0.0)
    # m^2 from the records' own (E, px, py, pz), as any reader of the file sees them
    e, px, py, pz = (ak.to_numpy(getattr(p, f)).astype(np.float64) for f in ("E", "px", "py", "pz"))
    m2 = e**2 - px**2 - py**2 - pz**2
    assert np.max(np.abs(m2) / e**2) < 1e-9
    assert np.all(e > 0)


def test_same_seed_same_jets_whatever_the_batch_size(model32):
    kwargs = {"jet_type": {"g": 0.3, "t": 0.5, "q": 0.2}, "seed": 11}
    ref = model32.sample(300, batch_size=300, **kwargs)

    def same(a, b):
        # the draws (types, latent codes, multiplicities, azimuths) are identical; float32
        # matrix products of different batch shapes may differ in the last bits
        assert a.jet_type.to_list() == b.jet_type.to_list()
        assert a.n_particles.to_list() == b.n_particles.to_list()
        for field in ("pt", "eta", "phi"):
            x = ak.to_numpy(ak.flatten(a.particles[field]))
            y = ak.to_numpy(ak.flatten(b.particles[field]))
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-5)

    for batch_size in (1, 7, 256):
        same(model32.sample(300, batch_size=batch_size, **kwargs), ref)
    # a prefix of the stream is the same jets; chunks concatenate to the whole
    same(model32.sample(10, batch_size=3, **kwargs), ref[:10])
    chunks = list(model32.iter_sample(300, batch_size=64, chunk_size=128, **kwargs))
    assert [len(c) for c in chunks] == [128, 128, 44]
    same(ak.concatenate(chunks), ref)
    other = model32.sample(300, **{**kwargs, "seed": 12})
    assert not np.allclose(ak.to_numpy(other.pt), ak.to_numpy(ref.pt), rtol=1e-3)


def test_sampling_leaves_the_global_rngs_untouched(model32):
    torch.manual_seed(5)
    np.random.seed(5)
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    a = model32.sample(20, seed=None, jet_type=None)
    b = model32.sample(20, seed=None, jet_type=None)
    model32.sample(20, seed=3, temperature=0.5)
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()
    assert after[0] == numpy_state[0]
    assert np.array_equal(after[1], numpy_state[1])
    assert after[2:] == numpy_state[2:]
    assert a.particles.pt.to_list() != b.particles.pt.to_list()  # fresh entropy each call


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_jets": 0}, ValueError, r"n_jets: expected an int >= 1, got 0"),
        ({"n_jets": -5}, ValueError, r"n_jets: expected an int >= 1, got -5"),
        ({"n_jets": "abc"}, TypeError, r"n_jets: expected an int >= 1, got 'abc'"),
        ({"n_jets": 2.5}, TypeError, r"n_jets: expected an int"),
        ({"temperature": 0.0}, ValueError, r"temperature: expected a finite number > 0"),
        ({"temperature": -1.0}, ValueError, r"temperature: expected a finite number > 0"),
        ({"temperature": float("nan")}, ValueError, r"temperature: expected a finite"),
        ({"temperature": float("inf")}, ValueError, r"temperature: expected a finite"),
        ({"temperature": "hot"}, TypeError, r"temperature: expected a finite"),
        ({"seed": "abc"}, TypeError, r"seed: expected an int or None, got 'abc'"),
        ({"seed": 1.5}, TypeError, r"seed: expected an int or None"),
        ({"batch_size": 0}, ValueError, r"batch_size: expected an int >= 1, got 0"),
        ({"prior": "gmm"}, ValueError, r"prior must be 'learned' or 'normal'"),
        ({"n_jets": 10**12}, ValueError, r"n_jets=1000000000000: the jets would need about"),
    ],
)
def test_bad_sample_arguments_are_named(model32, kwargs, error, match):
    kwargs = {"n_jets": 3, **kwargs}
    with pytest.raises(error, match=match):
        model32.sample(**kwargs)


def test_deprecated_n_still_works(model32):
    with pytest.warns(DeprecationWarning, match=r"sample\(n=\.\.\.\) is deprecated"):
        jets = model32.sample(n=4, seed=1)
    assert jets.pt.to_list() == model32.sample(4, seed=1).pt.to_list()


def test_non_finite_output_is_refused_not_returned(model32):
    # a temperature of 1e6 overflows the jet head of this model (exp of ~1e4)
    with pytest.raises(ValueError, match=r"non-finite or zero-pT values for jet \d+"):
        model32.sample(20, seed=0, temperature=1e6)
    broken = HyperVAE(model32.config)
    broken.norm_std.fill_(float("nan"))  # as a NaN normalisation in config.json would do
    with pytest.raises(ValueError, match=r"non-finite or zero-pT values for jet 0"):
        broken.sample(2, seed=0)


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
    assert a.particles.pt.to_list() == b.particles.pt.to_list()
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
    # the per-jet draw (inverse-CDF component, then mean + std * eps) has the same moments
    g = torch.Generator().manual_seed(1)
    zt = prior.transform(
        torch.full((20000,), 2), torch.rand(20000, generator=g, dtype=torch.float64),
        torch.randn(20000, 4, generator=g, dtype=torch.float64),
    )  # fmt: skip
    assert torch.allclose(zt.mean(0), z.mean(0).double(), atol=0.05)
    assert torch.allclose(zt.std(0), z.std(0).double(), rtol=0.05)
    model.save_pretrained(tmp_path / "m")
    loaded = HyperVAE.from_pretrained(tmp_path / "m").double()
    assert torch.equal(loaded.prior.means, model.prior.means)
    c = loaded.sample(30, jet_type="t", seed=5)
    d = model.sample(30, jet_type="t", seed=5)
    assert c.particles.pt.to_list() == d.particles.pt.to_list()
    head = model.sample(10, jet_type="t", seed=1, head=True)
    assert {"head_pt", "head_eta", "head_mass"} <= set(head.fields)
    assert ak.all(head.head_pt > 0)


def test_fit_prior_needs_components():
    with pytest.raises(ValueError, match="prior_components > 0"):
        small_model().fit_prior([])


def test_a_particle_decoder_with_noise_gets_per_jet_seed_stable_noise(model32):
    """The particle-decoder seam: a decoder declaring ``noise_shape`` receives per-jet
    standard normal noise from the seed-stable streams."""
    from hypervae.model import SlotDecoder

    class NoisySlots(SlotDecoder):
        noise_shape = (8, 3)

        def sample(self, decoded, multiplicity, noise=None):
            assert noise is not None
            assert noise.shape == (len(multiplicity), 8, 3)
            p4, mask = super().sample(decoded, multiplicity)
            p3 = p4[..., 1:] * torch.exp(0.1 * noise)
            return torch.cat([p3.norm(dim=-1, keepdim=True), p3], -1), mask

    noisy = HyperVAE(model32.config)
    noisy.load_state_dict(model32.state_dict())
    noisy.particle_decoder = NoisySlots(model32.config)
    noisy.particle_decoder.load_state_dict(model32.particle_decoder.state_dict())
    a = noisy.sample(40, seed=3, batch_size=40)
    b = noisy.sample(40, seed=3, batch_size=3)
    np.testing.assert_allclose(
        ak.to_numpy(ak.flatten(a.particles.pt)), ak.to_numpy(ak.flatten(b.particles.pt)), rtol=1e-5
    )
    plain = model32.sample(40, seed=3)
    assert plain.n_particles.to_list() == a.n_particles.to_list()  # same streams otherwise
    assert not np.allclose(ak.to_numpy(plain.pt), ak.to_numpy(a.pt), rtol=1e-3)

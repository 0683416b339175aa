"""The jet-scalar calibration (quantile map), the mass projection and the particle masses."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest
import torch

import hypervae as hv
from hypervae._config import ConfigError
from hypervae.model import HyperVAE
from hypervae.model.calibration import ScalarCalibration
from hypervae.model.coordinates import (
    ranked_log_pt,
    relative_coordinates,
    relative_log_mass,
    scale_to_log_mass,
    to_four_vectors,
)
from hypervae.model.flow import (
    _ranked_log_pt,
    fit_particle_masses,
    fit_pt_calibration,
    fit_scalar_calibration,
)
from hypervae.model.flow_decoder import FlowDecoderConfig
from hypervae.model.masses import ParticleMasses

TINY = {"max_particles": 8, "latent_dim": 4, "hidden": 16, "encoder": {"num_blocks": 1}}
FLOW = {"width": 16, "heads": 2, "layers": 1, "steps": 2}


def flow_model(seed: int = 0) -> HyperVAE:
    torch.manual_seed(seed)
    return HyperVAE({**TINY, "flow": FLOW}).double().eval()


def random_jets(n: int, seed: int = 0, width: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    coords = torch.randn(n, 30, 3, generator=gen, dtype=torch.float64)
    coords = coords * torch.tensor([width, width, 1.2], dtype=torch.float64)
    counts = torch.randint(2, 31, (n,), generator=gen)
    mask = torch.arange(30)[None, :] < counts[:, None]
    return torch.where(mask[..., None], coords, torch.zeros(())), mask


def hand_jets(masses: list[list[float]], types: list[int]) -> ak.Array:
    """Jets whose particles have pT 100, 99, ... in order and the given masses."""
    rows = [
        [{"pt": 100.0 - k, "eta": 0.01 * k, "phi": 0.0, "mass": m} for k, m in enumerate(jet)]
        for jet in masses
    ]
    return ak.zip(
        {"particles": ak.Array(rows), "jet_type": np.asarray(types, dtype=np.int8)}, depth_limit=1
    )


# ---------------------------------------------------------------------------- quantile map
def test_calibration_maps_one_distribution_onto_another_monotonically():
    gen = torch.Generator().manual_seed(1)
    source = 0.5 * torch.randn(20_000, generator=gen, dtype=torch.float64) - 1.0
    target = torch.distributions.Gumbel(2.0, 0.3).sample((20_000,)).double()
    types = torch.full((20_000,), 3)
    cal = ScalarCalibration(knots=64)
    assert cal.fit(types, source, types, target).tolist() == [False, False, False, True, False]
    fresh = 0.5 * torch.randn(20_000, generator=gen, dtype=torch.float64) - 1.0
    mapped = cal(fresh, types)
    # the mapped values follow the target: quantiles agree to the sampling noise
    probs = torch.tensor([0.05, 0.25, 0.5, 0.75, 0.95], dtype=torch.float64)
    diff = torch.quantile(mapped, probs) - torch.quantile(target, probs)
    assert diff.abs().max() < 0.03
    order = fresh.argsort()
    assert bool((mapped[order].diff() >= 0).all())  # monotone


def test_calibration_is_the_identity_for_unfitted_types_and_shifts_beyond_the_ends():
    cal = ScalarCalibration(knots=2, num_types=2)
    cal.fit(
        torch.zeros(4),
        torch.tensor([0.0, 0.0, 1.0, 1.0]),
        torch.zeros(4),
        torch.tensor([10.0, 10.0, 12.0, 12.0]),
    )
    # knots at probabilities 1/4 and 3/4: source (0, 1) -> target (10, 12)
    x = torch.tensor([0.5, -1.0, 3.0, 0.5])
    assert cal(x, torch.tensor([0, 0, 0, 1])).tolist() == [11.0, 9.0, 14.0, 0.5]


def test_calibration_refuses_too_few_values_and_non_finite_ones_naming_them():
    cal = ScalarCalibration(knots=8)
    few = torch.zeros(5)
    with pytest.raises(ValueError, match="type 0 has 5 source values, fewer than knots=8"):
        cal.fit(torch.zeros(5), few, torch.zeros(20), torch.zeros(20))
    bad = torch.tensor([0.0, math.nan])
    with pytest.raises(ValueError, match="target value 1 is nan"):
        cal.fit(torch.zeros(2), torch.zeros(2), torch.zeros(2), bad)
    with pytest.raises(ConfigError, match="calibration_knots"):
        FlowDecoderConfig(calibration_knots=1)


# ---------------------------------------------------------------------------- projection
def test_projection_reaches_the_target_mass_and_only_scales_angles():
    coords, mask = random_jets(300)
    target = relative_log_mass(coords, mask) + 0.3 * torch.randn(300, dtype=torch.float64)
    out = scale_to_log_mass(coords, mask, target)
    assert torch.allclose(relative_log_mass(out, mask), target, atol=1e-5, rtol=0)
    assert torch.equal(out[..., 2], coords[..., 2])  # momentum fractions untouched
    ratio = out[..., :2][mask] / coords[..., :2][mask]
    per_jet = torch.repeat_interleave(torch.arange(300), mask.sum(1))
    for j in (0, 7, 299):  # one factor per jet, the same for eta and phi
        r = ratio[per_jet == j]
        assert torch.allclose(r, r[0, 0].expand_as(r), rtol=1e-9)
    assert bool((out[~mask] == 0).all())


def test_projection_leaves_single_particle_jets_and_bounds_the_factor():
    coords, mask = random_jets(2)
    mask[0, 1:] = False
    coords = torch.where(mask[..., None], coords, torch.zeros(()))
    target = relative_log_mass(coords, mask) + torch.tensor([1.0, 5.0], dtype=torch.float64)
    out = scale_to_log_mass(coords, mask, target, max_factor=2.0)
    assert torch.equal(out[0], coords[0])
    factor = out[1, 0, 0] / coords[1, 0, 0]
    assert float(factor) == pytest.approx(2.0)


# ---------------------------------------------------------------------------- masses
def test_particle_masses_fit_frequencies_per_rank_exactly():
    jets = hand_jets([[0.14, 0.0, 0.94], [0.14, 0.14], [0.0, 0.0]], [1, 1, 2])
    masses = ParticleMasses(categories=2, max_particles=3)
    assert masses.fit(jets).tolist() == [False, True, True, False, False]
    assert masses.values.tolist() == pytest.approx([0.0, 0.14])  # 0.94 -> nearest (0.14)
    assert masses.probs[1, 0].tolist() == [0.0, 1.0]
    assert masses.probs[1, 1].tolist() == [0.5, 0.5]
    assert masses.probs[1, 2].tolist() == [0.0, 1.0]  # the 0.94 particle, grouped
    assert masses.probs[2, 2].tolist() == [1.0, 0.0]  # no rank-2 particle: the type's mix
    u = torch.tensor([[0.1, 0.4, 0.6], [0.1, 0.4, 0.6]], dtype=torch.float64)
    drawn = masses(u, torch.tensor([1, 0]))
    assert drawn[0].tolist() == pytest.approx([0.14, 0.0, 0.14])
    assert drawn[1].tolist() == [0.0, 0.0, 0.0]  # type 0 never fitted: massless


def test_particle_masses_refuse_a_negative_mass_naming_the_jet():
    jets = hand_jets([[0.14], [0.14, -1.0]], [0, 0])
    with pytest.raises(ValueError, match=r"mass -1\.0 of jet 1 is negative"):
        ParticleMasses(2, 3).fit(jets)


# ---------------------------------------------------------------------------- in the model
def test_fitted_masses_keep_the_particles_and_give_them_the_fitted_masses():
    model = flow_model()
    real = hv.datasets.load_sample("w", split="val")[:200]
    massive = fit_particle_masses(model, real, categories=4)
    assert model.particle_decoder.masses is None  # the input is unchanged
    a = model.sample(30, jet_type="w", seed=5)
    b = massive.sample(30, jet_type="w", seed=5)
    for field in ("pt", "eta", "phi"):
        assert np.allclose(
            ak.to_numpy(ak.flatten(a.particles[field])), ak.to_numpy(ak.flatten(b.particles[field]))
        )
    got = ak.to_numpy(ak.flatten(b.particles.mass))
    assert set(np.round(got, 6)) <= set(np.round(massive.particle_decoder.masses.values.numpy(), 6))
    assert (got > 0.1).mean() > 0.3  # most real particles are hadrons
    assert float(ak.mean(b.mass)) > float(ak.mean(a.mass))  # the jets gain mass


def test_calibrated_model_round_trips_and_samples_jets_of_the_drawn_mass(tmp_path):
    model = flow_model()
    real = hv.datasets.load_sample("t", split="val")[:300]
    calibrated = fit_scalar_calibration(model, real, knots=16, draws=500)
    assert calibrated.particle_decoder.flow.calibration.fitted.tolist() == [0, 0, 1, 0, 0]
    again = HyperVAE.from_pretrained(calibrated.save_pretrained(tmp_path / "m"))
    assert torch.equal(
        again.particle_decoder.flow.calibration.target,
        calibrated.particle_decoder.flow.calibration.target,
    )
    flow = again.particle_decoder.flow
    cfg = flow.config
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(40, 4, generator=gen, dtype=torch.float64)
    types, n = torch.full((40,), 2), torch.randint(1, 9, (40,), generator=gen)
    noise = torch.randn(40, 3 * 8 + 1, generator=gen, dtype=torch.float64)
    coords, mask, scalar = flow.integrate_noise(z, types, n, noise, 2, "midpoint")
    # the drawn scalar is the calibration of the head's draw
    mean, log_sigma = flow._scalar_params(z, flow.type_embedding(types))
    raw = (mean + log_sigma.exp() * noise[:, -1]) * cfg.scalar_std + cfg.scalar_mean
    log_m = scalar * cfg.scalar_std + cfg.scalar_mean
    assert torch.allclose(log_m, flow.calibration(raw, types), atol=1e-12)
    # and the particles are the unprojected ones scaled to it
    flow.config = cfg.replace(project_mass=False)
    unprojected, _, _ = flow.integrate_noise(z, types, n, noise, 2, "midpoint")
    assert torch.allclose(coords, scale_to_log_mass(unprojected, mask, log_m), atol=1e-12)
    assert not torch.allclose(coords, unprojected)
    with pytest.raises(ValueError, match="decoder is 'slots', not 'flow'"):
        fit_scalar_calibration(HyperVAE({**TINY, "decoder": "slots"}), real)


def test_the_calibration_target_is_the_massless_leading_sum_in_float64():
    from hypervae.model.flow import _kept_log_mass

    jets = hv.datasets.load_sample("q", split="val")[:400]  # stored as float32
    codes, got = _kept_log_mass(jets, 30)
    assert codes.tolist() == [1] * 400
    for j in range(0, 400, 7):  # a slow float64 loop over the 30 leading particles
        p = sorted(jets.particles[j].to_list(), key=lambda q: -q["pt"])[:30]
        e = px = py = pz = 0.0
        for q in p:
            pt, eta, phi = float(q["pt"]), float(q["eta"]), float(q["phi"])
            e, px = e + pt * math.cosh(eta), px + pt * math.cos(phi)
            py, pz = py + pt * math.sin(phi), pz + pt * math.sinh(eta)
        want = math.log(
            max(math.sqrt(max(e * e - px * px - py * py - pz * pz, 0.0)) / math.hypot(px, py), 1e-4)
        )
        assert float(got[j]) == pytest.approx(want, abs=1e-9)


# ---------------------------------------------------------------------------- pT spectrum
def test_ranks_put_padding_last_and_follow_a_slow_sort():
    coords, mask = random_jets(20, seed=3)
    rank, order = ranked_log_pt(coords, mask)
    for b in range(20):
        real = [i for i in range(30) if mask[b, i]]
        slow = sorted(real, key=lambda i: -float(coords[b, i, 2]))
        assert order[b, : len(real)].tolist() == slow
        assert [int(rank[b, i]) for i in slow] == list(range(len(real)))
        assert all(int(rank[b, i]) >= len(real) for i in range(30) if not mask[b, i])


def test_pt_calibration_keeps_coordinates_relative_to_their_sum_and_is_equivariant():
    model = flow_model()
    flow = fit_pt_calibration(
        model, hv.datasets.load_sample("t", split="val")[:300], knots=8, draws=300
    ).particle_decoder.flow
    coords, mask = random_jets(50, seed=4, width=0.1)
    types = torch.full((50,), 2)
    out = flow.calibrate_pt(coords[:, :8].clone(), mask[:, :8], types)
    # relative to their own sum: azimuth and pT exactly; pseudorapidity to the sum's mass
    # effect (a massive sum's pseudorapidity is not shifted by a common shift)
    again = relative_coordinates(to_four_vectors(out, mask[:, :8]), mask[:, :8])
    assert torch.allclose(again[..., 1:], out[..., 1:], atol=1e-10)
    assert torch.allclose(again[..., 0], out[..., 0], atol=2e-3)
    assert bool((out[~mask[:, :8]] == 0).all())
    perm = torch.randperm(8)
    permuted = flow.calibrate_pt(coords[:, :8][:, perm], mask[:, :8][:, perm], types)
    assert torch.allclose(permuted, out[:, perm], atol=1e-12)
    # an unfitted type is only re-expressed relative to its sum
    plain = flow.calibrate_pt(coords[:, :8].clone(), mask[:, :8], torch.full((50,), 0))
    expected = relative_coordinates(to_four_vectors(coords[:, :8], mask[:, :8]), mask[:, :8])
    assert torch.allclose(plain[..., 1:], expected[..., 1:], atol=1e-10)
    assert torch.allclose(plain[..., 0], expected[..., 0], atol=2e-3)


def test_fitted_pt_calibration_moves_each_ranks_spectrum_to_the_real_one():
    model = flow_model()
    real = hv.datasets.load_sample("t", split="val")[:600]
    calibrated = fit_pt_calibration(model, real, knots=16, draws=600, seed=1)
    assert calibrated.particle_decoder.flow.pt_calibration.fitted.view(5, 8)[2].all()
    assert model.particle_decoder.flow.pt_calibration is None  # the input is unchanged

    def medians(jets):
        groups, values = _ranked_log_pt(jets, 8)
        return torch.stack([values[groups == 2 * 8 + r].median() for r in range(8)])

    target = medians(real)
    before = (medians(model.sample(600, jet_type="t", seed=9)) - target).abs()
    after = (medians(calibrated.sample(600, jet_type="t", seed=9)) - target).abs()
    assert float(before.max()) > 0.5  # the untrained model's spectrum is far off
    assert float(after.max()) < 0.25 * float(before.max()), (before, after)

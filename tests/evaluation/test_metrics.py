"""JetNet metrics against slow references written here, known values and properties."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest
from scipy.linalg import sqrtm

import hypervae as hv
from hypervae.evaluation import metrics as M
from hypervae.physics import from_padded, jet_p4, ptetaphim_to_cartesian


def synthetic_jets(seed, n_jets=120, n_max=10, width=0.15, pt_scale=1.0, jet_type="t"):
    rng = np.random.default_rng(seed)
    counts = rng.integers(3, n_max + 1, size=n_jets)
    mask = np.arange(n_max)[None, :] < counts[:, None]
    pt = (rng.exponential(40.0, (n_jets, n_max)) + 1.0) * pt_scale
    eta = rng.normal(0, 1, (n_jets, 1)) + rng.normal(0, width, (n_jets, n_max))
    phi = rng.uniform(-np.pi, np.pi, (n_jets, 1)) + rng.normal(0, width, (n_jets, n_max))
    p4 = ptetaphim_to_cartesian(pt, eta, phi, 0.0)
    return hv.datasets.make_jets(from_padded(np.where(mask[..., None], p4, 0), mask), jet_type)


def w1_sorted(a, b):
    """W1 of two equal-size samples: mean |sorted a - sorted b| (independent of scipy)."""
    return float(np.mean(np.abs(np.sort(a) - np.sort(b))))


# ---------------------------------------------------------------- inputs, masses
def test_jetnet_features_follow_to_relative():
    jets = synthetic_jets(0, n_jets=20)
    x, mask = M.jetnet_features(jets, max_particles=12)
    rel = hv.physics.to_relative(jets)
    assert x.shape == (20, 12, 3)
    np.testing.assert_array_equal(mask.sum(axis=1), ak.to_numpy(ak.num(rel)))
    np.testing.assert_allclose(x[..., 2][mask], ak.to_numpy(ak.flatten(rel.pt_rel)))
    np.testing.assert_allclose(x[..., 1][mask], ak.to_numpy(ak.flatten(rel.phi_rel)))
    assert np.all(x[~mask] == 0)
    with pytest.raises(ValueError, match=r"jet 0 has \d+ particles, more than max_particles=2"):
        M.jetnet_features(synthetic_jets(0, n_jets=3, n_max=10), max_particles=2)


def test_relative_mass_is_jet_mass_over_jet_pt():
    """For massless particles relative coordinates are a boost, a rotation and a scale."""
    particles = hv.physics.particles_of(synthetic_jets(1, n_jets=30))
    e, px, py, pz = jet_p4(particles).T
    expected = np.sqrt(e**2 - px**2 - py**2 - pz**2) / np.hypot(px, py)
    np.testing.assert_allclose(M.relative_mass(*M.jetnet_features(particles)), expected, rtol=1e-8)


# -------------------------------------------------------------------------- W1
def test_w1_batches_follow_the_sampling_protocol():
    rng = np.random.default_rng(7)
    a, b = rng.normal(0, 1, 300), rng.gamma(2.0, 1.0, 200)
    mean, std = M.w1_batches(a, b, num_eval_samples=150, num_batches=4, seed=3)
    draw = np.random.default_rng(3)
    ref = []
    for _ in range(4):  # batches drawn with replacement, real then generated
        i, j = draw.choice(300, size=150), draw.choice(200, size=150)
        ref.append(w1_sorted(a[i], b[j]))
    assert mean == pytest.approx(np.mean(ref), rel=1e-12)
    assert std == pytest.approx(np.std(ref), rel=1e-12)
    # the batch size is capped at the smaller sample
    capped = M.w1_batches(a, b, num_eval_samples=10**6, num_batches=2, seed=3)
    draw = np.random.default_rng(3)
    first = w1_sorted(a[draw.choice(300, size=200)], b[draw.choice(200, size=200)])
    second = w1_sorted(a[draw.choice(300, size=200)], b[draw.choice(200, size=200)])
    assert capped[0] == pytest.approx((first + second) / 2, rel=1e-12)


def test_w1_known_values():
    assert M.w1_batches(np.zeros(50), np.full(40, 0.3)) == (pytest.approx(0.3), 0.0)
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 40_000)
    mean, std = M.w1_batches(a, a + 0.25, num_eval_samples=20_000)
    assert mean == pytest.approx(0.25, abs=0.02)
    assert std < 0.02


def test_w1p_per_feature_shift():
    x, mask = M.jetnet_features(synthetic_jets(2, n_jets=400))
    shifted = np.where(mask[..., None], x + np.array([0.02, 0.0, 0.0]), 0.0)
    means, stds = M.w1p(x, shifted, mask, mask, num_batches=3)
    assert means.shape == stds.shape == (3,)
    assert means[0] == pytest.approx(0.02, abs=0.006)
    assert means[0] > 3 * max(means[1], means[2])
    # masked particles are left out: garbage behind the mask changes nothing
    noisy = np.where(mask[..., None], x, 5.0)
    np.testing.assert_array_equal(M.w1p(noisy, x, mask, mask)[0], M.w1p(x, x, mask, mask)[0])


def test_w1m_and_w1efp_see_wider_jets():
    narrow = M.jetnet_features(synthetic_jets(3, n_jets=300, width=0.1), 10)
    narrow2 = M.jetnet_features(synthetic_jets(4, n_jets=300, width=0.1), 10)
    wide = M.jetnet_features(synthetic_jets(5, n_jets=300, width=0.2), 10)
    same = M.w1m(narrow[0], narrow2[0], narrow[1], narrow2[1])[0]
    diff = M.w1m(narrow[0], wide[0], narrow[1], wide[1])[0]
    assert diff > 3 * same
    same_efp = M.w1efp(narrow[0], narrow2[0], narrow[1], narrow2[1])[0]
    diff_efp = M.w1efp(narrow[0], wide[0], narrow[1], wide[1])[0]
    assert same_efp.shape == (5,)
    assert np.all(diff_efp > 2 * same_efp)


# ----------------------------------------------------------------------- FPD, KPD
def spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_frechet_distance_matches_sqrtm_closed_form():
    rng = np.random.default_rng(11)
    for d in (1, 3, 5):
        mu1, mu2, s1, s2 = rng.normal(size=d), rng.normal(size=d), spd(rng, d), spd(rng, d)
        covmean = np.real(sqrtm(s1 @ s2))
        ref = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
        assert M.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-8)
        assert abs(M.frechet_distance(mu1, s1, mu1, s1)) < 1e-9
    with pytest.raises(ValueError, match="shape mismatch"):
        M.frechet_distance([0, 0], np.eye(2), [0, 0, 0], np.eye(3))


def test_fpd_extrapolates_to_the_population_distance():
    rng = np.random.default_rng(12)
    x = rng.normal(0, 1, (4000, 3))
    y = rng.normal(0, 1, (4000, 3))
    value, error = M.fpd(x, y, num_batches=5, num_points=5, normalize=False)
    assert 0 <= value < 0.01
    assert error >= 0
    shift = np.array([0.3, 0.0, -0.4])  # population FD = |shift|^2 = 0.25
    y = y + shift
    full = M.frechet_distance(
        x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False)
    )
    assert full == pytest.approx(0.25, abs=0.04)
    value, error = M.fpd(x, y, normalize=False)  # extrapolated from batches of 1600-4000
    assert value == pytest.approx(full, abs=max(3 * error, 0.01))
    assert value < np.mean(
        [
            M.frechet_distance(  # a finite batch is biased upwards
                a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
            )
            for a, b in zip(np.split(x, 10), np.split(y, 10), strict=True)
        ]
    )
    # normalisation divides both samples by the real maxima: a common scale cancels
    scaled = M.fpd(7 * x, 7 * y, num_batches=5, num_points=5)
    assert scaled == pytest.approx(M.fpd(x, y, num_batches=5, num_points=5))


def mmd_loops(x, y, degree):
    d = x.shape[1]

    def k(a, b):
        return (sum(a[t] * b[t] for t in range(d)) / d + 1.0) ** degree

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


@pytest.mark.parametrize("degree", [3, 4])
def test_mmd_matches_loops(degree):
    rng = np.random.default_rng(13)
    x, y = rng.normal(size=(7, 3)), rng.normal(0.3, 1, size=(5, 3))
    assert M.mmd_poly_unbiased(x, y, degree, block=2) == pytest.approx(mmd_loops(x, y, degree))
    with pytest.raises(ValueError, match="at least 2 samples"):
        M.mmd_poly_unbiased(x[:1], y)


def test_kpd_zero_for_same_distribution_positive_otherwise():
    rng = np.random.default_rng(14)
    x, y = rng.normal(0, 1, (3000, 4)), rng.normal(0, 1, (3000, 4))
    value, error = M.kpd(x, y, num_batches=6, batch_size=600)
    assert abs(value) < max(3 * error, 1e-3)
    shifted, err2 = M.kpd(x, y + 0.5, num_batches=6, batch_size=600)
    assert shifted > 10 * max(err2, abs(value))
    # reference: median over batches seeded seed + 1000 i, MMD from the loop formula
    small_x, small_y = x[:40], y[:40] + 0.5
    value, _ = M.kpd(small_x, small_y, num_batches=3, batch_size=15, normalize=False, degree=3)
    vals = []
    for i in range(3):
        draw = np.random.default_rng(42 + 1000 * i)
        a, b = small_x[draw.choice(40, size=15)], small_y[draw.choice(40, size=15)]
        vals.append(mmd_loops(a, b, 3))
    assert value == pytest.approx(np.median(vals))


def test_feature_errors_name_the_jet():
    x = np.ones((4, 2))
    y = np.ones((4, 2))
    y[2, 1] = np.nan
    with pytest.raises(ValueError, match="generated features of jet 2 are not finite"):
        M.fpd(x, y)
    with pytest.raises(ValueError, match="same F"):
        M.kpd(x, np.ones((4, 3)))


# ------------------------------------------------------------------------ evaluate
def test_evaluate_structure_and_invariance():
    real, gen = synthetic_jets(20, n_jets=150), synthetic_jets(21, n_jets=140, jet_type="w")
    kw = {"eec_n": (2, 3), "eec_bins": 12, "kpd_kwargs": {"num_batches": 4}}
    out = M.evaluate(real, gen, **kw)
    json.dumps(out)  # serialisable
    assert out["n_real"] == 150
    assert out["n_generated"] == 140
    for key in ("w1m", "w1p", "w1efp", "w1_multiplicity", "w1_jet_pt", "w1_jet_eta"):
        assert out[key]["mean"] >= 0
        assert out[key]["std"] >= 0
    assert set(out["w1p"]["per_feature"]) == {"eta_rel", "phi_rel", "pt_rel"}
    assert out["w1p"]["mean"] == pytest.approx(
        np.mean([v["mean"] for v in out["w1p"]["per_feature"].values()])
    )
    assert len(out["w1efp"]["per_efp"]) == 5
    assert out["w1m"]["scale"] == 1e-3
    assert out["w1_eec3"]["unit"] == "ln R_L"
    assert out["jet_type_fractions"]["real"]["t"] == 1.0
    assert out["jet_type_fractions"]["generated"]["w"] == 1.0
    # JetNet metrics use relative coordinates: a global pT scale leaves them unchanged
    scaled = synthetic_jets(21, n_jets=140, pt_scale=1.3, jet_type="w")
    out2 = M.evaluate(real, scaled, **kw)
    for key in ("w1m", "w1p", "w1efp", "w1_multiplicity", "w1_jet_eta", "w1_eec2"):
        assert out2[key]["mean"] == pytest.approx(out[key]["mean"], rel=1e-6), key
    for key in ("fpd", "kpd"):
        assert out2[key]["value"] == pytest.approx(out[key]["value"], rel=1e-6, abs=1e-12)
    assert out2["w1_jet_pt"]["mean"] > out["w1_jet_pt"]["mean"] + 20.0  # GeV
    text = M.format_metrics(out)
    assert "w1m" in text
    assert "(x1e-03)" in text
    assert "types generated" in text


def test_matches_numbers_computed_with_jetnet():
    """Reference numbers from jetnet 0.2.5 + energyflow 1.4.0 (numpy 1.26, separate
    environment; jetnet's W1 generator seeded with default_rng(42) for the comparison)."""
    a = np.random.default_rng(21).normal(0, 1, (1500, 36))
    b = np.random.default_rng(22).normal(0.05, 1.1, (1500, 36))
    value, error = M.fpd(a, b, min_samples=500, max_samples=1500, num_batches=5, num_points=4)
    assert (value, error) == (
        pytest.approx(0.08162255330271588, rel=1e-6),
        pytest.approx(0.004524519005679561, rel=1e-4),
    )
    value, error = M.kpd(a, b, batch_size=300, num_batches=5)
    assert (value, error) == (
        pytest.approx(0.0015726352712728264, rel=1e-6),
        pytest.approx(0.0004071725320436275, rel=1e-6),
    )
    r = np.random.default_rng(23)
    x = np.stack(
        [
            r.normal(0, 0.2, (500, 20)),
            r.normal(0, 0.2, (500, 20)),
            r.standard_exponential((500, 20)) / 20,
        ],
        axis=-1,
    )
    y = np.stack(
        [
            r.normal(0, 0.25, (500, 20)),
            r.normal(0, 0.2, (500, 20)),
            r.standard_exponential((500, 20)) / 18,
        ],
        axis=-1,
    )
    x[:, 15:] = 0  # zero padding, left out by exclude_zeros
    means, stds = M.w1p(x, y, num_eval_samples=500)
    np.testing.assert_allclose(means, [0.03874789, 0.00461399, 0.00574658], rtol=1e-6)
    np.testing.assert_allclose(stds, [0.00103524, 0.00197576, 0.00127195], rtol=1e-5)
    means, stds = M.w1efp(x, y, num_eval_samples=500)
    # the same five EFPs, in energyflow's column order up to a swap of two columns
    np.testing.assert_allclose(
        np.sort(means),
        np.sort([0.0621653, 0.05396692, 0.05688163, 0.03969488, 0.04280181]),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        np.sort(stds),
        np.sort([0.00400565, 0.00341059, 0.00365615, 0.0025155, 0.00267795]),
        rtol=1e-5,
    )


@pytest.mark.slow
def test_agrees_with_jetnet_package():
    """Runs only where jetnet (and energyflow) are installed (numpy < 2 environment)."""
    gen_metrics = pytest.importorskip("jetnet.evaluation.gen_metrics")
    real = M.jetnet_features(synthetic_jets(30, n_jets=2000))[0]
    gen = M.jetnet_features(synthetic_jets(31, n_jets=2000, width=0.2))[0]
    ef_real = gen_metrics.get_fpd_kpd_jet_features(real, efp_jobs=1)
    ours = M.efps(real)
    # same 36 observables up to column order
    np.testing.assert_allclose(np.sort(ef_real.mean(axis=0)), np.sort(ours.mean(axis=0)), rtol=1e-8)
    ef_gen = gen_metrics.get_fpd_kpd_jet_features(gen, efp_jobs=1)
    sizes = {"min_samples": 800, "max_samples": 2000}  # jetnet does not cap them
    ref = gen_metrics.fpd(ef_real, ef_gen, **sizes)
    assert M.fpd(ef_real, ef_gen, **sizes) == pytest.approx(ref, rel=1e-6)
    ref = gen_metrics.kpd(ef_real, ef_gen, batch_size=1000)
    assert M.kpd(ef_real, ef_gen, batch_size=1000) == pytest.approx(ref, rel=1e-6)
    # W1 batches in jetnet are unseeded: compare within the batch spread
    mean, std = M.w1m(real, gen, num_eval_samples=2000)
    ref, ref_std = gen_metrics.w1m(real, gen, num_eval_samples=2000)
    assert abs(mean - ref) < 4 * (std + ref_std) + 1e-9

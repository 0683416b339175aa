"""Comparison plots: content of the panels and atomic files."""

from __future__ import annotations

import numpy as np
import pytest

import hypervae as hv
from hypervae.evaluation import plots
from hypervae.physics import from_padded, ptetaphim_to_cartesian


def jets(seed, n_jets=60, n_max=8, pt_scale=1.0):
    rng = np.random.default_rng(seed)
    counts = rng.integers(3, n_max + 1, size=n_jets)
    mask = np.arange(n_max)[None, :] < counts[:, None]
    p4 = ptetaphim_to_cartesian(
        (rng.exponential(30, (n_jets, n_max)) + 1) * pt_scale,
        rng.normal(0, 0.2, (n_jets, n_max)),
        rng.normal(0, 0.2, (n_jets, n_max)),
    )
    return hv.datasets.make_jets(from_padded(np.where(mask[..., None], p4, 0), mask), "g")


def ratio_points(ax):
    return np.asarray(ax.lines[0].get_ydata(), dtype=float)


def test_identical_samples_have_unit_ratios():
    real = jets(0)
    for fig, n_cols in (
        (plots.plot_particle_features(real, real), 3),
        (plots.plot_jet_features(real, real), 3),
        (plots.plot_multiplicity(real, real), 1),
        (plots.plot_eec(real, real, n=(2, 3), bins=10), 2),
    ):
        axes = fig.axes
        assert len(axes) == 2 * n_cols
        for ax in axes[n_cols:]:
            ratio = ratio_points(ax)
            assert np.isfinite(ratio).any()
            np.testing.assert_allclose(ratio[np.isfinite(ratio)], 1.0)
        for ax in axes[:n_cols]:
            assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Real", "Generated"]


def test_particle_feature_panels_and_shift_is_visible():
    real, gen = jets(1), jets(2, pt_scale=2.0)
    fig = plots.plot_particle_features(real, gen)
    labels = [ax.get_xlabel() for ax in fig.axes[3:]]
    assert labels == [
        r"Particle $\eta^{\mathrm{rel}}$",
        r"Particle $\phi^{\mathrm{rel}}$",
        r"Particle $p_T^{\mathrm{rel}}$",
    ]
    assert fig.axes[2].get_xscale() == "log"
    # doubling every pT leaves pt_rel alone but doubles the jet pT: the jet pT ratio moves
    jet_fig = plots.plot_jet_features(real, gen)
    ratio = ratio_points(jet_fig.axes[3])
    assert np.nanmax(np.abs(ratio - 1)) > 0.5


def test_eec_panel_shows_mean_density():
    real = jets(3, n_jets=20)
    fig = plots.plot_eec(real, real, n=(2,), bins=8, rl_range=(1e-3, 1.0))
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert "d\\Sigma_{2}" in ax.get_ylabel()
    expected = hv.physics.eec(real, n=2, bins=8, rl_range=(1e-3, 1.0), density=True).mean(axis=0)
    # the first stairs artist is the real curve
    values = ax.patches[0].get_data().values
    np.testing.assert_allclose(values, expected)


@pytest.mark.slow  # over 10 s on 2 cores
def test_plot_all_writes_files_atomically(tmp_path):
    real, gen = jets(4, n_jets=30), jets(5, n_jets=25)
    paths = plots.plot_all(real, gen, tmp_path / "plots", formats=("png", "pdf"), eec_n=(2,))
    assert len(paths) == 8
    for path in paths:
        assert path.exists()
        assert path.stat().st_size > 1000
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(p.name for p in paths)
    assert (tmp_path / "plots" / "particle_features.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="Format 'xyz' is not supported"):
        plots.save_figure(plots.plot_multiplicity(real, gen), tmp_path / "bad.xyz")
    assert not list(tmp_path.glob(".bad*"))  # the temporary file is removed

"""The models shipped inside the package load offline and generate physical jets.

The fidelity numbers themselves are measured by ``benchmarks/results.py`` (docs/results.md);
these tests pin what must hold for any release: the weights load strictly, every jet
type's learned prior is fitted, and generated jets are physical and close to the real
ones in the quantities the eye checks first (jet mass quartiles, multiplicity).
"""

from __future__ import annotations

from importlib import resources

import awkward as ak
import numpy as np
import pytest

import hypervae as hv

SHIPPED = (
    "hypervae-jets-30",
    "hypervae-jets-30-slots",
    "hypervae-jets-30-baseline",
    "hypervae-jets-30-fast",
)


@pytest.fixture(scope="module", params=SHIPPED)
def model(request):
    return hv.HyperVAE.from_pretrained(request.param)


def _sample(model, n_jets, **kwargs):
    """Few ODE steps for the flow models keep the suite fast (6 midpoint steps kept W1P)."""
    if model.config.decoder == "flow" and not model.config.flow.distilled_steps:
        kwargs.setdefault("steps", 6)
    return model.sample(n_jets, **kwargs)


def test_the_default_model_has_the_flow_decoder():
    assert hv.HyperVAE.from_pretrained("hypervae-jets-30").config.decoder == "flow"
    assert hv.HyperVAE.from_pretrained("hypervae-jets-30-slots").config.decoder == "slots"


def test_shipped_files_are_package_data():
    for name in SHIPPED:
        folder = resources.files("hypervae").joinpath("pretrained").joinpath(name)
        files = sorted(p.name for p in folder.iterdir())
        assert files == ["config.json", "model.safetensors", "run.json"]


def test_loads_strictly_in_eval_mode_with_fitted_priors(model):
    assert not model.training
    assert model.config.max_particles == 30
    assert model.prior is not None
    assert model.prior.fitted.tolist() == [True] * 5


@pytest.mark.parametrize("jet_type", ["g", "q", "t", "w", "z"])
def test_generated_jets_are_physical_and_close_to_real(model, jet_type):
    gen = _sample(model, 600, jet_type=jet_type, seed=0)
    real = hv.datasets.load_sample(jet_type, split="test")
    real = hv.datasets.make_jets(real.particles, real.jet_type)
    hv.datasets.check_jets(gen, max_particles=30)  # finite, E >= |p|, no empty jet
    assert ak.all(gen.jet_type == hv.datasets.jet_type_code(jet_type))
    # relative jet mass m/pT: a regression guard on the released models, whose quartiles
    # were measured 0-32 % off the real ones (docs/results.md: the targets are not
    # met); the earlier identical-particle decoder put the top-jet median 49 % high and an
    # untrained model puts it 75 % low, and both fail it
    q_gen = np.percentile(ak.to_numpy(gen.mass / gen.pt), [25, 50, 75])
    q_real = np.percentile(ak.to_numpy(real.mass / real.pt), [25, 50, 75])
    assert abs(q_gen[1] / q_real[1] - 1) < 0.35, (q_gen, q_real)
    assert np.all(np.abs(q_gen / q_real - 1) < 0.40), (q_gen, q_real)
    # multiplicity: real jets hold 30 particles in almost every case
    assert abs(float(ak.mean(gen.n_particles)) - float(ak.mean(real.n_particles))) < 0.5


def test_sampling_is_reproducible(model):
    a = _sample(model, 50, jet_type="t", seed=123)
    b = _sample(model, 50, jet_type="t", seed=123)
    assert a.particles.pt.to_list() == b.particles.pt.to_list()


def test_generated_particles_are_on_shell_with_the_models_masses(model):
    gen = _sample(model, 200, jet_type="t", seed=1)
    p = ak.flatten(gen.particles)
    mass = ak.to_numpy(p.mass).astype(np.float64)
    masses = getattr(model.particle_decoder, "masses", None)
    if model.config.decoder == "flow":  # the shipped flow model draws hadron masses
        assert masses is not None
        assert set(np.unique(mass)) <= set(masses.values.tolist())
        assert 0.4 < float(np.mean(mass > 0.1)) < 0.8  # real top jets: 0.68 hadrons
    else:
        assert np.all(mass == 0.0)
    e, px, py, pz = (ak.to_numpy(getattr(p, f)).astype(np.float64) for f in ("E", "px", "py", "pz"))
    assert np.max(np.abs(e**2 - px**2 - py**2 - pz**2 - mass**2) / e**2) < 1e-9


def test_the_fast_model_is_the_default_one_distilled_jet_by_jet():
    """``hypervae-jets-30-fast``: the velocity field of ``hypervae-jets-30`` distilled for
    3 Euler steps, everything else shared but the pT calibration (fitted on each model's
    own jets); the same seed gives nearly the same jets.

    Measured on 300 top jets (seed 2) against the teacher's 12 midpoint steps: leading
    pT share correlated at 0.996 and girth at 0.999 jet by jet, against 0.84 and 0.97
    for the teacher's own 3 Euler steps (200 jets: 0.996/0.999 against 0.86/0.97).
    """
    teacher = hv.HyperVAE.from_pretrained("hypervae-jets-30")
    fast = hv.HyperVAE.from_pretrained("hypervae-jets-30-fast")
    assert fast.config.flow.distilled_steps == 3
    assert (fast.config.flow.steps, fast.config.flow.solver) == (3, "euler")
    before, after = teacher.state_dict(), fast.state_dict()
    assert set(before) == set(after)
    changed = {k for k in before if not np.array_equal(before[k].numpy(), after[k].numpy())}
    assert changed
    # only the velocity field, and the pT calibration fitted on each model's own jets
    own = ("particle_decoder.flow.velocity.", "particle_decoder.flow.pt_calibration.")
    assert all(k.startswith(own) for k in changed), changed
    with pytest.raises(ValueError, match="distilled for 3 Euler steps") as info:
        fast.sample(5, steps=20)
    assert "the model it was distilled from, 'hypervae-jets-30'," in str(info.value)
    assert fast.config.flow.distilled_from == "hypervae-jets-30"

    def lead_share_and_girth(jets):
        p = jets.particles
        dr = np.hypot(p.eta - jets.eta, hv.physics.wrap_phi(p.phi - jets.phi))
        lead = ak.to_numpy(p.pt[:, 0] / jets.pt)
        return lead, ak.to_numpy(ak.sum(p.pt * dr, axis=1) / jets.pt)

    fine = lead_share_and_girth(teacher.sample(200, jet_type="t", seed=2, steps=12))
    for jets, least in (
        (fast.sample(200, jet_type="t", seed=2), (0.98, 0.995)),
        (teacher.sample(200, jet_type="t", seed=2, steps=3, solver="euler"), None),
    ):
        corr = [
            np.corrcoef(a, b)[0, 1] for a, b in zip(fine, lead_share_and_girth(jets), strict=True)
        ]
        if least is None:  # the teacher's own 3 Euler steps do not get there
            assert corr[0] < 0.92, corr
        else:
            assert corr[0] > least[0], corr
            assert corr[1] > least[1], corr


def test_reconstruct_returns_the_jets_it_was_given():
    """Encode then decode (posterior mean, most likely multiplicity, input azimuth).

    Measured on 200 top test jets (hypervae-jets-30-slots): pT ratio 0.90-0.97 (5-95 %),
    |dphi| 95 % below 0.006, mass 56-83 % of the real one with correlation 0.98.
    """
    model = hv.HyperVAE.from_pretrained("hypervae-jets-30-slots")
    real = hv.datasets.load_sample("t", split="test")[:100]
    real = hv.datasets.make_jets(real.particles, real.jet_type)
    rec = model.reconstruct(real, batch_size=64)
    assert len(rec) == len(real)
    assert rec.jet_type.to_list() == real.jet_type.to_list()
    hv.datasets.check_jets(rec, max_particles=30)
    assert ak.all(ak.flatten(rec.particles.mass) == 0.0)
    ratio = ak.to_numpy(rec.pt) / ak.to_numpy(real.pt)
    assert 0.85 < np.median(ratio) < 1.05
    dphi = np.abs(hv.physics.wrap_phi(ak.to_numpy(rec.phi) - ak.to_numpy(real.phi)))
    assert np.percentile(dphi, 95) < 0.05
    assert np.corrcoef(ak.to_numpy(rec.mass), ak.to_numpy(real.mass))[0, 1] > 0.9
    again = model.reconstruct(real[:10], batch_size=3)  # deterministic, batch-independent
    np.testing.assert_allclose(ak.to_numpy(again.pt), ak.to_numpy(rec.pt[:10]), rtol=1e-5)


def test_flow_reconstruction_keeps_the_jet_given_the_clustered_jet():
    """The flow model reconstructs from the clustered jet fields, as it was trained.

    Measured on 200 top test jets (seed 0): particle-sum pT ratio 0.90/0.99/1.18
    (5/50/95 %), mass ratio 0.78/1.05/1.39 and correlation 0.81: the decoder is
    stochastic, so the particles are a new draw of the jet's substructure.
    """
    model = hv.HyperVAE.from_pretrained("hypervae-jets-30")
    real = hv.datasets.load_sample("t", split="test")[:100]
    sums = hv.datasets.make_jets(real.particles, real.jet_type)
    rec = model.reconstruct(real, batch_size=64, seed=0)
    hv.datasets.check_jets(rec, max_particles=30)
    assert 0.93 < np.median(ak.to_numpy(rec.pt) / ak.to_numpy(sums.pt)) < 1.07
    assert 0.9 < np.median(ak.to_numpy(rec.mass) / ak.to_numpy(sums.mass)) < 1.2
    assert np.corrcoef(ak.to_numpy(rec.mass), ak.to_numpy(sums.mass))[0, 1] > 0.6
    again = model.reconstruct(real[:10], batch_size=3, seed=0)  # batch-independent
    np.testing.assert_allclose(ak.to_numpy(again.pt), ak.to_numpy(rec.pt[:10]), rtol=1e-4)

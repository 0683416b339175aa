from __future__ import annotations

import re

import awkward as ak
import numpy as np
import pytest

import hypervae as hv
from hypervae.datasets import check_jets, make_jets
from hypervae.physics import from_padded, ptetaphim_to_cartesian

COUNTS = [3, 2, 3, 1]
PT = [[50.0, 30.0, 20.0], [40.0, 10.0], [25.0, 5.0, 1.0], [7.0]]
ETA = [[0.0, 0.1, 0.0], [0.5, 0.6], [-1.0, -1.1, -0.9], [2.0]]
PHI = [[0.0, 0.0, 0.1], [1.0, 1.1], [-3.0, 3.1, -3.1], [0.5]]
MASS = [[0.0, 0.14, 0.0], [0.5, 0.0], [0.0, 0.0, 0.94], [0.0]]


def ptetaphim(**replace):
    """Particles (pt, eta, phi, mass) of four jets; ``replace`` maps field -> (jet, i, value)."""
    values = {"pt": PT, "eta": ETA, "phi": PHI, "mass": MASS}
    values = {k: [list(jet) for jet in v] for k, v in values.items()}
    for field, (jet, i, value) in replace.items():
        values[field][jet][i] = value
    return ak.zip({k: ak.Array(v) for k, v in values.items()}, with_name="Momentum4D")


def cartesian(**replace):
    """The same particles as (px, py, pz, E) records, with replacements as above."""
    parts = ptetaphim()
    values = {f: ak.to_list(getattr(parts, f)) for f in ("px", "py", "pz", "E")}
    for field, (jet, i, value) in replace.items():
        values[field][jet][i] = value
    return ak.zip({k: ak.Array(v) for k, v in values.items()}, with_name="Momentum4D")


def jets_of(particles, jet_type="t"):
    return make_jets(particles, jet_type)


# ----------------------------------------------------------------- valid input passes
@pytest.mark.parametrize("jet_type", ["g", "q", "t", "w", "z"])
def test_shipped_jets_pass_also_as_float32_cartesian(jet_type):
    jets = hv.datasets.load_sample(jet_type)
    assert check_jets(jets) is jets  # nothing to change: returned as given
    # float32 rounding of (E, px, py, pz) of massless particles stays within energy_tol
    p = jets.particles
    cart = ak.zip({f: ak.values_astype(getattr(p, f), np.float32) for f in ("px", "py", "pz", "E")})
    out = check_jets(ak.with_field(jets, cart, "particles"))
    assert len(out) == len(jets)


def test_degenerate_but_valid_jets_pass():
    p4 = ptetaphim_to_cartesian(
        [[30.0, 0, 0], [10.0, 20.0, 0], [5.0, 5.0, 5.0], [7.0, 0.0, 0], [0.0, 3.0, 0]],
        [[0.3, 0, 0], [1.0, 1.0, 0], [0.2, 0.2, 0.2], [-0.5, 0.0, 0], [0.7, 0.1, 0]],
        [[1.0, 0, 0], [2.0, 2.0, 0], [-1.0, -1.0, -1.0], [0.0, 0.0, 0], [0.0, 0.2, 0]],
        [[0.0, 0, 0], [0.0, 0.0, 0], [0.0, 0.0, 0.0], [0.0, 0.0, 0], [0.14, 0.0, 0]],
    )
    # single particle; collinear pair; three identical; a zero-pT massless particle (the zero
    # 4-vector); a zero-pT massive one (at rest)
    mask = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1], [1, 1, 0], [1, 1, 0]], bool)
    jets = jets_of(from_padded(p4, mask))
    assert ak.num(check_jets(jets).particles).tolist() == [1, 2, 3, 2, 2]
    assert ak.num(check_jets(cartesian()), axis=1).tolist() == COUNTS
    assert len(check_jets(jets[:0])) == 0


def test_plain_records_get_vector_behaviour():
    parts = ptetaphim()
    plain = ak.zip({f: getattr(parts, f) for f in ("pt", "eta", "phi", "mass")})
    with pytest.raises(AttributeError):
        _ = plain.E
    out = check_jets(plain)
    np.testing.assert_allclose(ak.flatten(out.E).to_numpy(), ak.flatten(parts.E).to_numpy())


# ------------------------------------------------------------------ non-finite values
@pytest.mark.parametrize("field", ["pt", "eta", "phi", "mass"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_ptetaphim_names_field_jet_and_particle(field, value):
    parts = ptetaphim(**{field: (2, 1, value)})
    jets = ak.zip({"particles": parts, "jet_type": np.ones(4, np.int8)}, depth_limit=1)
    expected = (
        f"jets: jet 2, particle 1: field 'particles.{field}' is {value}; expected finite "
        "numbers (1 of 4 jets affected)"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        check_jets(jets)


@pytest.mark.parametrize("field", ["E", "px", "py", "pz"])
def test_non_finite_cartesian_names_field(field):
    parts = cartesian(**{field: (3, 0, np.nan)})
    with pytest.raises(ValueError, match=rf"jet 3, particle 0: field '{field}' is nan; .*finite"):
        check_jets(parts)


def test_non_finite_jet_level_field():
    jets = jets_of(ptetaphim())
    jets = ak.with_field(jets, np.array([1.0, np.inf, 2.0, np.nan]), "mass")
    with pytest.raises(ValueError, match=r"jet 1: field 'mass' is inf; .*\(2 of 4 jets affected\)"):
        check_jets(jets)


def test_overflowing_eta_is_refused():
    with pytest.raises(ValueError, match="jet 0, particle 2: field 'eta' makes the 4-momentum"):
        check_jets(ptetaphim(eta=(0, 2, 1000.0)))


# ------------------------------------------------------------------- energy and mass
def test_negative_energy_and_negative_pt():
    with pytest.raises(
        ValueError, match=r"jet 1, particle 0: field 'E' is -3.0 \(negative energy\)"
    ):
        check_jets(cartesian(E=(1, 0, -3.0)))
    with pytest.raises(
        ValueError, match=r"jet 0, particle 1: field 'pt' is -1.0; expected pT >= 0"
    ):
        check_jets(ptetaphim(pt=(0, 1, -1.0)))


def test_energy_below_momentum_beyond_tolerance():
    parts = cartesian()
    p = float(parts.p[2, 2])
    # m^2 = -1e-6 E^2: float rounding, accepted with the default tolerance
    ok = cartesian(E=(2, 2, p * (1 - 5e-7)))
    check_jets(ok)
    with pytest.raises(ValueError, match=r"jet 2, particle 2: field 'E' is .* < \|p\|"):
        check_jets(ok, energy_tol=1e-8)
    bad = cartesian(E=(2, 2, 0.9 * p), px=(0, 0, 60.0))
    with pytest.raises(ValueError, match=r"expected E >= \|p\| .*\(2 of 4 jets affected\)"):
        check_jets(bad)
    with pytest.raises(ValueError, match=r"jet 0, particle 0: field 'E' is 50 GeV < \|p\| = 60"):
        check_jets(bad)


def test_negative_mass_is_a_space_like_vector():
    check_jets(ptetaphim(mass=(1, 1, -1e-4)))  # m^2 = -1e-8 GeV^2 for |p| = 10 GeV
    with pytest.raises(ValueError, match=r"jet 1, particle 1: field 'mass' is -2, a negative mass"):
        check_jets(ptetaphim(mass=(1, 1, -2.0)))


# ------------------------------------------------------------------ empty and too many
def test_empty_jets_are_refused():
    parts = ak.with_name(ak.Array([[], *ak.to_list(ptetaphim())[:2], []]), "Momentum4D")
    msg = "jets: jet 0: has no particles; expected at least 1 particle per jet (2 of 4 jets"
    with pytest.raises(ValueError, match=re.escape(msg)):
        check_jets(parts)
    with pytest.raises(ValueError, match=re.escape("build_hypergraphs: jet 0: has no particles")):
        check_jets(make_jets(parts, "g"), where="build_hypergraphs")


def test_too_many_particles_error_suggests_truncate():
    jets = jets_of(ptetaphim())
    check_jets(jets, max_particles=3)
    msg = (
        "jets: jet 0: has 3 particles; expected at most max_particles=2 (2 of 4 jets affected); "
        "pass overflow='truncate' to keep the 2 leading-pT particles of each jet"
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        check_jets(jets, max_particles=2)
    with pytest.raises(ValueError, match="overflow must be one of"):
        check_jets(jets, max_particles=2, overflow="drop")
    with pytest.raises(ValueError, match="max_particles must be None or a positive integer"):
        check_jets(jets, max_particles=0)


def test_truncate_keeps_leading_pt_and_warns():
    pt = [[1.0, 50.0, 20.0, 30.0], [40.0, 10.0], [5.0, 25.0, 1.0]]
    eta = [[0.0, 0.1, 0.2, 0.3], [0.5, 0.6], [-1.0, -1.1, -0.9]]
    parts = ak.zip({"pt": pt, "eta": eta, "phi": ak.zeros_like(ak.Array(pt)), "mass": 0.0})
    jets = make_jets(ak.with_name(parts, "Momentum4D"), "w", n_constituents=[40, 2, 3])
    with pytest.warns(UserWarning, match=r"truncated 2 of 3 jets to their 2 leading-pT"):
        out = check_jets(jets, max_particles=2, overflow="truncate")
    assert out.particles.pt.to_list() == [[50.0, 30.0], [40.0, 10.0], [25.0, 5.0]]
    assert out.particles.eta.to_list() == [[0.1, 0.3], [0.5, 0.6], [-1.1, -1.0]]
    assert out.n_particles.to_list() == [2, 2, 2]
    assert out.n_constituents.to_list() == [40, 2, 3]  # the clustered jet is unchanged
    assert out.pt.to_list() == jets.pt.to_list()
    assert ak.all(out.particles.E > 0)  # still vector Momentum4D
    with pytest.warns(UserWarning, match="truncated 1 of 3 jets"):
        bare = check_jets(jets.particles, max_particles=3, overflow="truncate")
    assert bare.pt.to_list() == [[50.0, 30.0, 20.0], [40.0, 10.0], [5.0, 25.0, 1.0]]


# ----------------------------------------------------------------- types and shapes
def test_wrong_types_and_shapes():
    with pytest.raises(TypeError, match=r"numpy array of shape \(3, 30, 4\).*from_padded"):
        check_jets(np.zeros((3, 30, 4)))
    with pytest.raises(TypeError, match="got list"):
        check_jets([[1.0, 2.0]])
    jets = jets_of(ptetaphim())
    with pytest.raises(TypeError, match=r"single ak.Record; pass jets\[i : i \+ 1\]"):
        check_jets(jets[0])
    with pytest.raises(ValueError, match=r"no field 'particles'.*a flat array of particle records"):
        check_jets(ak.flatten(jets.particles))
    with pytest.raises(TypeError, match=r"has type 2 \* var \* float64; expected particle records"):
        check_jets(ak.Array([[1.0, 2.0], [3.0]]))
    nested = ak.Array([[[{"pt": 1.0, "eta": 0.0, "phi": 0.0, "mass": 0.0}]]])
    with pytest.raises(ValueError, match=r"3 dimensions\); expected one list of particle records"):
        check_jets(nested)
    with pytest.raises(ValueError, match="field 'particles' has type 4 \\* float32"):
        check_jets(ak.with_field(jets, jets.pt, "particles"))


def test_non_numeric_fields_are_type_errors():
    text = ak.Array([[{"pt": 1.0, "eta": 0.0, "phi": "0.1", "mass": 0.0}]])
    with pytest.raises(TypeError, match=r"field 'phi' has type string; expected real numbers"):
        check_jets(text)
    jets = jets_of(ptetaphim())
    flags = ak.with_field(jets.particles, jets.particles.pt > 10, "pt")
    with pytest.raises(TypeError, match=r"field 'particles.pt' has type bool"):
        check_jets(ak.with_field(jets, flags, "particles"))
    with pytest.raises(TypeError, match="field 'eta' has type string"):
        check_jets(ak.with_field(jets, ["a", "b", "c", "d"], "eta"))


def test_missing_values_are_refused():
    parts = ak.to_list(ptetaphim())
    with pytest.raises(ValueError, match="jet 1: the particle list is missing"):
        check_jets(ak.Array([parts[0], None]))
    parts[1][1]["eta"] = None
    with pytest.raises(ValueError, match="jet 1, particle 1: field 'eta' is missing"):
        check_jets(ak.Array(parts))


# ------------------------------------------------------------------ jet types, fields
def test_unknown_jet_type_lists_valid_types():
    jets = jets_of(ptetaphim())
    bad = ak.with_field(jets, np.array([2, 7, 5, 1]), "jet_type")
    msg = (
        "evaluate(real): jet 1: field 'jet_type': unknown jet type 7; expected one of "
        "('g', 'q', 't', 'w', 'z') or a code 0-4 (2 of 4 jets affected)"
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        check_jets(bad, where="evaluate(real)")
    names = ak.with_field(jets, ["t", "t", "h", "w"], "jet_type")
    with pytest.raises(
        ValueError, match=r"jet 2: field 'jet_type': unknown jet type 'h'; expected"
    ):
        check_jets(names)
    names = ak.with_field(jets, ["t", "t", "q", "w"], "jet_type")
    with pytest.raises(TypeError, match="holds strings; expected integer codes"):
        check_jets(names)
    floats = ak.with_field(jets, [2.0, 2.5, 1.0, 0.0], "jet_type")
    with pytest.raises(ValueError, match=r"jet 1: field 'jet_type': unknown jet type 2\.5"):
        check_jets(floats)


def test_missing_fields_are_named_with_the_fields_present():
    parts = ptetaphim()
    no_phi = ak.zip({"pt": parts.pt, "eta": parts.eta, "mass": parts.mass})
    msg = "lack the field 'particles.phi' (azimuthal coordinate; fields present: ['pt', 'eta', "
    with pytest.raises(ValueError, match=re.escape(msg)):
        check_jets(ak.with_field(jets_of(parts), no_phi, "particles"))
    no_e = ak.zip({f: getattr(parts, f) for f in ("px", "py", "pz")})
    with pytest.raises(ValueError, match=r"lack the field 'E' \(temporal coordinate"):
        check_jets(no_e)
    no_eta = ak.zip({f: getattr(parts, f) for f in ("pt", "phi", "mass")})
    with pytest.raises(ValueError, match=r"lack the field 'eta' \(longitudinal"):
        check_jets(no_eta)
    jets = jets_of(parts)[["jet_type", "pt"]]
    with pytest.raises(
        ValueError, match=re.escape("no field 'particles' (fields present: ['jet_type', 'pt'])")
    ):
        check_jets(jets)


# -------------------------------------------------------------------------- make_jets
def test_make_jets_refuses_unknown_types_and_wrong_lengths():
    parts = ptetaphim()
    assert make_jets(parts, ["t", "g", "Z", 3]).jet_type.to_list() == [2, 0, 4, 3]
    assert make_jets(parts, np.array([2.0, 0, 4, 3])).jet_type.to_list() == [2, 0, 4, 3]
    with pytest.raises(ValueError, match=r"jet_type\[2\]: unknown jet type 'h'; expected one of"):
        make_jets(parts, ["t", "g", "h", "w"])
    with pytest.raises(ValueError, match=r"jet_type\[1\]: unknown jet type 9"):
        make_jets(parts, [0, 9, 1, 1])
    with pytest.raises(ValueError, match=r"jet_type\[3\]: unknown jet type 1.5"):
        make_jets(parts, [0.0, 1.0, 1.0, 1.5])
    with pytest.raises(ValueError, match="got 3 entries for 4 jets"):
        make_jets(parts, [0, 1, 1])
    with pytest.raises(
        ValueError, match=r"pt: expected one value per jet, shape \(4,\), got shape \(2,\)"
    ):
        make_jets(parts, "t", pt=[1.0, 2.0])
    with pytest.raises(ValueError, match="n_constituents: expected one value per jet"):
        make_jets(parts, "t", n_constituents=[[1, 2, 3, 4]])


# ----------------------------------------------------------------- the entry points
def test_entry_points_check_their_jets(tmp_path):
    good = jets_of(ptetaphim())
    bad = jets_of(ptetaphim(phi=(1, 0, np.nan)))
    with pytest.raises(ValueError, match=r"jets: jet 1, particle 0: field 'particles.phi' is nan"):
        hv.graph.build_hypergraphs(bad, {"budget": "all"})
    with pytest.raises(ValueError, match=r"unknown jet type 'x'; expected one of"):
        hv.graph.build_hypergraphs(good.particles, {"budget": "all"}, jet_type="x")
    assert (
        hv.graph.build_hypergraphs(good.particles, {"budget": "all"}, jet_type="w")[0].y[0, 0] == 3
    )
    with pytest.raises(
        ValueError, match=r"evaluate\(gen\): jet 1, particle 0: field 'particles.phi'"
    ):
        hv.evaluation.evaluate(good, bad, eec_n=())
    with pytest.raises(ValueError, match=r"evaluate\(real\): jet 0: has no particles"):
        hv.evaluation.evaluate(good.particles[:, :0], good, eec_n=())
    path = hv.datasets.save_parquet(bad, tmp_path / "bad.parquet")
    with pytest.raises(
        ValueError, match=rf"{re.escape(str(path))}: jet 1, particle 0: .*'particles.phi'"
    ):
        hv.datasets.load_parquet(path)
    with pytest.raises(ValueError, match=r"field 'particles\.phi' is nan"):
        hv.datasets.load_jets(str(path))
    assert len(hv.datasets.load_parquet(path, check=False)) == 4

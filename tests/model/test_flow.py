"""The flow-matching particle decoder inside HyperVAE: choice, sampling, I/O, objective."""

from __future__ import annotations

import json
import warnings

import awkward as ak
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

import hypervae as hv
from hypervae._config import ConfigError
from hypervae.model import (
    FlowParticleDecoder,
    HyperVAE,
    HyperVAEConfig,
    SlotDecoder,
    with_decoder,
    with_flow_decoder,
)
from hypervae.model.flow import relative_coordinates
from hypervae.model.flow_decoder import FlowDecoder, FlowDecoderConfig

from .helpers import jet_graph

TINY = {"max_particles": 8, "latent_dim": 4, "hidden": 16, "encoder": {"num_blocks": 1}}
FLOW = {"width": 16, "heads": 2, "layers": 1, "steps": 3}


def flow_model(seed: int = 0, **kwargs) -> HyperVAE:
    torch.manual_seed(seed)
    return HyperVAE({**TINY, "flow": FLOW, **kwargs}).double().eval()


def slot_model(seed: int = 0) -> HyperVAE:
    torch.manual_seed(seed)
    return HyperVAE({**TINY, "decoder": "slots", "slot_decoder": {"num_blocks": 1}}).double()


def flat(jets: ak.Array, field: str) -> np.ndarray:
    return ak.to_numpy(ak.flatten(jets.particles[field]))


# ---------------------------------------------------------------------------- config
def test_new_configs_default_to_the_flow_decoder_with_the_vae_dimensions():
    cfg = HyperVAEConfig(max_particles=8, latent_dim=4)
    assert cfg.decoder == "flow"
    assert (cfg.flow.latent_dim, cfg.flow.max_particles) == (4, 8)
    assert isinstance(HyperVAE(cfg).particle_decoder, FlowParticleDecoder)
    assert isinstance(HyperVAE({**TINY, "decoder": "slots"}).particle_decoder, SlotDecoder)
    assert HyperVAEConfig.from_json(cfg.to_json()) == cfg


def test_unknown_decoder_is_refused_naming_decoder():
    with pytest.raises(ConfigError, match=r"^HyperVAEConfig\.decoder: must be one of"):
        HyperVAEConfig(decoder="diffusion")  # type: ignore[arg-type]


def test_flow_dimensions_that_disagree_with_the_vae_are_refused():
    with pytest.raises(ConfigError, match=r"flow\.max_particles: must equal max_particles=8"):
        HyperVAEConfig(max_particles=8, flow=FlowDecoderConfig(max_particles=30, latent_dim=16))


def test_the_old_decoder_mapping_reads_as_the_slot_decoder_with_a_warning():
    with pytest.warns(DeprecationWarning, match="slot_decoder"):
        cfg = HyperVAEConfig.from_dict({**TINY, "decoder": {"num_blocks": 3}})
    assert cfg.decoder == "slots"
    assert cfg.slot_decoder.num_blocks == 3
    with pytest.raises(ConfigError, match=r"decoder: give 'slots' or 'flow'"):
        HyperVAEConfig.from_dict({"decoder": {"num_blocks": 3}, "slot_decoder": {}})


def test_an_old_flat_slot_directory_loads_as_slots_and_samples_as_before(tmp_path):
    model = slot_model().eval()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    flat_cfg = model.config.to_dict()
    flat_cfg["decoder"] = flat_cfg.pop("slot_decoder")  # the format before decoder choice
    del flat_cfg["flow"]
    from safetensors.torch import save_file

    save_file(state, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps(flat_cfg))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an old directory is legitimate: no warning
        loaded = HyperVAE.from_pretrained(tmp_path)
    assert loaded.config.decoder == "slots"
    a, b = model.sample(5, "t", seed=2), loaded.sample(5, "t", seed=2)
    np.testing.assert_array_equal(flat(a, "pt"), flat(b, "pt"))


# ---------------------------------------------------------------------------- sampling
@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"steps": 0}, r"^steps: expected an int >= 1"),
        ({"steps": 2.5}, r"^steps: expected an int >= 1"),
        ({"steps": True}, r"^steps: expected an int >= 1"),
        ({"solver": "rk4"}, r"^solver: expected one of \['euler', 'midpoint', 'heun'\]"),
    ],
)
def test_bad_ode_settings_are_refused_naming_the_argument(options, match):
    model = flow_model()
    with pytest.raises(ValueError, match=match):
        model.sample(2, seed=0, **options)
    with pytest.raises(ValueError, match=match):  # before the first chunk
        model.iter_sample(2, seed=0, **options)


@pytest.mark.parametrize("options", [{"steps": 4}, {"solver": "euler"}])
def test_the_slot_decoder_refuses_ode_settings(options):
    with pytest.raises(ValueError, match=r"slot decoder .* takes no ODE steps or solver"):
        slot_model().sample(2, seed=0, **options)


def test_steps_and_solver_reach_the_decoder():
    model = flow_model()
    base = flat(model.sample(4, "t", seed=1, steps=3), "pt")
    assert not np.allclose(base, flat(model.sample(4, "t", seed=1, steps=1), "pt"))
    euler = flat(model.sample(4, "t", seed=1, steps=3, solver="euler"), "pt")
    assert not np.allclose(base, euler)
    np.testing.assert_array_equal(base, flat(model.sample(4, "t", seed=1), "pt"))  # default 3


def test_same_seed_same_jets_whatever_batch_size_and_global_rng_untouched():
    model = flow_model()
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    one = model.sample(9, None, seed=5, batch_size=9)
    split = model.sample(9, None, seed=5, batch_size=2)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == np_state[1].tolist()
    assert ak.num(one.particles).tolist() == ak.num(split.particles).tolist()
    assert one.jet_type.tolist() == split.jet_type.tolist()
    for field in ("pt", "eta", "phi"):
        np.testing.assert_allclose(flat(one, field), flat(split, field), rtol=1e-12, atol=1e-12)
    other = model.sample(9, None, seed=6, batch_size=9)
    assert not np.array_equal(ak.to_numpy(one.pt), ak.to_numpy(other.pt))
    chunks = ak.concatenate(list(model.iter_sample(9, None, seed=5, chunk_size=4)))
    np.testing.assert_allclose(flat(chunks, "pt"), flat(one, "pt"), rtol=1e-12)


def test_flow_particles_are_massless_float64_with_the_frame_scale():
    model = flow_model()
    z = torch.randn(6, 4, dtype=torch.float64)
    decoded = model.decode(z, torch.tensor([0, 1, 2, 3, 4, 2]))
    mult = torch.tensor([1, 2, 8, 5, 3, 4])
    noise = torch.randn(6, 3 * 8 + 1, dtype=torch.float64)
    p4, mask = model.particle_decoder.sample(decoded, mult, noise)
    assert p4.dtype == torch.float64
    assert mask.sum(1).tolist() == mult.tolist()
    m2 = p4[..., 0] ** 2 - (p4[..., 1:] ** 2).sum(-1)
    assert float(m2.abs().max()) < 1e-12 * float((p4[..., 0] ** 2).max())
    total = p4.sum(1)  # the frame's scale: the particle sum has pT 1
    torch.testing.assert_close(total[:, 1:3].norm(dim=-1), torch.ones(6, dtype=torch.float64))
    jets = model.sample(5, "w", seed=0)
    assert (flat(jets, "mass") == 0.0).all()


def test_reconstruct_with_the_flow_decoder():
    model = flow_model()
    jets = model.sample(6, None, seed=3)
    first = model.reconstruct(jets, seed=1, batch_size=6)
    again = model.reconstruct(jets, seed=1, batch_size=4)
    assert len(first) == 6
    assert first.jet_type.tolist() == jets.jet_type.tolist()
    np.testing.assert_allclose(flat(first, "pt"), flat(again, "pt"), rtol=1e-12)
    assert (flat(first, "mass") == 0.0).all()


def test_relative_coordinates_match_the_physics_convention():
    jets = flow_model().sample(4, "t", seed=0)
    p4, mask = hv.physics.to_padded(jets.particles, 8)
    coords = relative_coordinates(torch.from_numpy(p4), torch.from_numpy(mask))
    rel = hv.physics.to_relative(jets.particles)
    got = coords[torch.from_numpy(mask)]
    np.testing.assert_allclose(got[:, 0].numpy(), ak.to_numpy(ak.flatten(rel.eta_rel)), atol=1e-9)
    np.testing.assert_allclose(got[:, 1].numpy(), ak.to_numpy(ak.flatten(rel.phi_rel)), atol=1e-9)
    np.testing.assert_allclose(
        got[:, 2].exp().numpy(), ak.to_numpy(ak.flatten(rel.pt_rel)), rtol=1e-9
    )


# ---------------------------------------------------------------------------- I/O
def test_with_flow_decoder_round_trip_gives_identical_samples(tmp_path):
    vae = slot_model()
    torch.manual_seed(1)
    decoder = FlowDecoder(FlowDecoderConfig(latent_dim=4, max_particles=8, **FLOW)).double()
    model = with_flow_decoder(vae, decoder).eval()
    assert model.config.decoder == "flow"
    assert model.config.flow == decoder.config
    torch.testing.assert_close(model.to_latent[0].weight, vae.to_latent[0].weight)
    model.save_pretrained(tmp_path / "m")
    written = json.loads((tmp_path / "m" / "config.json").read_text())
    assert (written["class"], written["format"], written["config"]["decoder"]) == (
        "HyperVAE", 2, "flow",
    )  # fmt: skip
    loaded = HyperVAE.from_pretrained(tmp_path / "m")
    a, b = model.sample(6, None, seed=4), loaded.sample(6, None, seed=4)
    np.testing.assert_array_equal(flat(a, "pt"), flat(b, "pt"))
    np.testing.assert_array_equal(flat(a, "eta"), flat(b, "eta"))
    with pytest.raises(ValueError, match=r"flow_decoder\.config\.latent_dim=16 differs"):
        with_flow_decoder(vae, FlowDecoder(FlowDecoderConfig(max_particles=8, width=16)))


def test_with_decoder_copies_the_shared_weights_and_names_the_new_ones():
    vae = slot_model()
    model, report = with_decoder(vae, "flow", FLOW)
    assert report.initialised == ["particle_decoder."]
    assert report.dropped == ["particle_decoder."]
    shared = [k for k in vae.state_dict() if not k.startswith("particle_decoder.")]
    assert report.copied == len(shared)
    for key in shared:
        torch.testing.assert_close(model.state_dict()[key], vae.state_dict()[key])
    with pytest.raises(ValueError, match=r"decoder: must be one of"):
        with_decoder(vae, "banana")


# ---------------------------------------------------------------------------- objective
def test_flow_objective_terms_total_and_gradients():
    model = flow_model().train()
    batch = Batch.from_data_list([jet_graph(5, 9), jet_graph(8, 10)])
    torch.manual_seed(1)
    terms = model.compute_loss(batch, kl_weight=0.5)
    assert list(terms) == ["jet", "kl", "multiplicity", "flow", "scalar", "total"]
    weights = dict(model.config.loss_weights)
    weights["kl"] *= 0.5
    weights["scalar"] = model.config.flow.scalar_weight
    total = sum(weights.get(k, 1.0) * v for k, v in terms.items() if k != "total")
    assert float(terms["total"].detach()) == pytest.approx(float(total.detach()), rel=1e-12)
    terms["total"].backward()
    decoder = [p for n, p in model.named_parameters() if n.startswith("particle_decoder.")]
    assert decoder
    assert all(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in decoder)
    for head in (model.to_latent[0].weight, model.jet_head.weight, model.mult_head.weight):
        assert head.grad is not None
        assert float(head.grad.abs().sum()) > 0


def test_particles_carry_the_fitted_pt_fraction_of_the_head_jet():
    """The flow's particles sum to the head's pT times the fitted kept fraction."""
    cfg = hv.HyperVAEConfig(max_particles=6, latent_dim=4, hidden=16, decoder="flow",
                            flow={"width": 16, "layers": 1, "heads": 2})  # fmt: skip
    model = hv.HyperVAE(cfg).eval()
    dec = model.particle_decoder
    codes = torch.tensor([0, 0, 2, 2])
    fitted = dec.fit_pt_fraction(codes, torch.tensor([0.9, 0.9, 0.8, 0.8], dtype=torch.float64))
    assert torch.allclose(fitted[[0, 2]].exp(), torch.tensor([0.9, 0.8]))
    jets = model.sample(40, jet_type="t", seed=3, head=True, steps=2)
    ratio = ak.to_numpy(jets.pt) / ak.to_numpy(jets.head_pt)
    # the particle sum's pT is the fraction of the head's (up to its eta/axis placement)
    assert abs(float(np.median(ratio)) - 0.8) < 0.02

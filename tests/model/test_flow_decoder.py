"""FlowDecoder: config bounds, loss, ODE solvers, per-jet reproducible sampling, I/O."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from hypervae._config import ConfigError
from hypervae.model.flow_decoder import (
    FlowDecoder,
    FlowDecoderConfig,
    relative_log_mass,
    to_four_vectors,
)

TINY = {"latent_dim": 4, "max_particles": 6, "width": 8, "layers": 1, "heads": 2, "steps": 3}


def _decoder(**changes: object) -> FlowDecoder:
    torch.manual_seed(0)
    return FlowDecoder({**TINY, **changes}).eval()


def _jets(b: int = 5, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(b, 4, generator=g)
    jet_type = torch.arange(b) % 5
    n = torch.randint(1, 7, (b,), generator=g)
    mask = torch.arange(6)[None, :] < n[:, None]
    x = torch.randn(b, 6, 3, generator=g) * torch.tensor([0.1, 0.1, 1.0])
    x[..., 2] -= 3.0
    return z, jet_type, x, mask


# ---------------------------------------------------------------------------- config
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"steps": 0}, "steps"),
        ({"width": 0}, "width"),
        ({"layers": 0}, "layers"),
        ({"heads": 0}, "heads"),
        ({"solver": "rk4"}, "solver"),
        ({"velocity": "mlp"}, "velocity"),
        ({"width": 10, "heads": 4}, "width"),
        ({"feature_std": (1.0, 0.0, 1.0)}, "feature_std"),
        ({"time_power": 0.0}, "time_power"),
    ],
)
def test_config_refuses_bad_values_naming_the_field(changes, field):
    with pytest.raises(ConfigError, match=rf"^FlowDecoderConfig\.{field}: "):
        FlowDecoderConfig.from_dict({**TINY, **changes})


def test_config_json_round_trip():
    cfg = FlowDecoderConfig.from_dict({**TINY, "solver": "euler"})
    assert FlowDecoderConfig.from_json(cfg.to_json()) == cfg


# ---------------------------------------------------------------------------- loss
def test_loss_terms_finite_and_gradient_reaches_every_parameter():
    dec = _decoder().train()
    z, jet_type, x, mask = _jets()
    out = dec.loss(z, jet_type, x, mask, torch.Generator().manual_seed(1))
    assert set(out) == {"flow", "scalar", "total"}
    assert all(bool(torch.isfinite(v)) for v in out.values())
    out["total"].backward()
    for name, p in dec.named_parameters():
        assert p.grad is not None, name
        assert float(p.grad.abs().sum()) > 0, name


def test_loss_ignores_padding_even_with_nan():
    dec = _decoder().train()
    z, jet_type, x, mask = _jets(seed=2)
    clean = dec.loss(z, jet_type, x, mask, torch.Generator().manual_seed(3))
    dirty_x = x.clone()
    dirty_x[~mask] = float("nan")
    dirty = dec.loss(z, jet_type, dirty_x, mask, torch.Generator().manual_seed(3))
    for key in clean:
        assert dirty[key].item() == clean[key].item(), key


def test_time_power_moves_the_flow_times_toward_the_data_end():
    z, jet_type, x, mask = _jets(b=64, seed=4)
    times = {}
    for power in (1.0, 3.0):
        dec = _decoder(time_power=power).train()

        def spy(module, args, power=power):
            times[power] = args[1].detach().clone()  # forward(xt, t, cond, keep)

        handle = dec.velocity.register_forward_pre_hook(spy)
        dec.loss(z, jet_type, x, mask, torch.Generator().manual_seed(5))
        handle.remove()
    # the same uniform draws u, mapped to t = 1 - (1 - u) ** power
    torch.testing.assert_close(times[3.0], 1.0 - (1.0 - times[1.0]) ** 3, rtol=0, atol=1e-6)
    assert float(times[3.0].mean()) > float(times[1.0].mean()) + 0.1


def test_loss_refuses_unknown_jet_type_naming_the_jet():
    z, jet_type, x, mask = _jets()
    jet_type[3] = 7
    with pytest.raises(ValueError, match="jet_type of jet 3 is 7"):
        _decoder().loss(z, jet_type, x, mask)


# ---------------------------------------------------------------------------- physics
def test_relative_log_mass_matches_a_reference_loop():
    _, _, x, mask = _jets(7, seed=4)
    got = relative_log_mass(x.double(), mask)
    for b in range(len(x)):
        e = px = py = pz = 0.0
        for eta, phi, lnpt in x[b][mask[b]].double().tolist():
            pt = math.exp(lnpt)
            e, px = e + pt * math.cosh(eta), px + pt * math.cos(phi)
            py, pz = py + pt * math.sin(phi), pz + pt * math.sinh(eta)
        m = math.sqrt(max(e * e - px * px - py * py - pz * pz, 0.0))
        ref = math.log(max(m / math.hypot(px, py), 1e-4))
        assert float(got[b]) == pytest.approx(ref, rel=1e-9, abs=1e-12)


def test_four_vectors_massless_float64_and_placed_on_the_jet():
    _, _, x, mask = _jets(6, seed=5)
    pt, eta, phi = (
        torch.rand(6).double() * 900 + 100,
        torch.randn(6).double(),
        torch.rand(6).double(),
    )
    p4 = to_four_vectors(x, mask, pt, eta, phi)
    assert p4.dtype == torch.float64
    m2 = p4[..., 0] ** 2 - (p4[..., 1:] ** 2).sum(-1)
    assert float((m2.abs() / p4[..., 0].clamp(min=1e-9) ** 2)[mask].max()) < 1e-9
    assert bool((p4[~mask] == 0).all())
    jet = p4.sum(1)
    torch.testing.assert_close(jet[:, 1:3].norm(dim=-1), pt, rtol=1e-12, atol=0)
    # every particle keeps its offset from the requested axis
    lab_phi = torch.atan2(p4[..., 2], p4[..., 1])
    dphi = torch.remainder(lab_phi - phi[:, None] - x[..., 1].double() + math.pi, 2 * math.pi)
    torch.testing.assert_close(dphi[mask] - math.pi, torch.zeros(int(mask.sum())).double(),
                               atol=1e-9, rtol=0)  # fmt: skip


# ---------------------------------------------------------------------------- sampling
def test_sample_shapes_mask_and_dtype():
    z, jet_type, _, _ = _jets()
    n = torch.tensor([6, 1, 3, 2, 5])
    out = _decoder().sample(z, jet_type, n, seed=0)
    assert out["coords"].shape == (5, 6, 3)
    assert out["coords"].dtype == torch.float64
    assert out["mask"].sum(1).tolist() == n.tolist()
    assert bool((out["coords"][~out["mask"]] == 0).all())
    assert out["p4"].shape == (5, 6, 4)
    assert out["log_m_over_pt"].shape == (5,)
    assert bool(torch.isfinite(out["p4"]).all())


@pytest.mark.parametrize("solver", ["euler", "midpoint", "heun"])
def test_same_seed_same_jets_for_batch_sizes_1_and_7(solver):
    dec = _decoder()
    z, jet_type, _, _ = _jets(7, seed=6)
    n = torch.tensor([6, 1, 3, 2, 5, 4, 6])
    full = dec.sample(z, jet_type, n, seed=11, solver=solver)
    for i in (0, 3, 6):
        one = dec.sample(z[i : i + 1], jet_type[i : i + 1], n[i : i + 1], seed=11,
                         solver=solver, first_index=i)  # fmt: skip
        torch.testing.assert_close(one["coords"][0], full["coords"][i], atol=1e-5, rtol=0)
    other = dec.sample(z, jet_type, n, seed=12, solver=solver)
    assert not torch.allclose(other["coords"], full["coords"])


def test_sampling_leaves_the_global_rng_alone():
    z, jet_type, _, _ = _jets()
    state = torch.get_rng_state()
    _decoder().sample(z, jet_type, torch.full((5,), 3), seed=1)
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("steps", [0, -1, 2.5, True])
def test_bad_steps_refused_naming_the_argument(steps):
    z, jet_type, _, _ = _jets()
    with pytest.raises(ValueError, match=r"^steps "):
        _decoder().sample(z, jet_type, torch.full((5,), 3), seed=0, steps=steps)


def test_unknown_solver_refused_naming_the_argument():
    z, jet_type, _, _ = _jets()
    with pytest.raises(ValueError, match=r"^solver .*'rk4'"):
        _decoder().sample(z, jet_type, torch.full((5,), 3), seed=0, solver="rk4")


def test_bad_multiplicity_refused_naming_the_jet():
    z, jet_type, _, _ = _jets()
    with pytest.raises(ValueError, match="multiplicity of jet 2 is 7"):
        _decoder().sample(z, jet_type, torch.tensor([1, 2, 7, 3, 3]), seed=0)


class _Linear(nn.Module):
    """v(x, t) = x: the exact flow from t=0 to 1 multiplies x by e."""

    def forward(self, x, t, condition, mask):
        return x * mask[..., None]


@pytest.mark.parametrize("solver", ["euler", "midpoint", "heun"])
def test_solvers_converge_at_their_order(solver):
    dec = _decoder()
    dec.velocity = _Linear()
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    mask = torch.ones(2, 6, dtype=torch.bool)
    cond = torch.zeros(2, 1, dtype=torch.float64)
    errors = [
        float((dec._integrate(x, cond, mask, s, solver) - math.e * x).abs().max()) for s in (8, 16)
    ]
    order = math.log2(errors[0] / errors[1])
    assert order == pytest.approx(1.0 if solver == "euler" else 2.0, abs=0.15)


def test_save_and_load_give_the_same_jets(tmp_path):
    dec = _decoder()
    dec.save_pretrained(tmp_path / "flow")
    again = FlowDecoder.from_pretrained(tmp_path / "flow")
    assert again.config == dec.config
    z, jet_type, _, _ = _jets()
    n = torch.full((5,), 4)
    a, b = dec.sample(z, jet_type, n, seed=3), again.sample(z, jet_type, n, seed=3)
    torch.testing.assert_close(a["coords"], b["coords"], atol=0, rtol=0)


def test_load_refuses_another_class(tmp_path):
    from hypervae._io import save_weights

    save_weights(tmp_path, {"w": torch.zeros(1)}, "HyperVAE", {})
    with pytest.raises(ValueError, match="not a FlowDecoder"):
        FlowDecoder.from_pretrained(tmp_path)

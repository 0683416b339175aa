"""One contract over every model of the package (issue 13 item 8).

For each HyperVAE variant (with and without edges and hyperedges, slim and full L-GATr
backbone, slot and flow-matching particle decoders) and each tagger (Particle Transformer, PHAT-JeT) at tiny sizes:

* gradients reach every parameter (a parameter that never learns is a bug);
* a save/load round trip gives identical outputs;
* padding does not change outputs (extra padded particles for the taggers; for the
  VAE, bigger jets in the same batch, i.e. more padding in the dense encoder tensor);
* float64 works: the model runs in double precision, and agrees with float32.

PHAT-JeT gets ``patch_size=2``: with one patch (fewer particles than a patch) its global
attention has a single key, whose softmax is 1 whatever the query, so the query weights
could not get a gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch_geometric.data import Batch

import hypervae as hv
from tests.model.helpers import jet_graph


def _vae(**overrides: Any) -> hv.HyperVAE:
    cfg = {"max_particles": 8, "latent_dim": 3, "hidden": 8, "num_heads": 2,
           "decoder": "slots",
           "encoder": {"num_blocks": 1, "hidden_v_channels": 4, "hidden_s_channels": 8,
                       "num_heads": 2},
           "slot_decoder": {"num_blocks": 1, "hidden_v_channels": 4, "hidden_s_channels": 8,
                            "num_heads": 2},
           "flow": {"width": 8, "layers": 1, "heads": 2, "steps": 3}}  # fmt: skip
    for key, value in overrides.items():
        if key == "backbone":
            cfg["encoder"] = {**cfg["encoder"], "backbone": value}
            cfg["slot_decoder"] = {**cfg["slot_decoder"], "backbone": value}
        else:
            cfg[key] = value
    return hv.HyperVAE(cfg)


@dataclass
class Case:
    name: str
    kind: str  # "vae" or "tagger"
    options: dict[str, Any]

    def build(self) -> torch.nn.Module:
        torch.manual_seed(0)
        if self.kind == "vae":
            return _vae(**self.options)
        from hypervae.taggers import build_tagger

        return build_tagger(self.options["name"], 3, **self.options["config"])


CASES = [
    Case("vae-edges-hyperedges", "vae", {}),
    Case("vae-particles-only", "vae", {"use_edges": False, "use_hyperedges": False}),
    Case("vae-edges-only", "vae", {"use_hyperedges": False}),
    Case("vae-hyperedges-only", "vae", {"use_edges": False}),
    Case("vae-full-backbone", "vae", {"backbone": "full"}),
    Case("vae-flow-decoder", "vae", {"decoder": "flow"}),
    Case("particle-transformer", "tagger", {"name": "part", "config": {
        "embed_dim": 8, "num_heads": 2, "mlp_dim": 16, "num_layers": 1, "num_class_layers": 1,
        "particle_embed_dims": (8,), "pair_embed_dims": (4,), "dropout": 0.0}}),
    Case("phat-jet", "tagger", {"name": "phat", "config": {
        "dims": (8,), "depths": (1,), "num_heads": (2,), "patch_size": 2}}),
]  # fmt: skip


def _graphs():
    return [jet_graph(5, 1, jet_type=0), jet_graph(7, 2, jet_type=2), jet_graph(3, 3, 4)]


def _particles(dtype: torch.dtype, pad: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(4)
    p3 = torch.randn(3, 6, 3, generator=g, dtype=torch.float64) * 5
    p3[..., 0] += 100.0
    p4 = torch.cat([(p3.norm(dim=-1, keepdim=True) ** 2 + 0.01).sqrt(), p3], -1)
    p4 = torch.cat([p4, torch.full((3, pad, 4), 1e3, dtype=torch.float64)], 1)  # garbage pads
    mask = torch.zeros(3, 6 + pad, dtype=torch.bool)
    mask[0, :6], mask[1, :4], mask[2, :2] = True, True, True
    return p4.to(dtype), mask


def _outputs(case: Case, model: torch.nn.Module, dtype: torch.dtype, pad: int = 0):
    """The outputs compared by the contract (in the model's eval mode)."""
    model.eval()
    with torch.no_grad():
        if case.kind == "vae":
            graphs = _graphs()
            if pad:  # a bigger jet in the batch: more padding around the others
                graphs = [*graphs, jet_graph(8, 9)]
            post = model.encode(Batch.from_data_list(graphs))
            z = torch.linspace(-1, 1, 9, dtype=dtype).view(3, 3)
            dec = model.decode(z, torch.tensor([0, 2, 4]))
            if dec.p4 is None:  # the flow decoder samples: from fixed noise
                noise = torch.randn(3, 3 * 8 + 1, generator=torch.Generator().manual_seed(5))
                p4, _ = model.particle_decoder.sample(dec, torch.tensor([3, 5, 8]), noise)
                return [post.mu[:3], post.logvar[:3], p4, dec.jet]
            return [post.mu[:3], post.logvar[:3], dec.p4, dec.exist_logits, dec.jet]
        p4, mask = _particles(dtype, pad)
        return [model(p4, mask)]


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request):
    return request.param


def test_gradients_reach_every_parameter(case):
    model = case.build().train()
    if case.kind == "vae":
        torch.manual_seed(1)
        loss = model.compute_loss(Batch.from_data_list(_graphs()), tau=0.5)["total"]
    else:
        p4, mask = _particles(torch.float32)
        logits = model(p4, mask)
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2]))
    loss.backward()
    dead = [
        name
        for name, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not bool(p.grad.abs().sum() > 0))
    ]
    assert dead == []


def test_save_load_round_trip_gives_identical_outputs(case, tmp_path):
    model = case.build()
    if case.kind == "vae":
        model.save_pretrained(tmp_path / "m")
        loaded = hv.HyperVAE.from_pretrained(tmp_path / "m")
    else:
        from hypervae.taggers.io import load_tagger, save_tagger

        save_tagger(model, tmp_path / "m")
        loaded = load_tagger(tmp_path / "m")
    for a, b in zip(
        _outputs(case, model, torch.float32), _outputs(case, loaded, torch.float32), strict=True
    ):
        assert torch.equal(a, b)


def test_padding_does_not_change_outputs(case):
    model = case.build()
    plain = _outputs(case, model, torch.float32)
    padded = _outputs(case, model, torch.float32, pad=5)
    for a, b in zip(plain, padded, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_float64_works_and_agrees_with_float32(case):
    model = case.build()
    single = _outputs(case, model, torch.float32)
    double = _outputs(case, model.double(), torch.float64)
    for a, b in zip(single, double, strict=True):
        assert b.dtype == torch.float64
        assert bool(torch.isfinite(b).all())
        torch.testing.assert_close(a.double(), b, rtol=1e-3, atol=1e-4)

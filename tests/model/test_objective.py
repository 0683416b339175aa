"""The objective is assembled from hypervae.losses: the model's consistency term is the
public consistency_loss, recomputed here from the model's own outputs."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

import hypervae as hv
from hypervae.graph.batch import JetBatch
from hypervae.model.objective import posterior_sample
from tests.model.helpers import jet_graph, small_model


@torch.no_grad()
def test_consistency_term_is_the_public_consistency_loss():
    model = small_model(consistency_mass_weight=0.7)
    batch = Batch.from_data_list([jet_graph(5, 9), jet_graph(8, 10)])
    torch.manual_seed(3)
    terms = model.compute_loss(batch, tau=0.5)
    # the same draws, then the public function on the model's outputs
    torch.manual_seed(3)
    jb = JetBatch.from_data(batch)
    z = posterior_sample(model.encode(jb))
    out = model.decode(z, jb.jet_type, model.frame_jet_vector(jb.jet_features))
    x, mask = jb.to_dense(8, dtype=torch.float64)
    slots = torch.arange(8)[None, :] < mask.sum(1)[:, None]
    expected = hv.losses.consistency_loss(out.p4, slots, x, mask, mass_weight=0.7)
    assert float(terms["consistency"]) == pytest.approx(float(expected), rel=1e-12)
    # and the formula itself, written out: momentum sum + weighted log-mass difference
    p, q = out.p4[slots].new_zeros(2, 4), x.new_zeros(2, 4)
    for b in range(2):
        for i in range(8):
            if slots[b, i]:
                p[b] += out.p4[b, i]
            if mask[b, i]:
                q[b] += x[b, i]

    def ln_m(v):
        return 0.5 * torch.log(torch.clamp(v[0] ** 2 - (v[1:] ** 2).sum(), min=1e-8))

    slow = sum(((p[b] - q[b]) ** 2).sum() + 0.7 * (ln_m(p[b]) - ln_m(q[b])) ** 2 for b in range(2))
    assert float(expected) == pytest.approx(float(slow) / 2, rel=1e-12)


@torch.no_grad()
def test_terms_and_total():
    model = small_model()
    batch = Batch.from_data_list([jet_graph(5, 9), jet_graph(8, 10)])
    torch.manual_seed(1)
    terms = model.compute_loss(batch, tau=0.5, kl_weight=0.25)
    slot_terms = [t for t in hv.model.LOSS_TERMS if t not in ("flow", "scalar")]
    assert list(terms) == [*slot_terms, "total"]
    weights = dict(model.config.loss_weights)
    weights["kl"] *= 0.25
    total = sum(weights[k] * terms[k] for k in slot_terms)
    assert float(terms["total"]) == pytest.approx(float(total), rel=1e-12)


def test_deprecated_feature_consistency_still_answers():
    p4 = torch.tensor([[[5.0, 3.0, 0.0, 4.0], [5.0, -3.0, 0.0, 4.0]]], dtype=torch.float64)
    mask = torch.ones(1, 2, dtype=torch.bool)
    feats = hv.losses.jet_features_from_particles(p4, mask)
    with pytest.warns(DeprecationWarning, match=r"\(pT, eta, mass\) targets is deprecated"):
        assert float(hv.losses.consistency_loss(p4, mask, feats)) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match=r"target must be \[B, 4\]"):
        hv.losses.consistency_loss(p4, mask, torch.zeros(2, 4, dtype=torch.float64))

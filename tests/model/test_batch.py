"""JetBatch: the one reader of the batch layout (``y`` or jet_type + jet_features)."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

import hypervae as hv
from hypervae.graph.batch import JetBatch, y_row
from tests.model.helpers import jet_graph


def test_y_layout_round_trip_matches_the_graph_builder():
    jets = hv.datasets.load_sample("w", split="test")[:3]
    graphs = hv.graph.build_hypergraphs(jets, {"max_particles": 30})
    jb = JetBatch.from_data(Batch.from_data_list(graphs))
    assert jb.num_jets == 3
    assert jb.jet_type.tolist() == [3, 3, 3]
    # the builder's y, read back: pT, eta, mass of the jets in GeV
    for i, g in enumerate(graphs):
        pt, eta, mass = jb.jet_features[i].tolist()
        torch.testing.assert_close(y_row(3, pt, eta, mass), g.y, rtol=1e-6, atol=1e-6)
    assert jb.to_dense(30)[0].shape == (3, 30, 4)


def test_jet_type_and_features_take_precedence_and_errors_are_named():
    batch = Batch.from_data_list([jet_graph(5, 1, jet_type=4), jet_graph(3, 2, jet_type=1)])
    jb = JetBatch.from_data(batch)
    assert jb.jet_type.tolist() == [4, 1]
    assert jb.jet_features[0].tolist() == [1000.0, 0.3, 170.0]
    assert JetBatch.from_data(jb) is jb
    dense, mask = jb.to_dense(6)
    assert mask.sum(1).tolist() == [5, 3]
    assert torch.equal(dense[1, :3], batch.x[5:8])
    with pytest.raises(ValueError, match=r"jet 0 of the batch has 5 particles.*max_particles=4"):
        jb.to_dense(4)
    bare = Batch.from_data_list([jet_graph(3, 2)])
    del bare.jet_type
    with pytest.raises(ValueError, match=r"no jet-level target; expected y"):
        JetBatch.from_data(bare)
    bare.y = torch.zeros(1, 3)
    with pytest.raises(ValueError, match=r"batch\.y: expected 4 columns"):
        JetBatch.from_data(bare)


def test_encode_refuses_non_finite_input_naming_the_jet():
    from tests.model.helpers import small_model

    model = small_model()
    graphs = [jet_graph(5, 1), jet_graph(3, 2)]
    graphs[1].x[2, 1] = float("nan")
    with pytest.raises(ValueError, match=r"batch\.x: non-finite particle 4-momentum in jet 1"):
        model.encode(Batch.from_data_list(graphs))
    graphs = [jet_graph(5, 1), jet_graph(3, 2)]
    graphs[0].edge_attr[0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"batch\.edge_attr: non-finite"):
        model.encode(Batch.from_data_list(graphs))

import dataclasses
import json
import os
import re

import numpy as np
import pytest
import torch
from graph_jets import random_jets

from hypervae._config import ConfigError
from hypervae.graph import GraphNormalization, HypergraphDataset, build_dataset, build_hypergraphs

CFG = {"budget": "top_weight", "k": 2, "eec_bins": 6}


def test_fit_transform_inverse_and_json():
    graphs = build_hypergraphs(random_jets(6, 12, seed=9), CFG)
    norm = GraphNormalization.fit(graphs)
    edges = torch.cat([g.edge_attr for g in graphs]).double()
    np.testing.assert_allclose(norm.mean["edge_attr"], edges.mean(0).numpy(), rtol=1e-9)
    np.testing.assert_allclose(
        norm.std["edge_attr"], edges.std(0, unbiased=False).numpy(), rtol=1e-6
    )
    assert norm.mean["y"][0] == 0.0
    assert norm.std["y"][0] == 1.0  # the jet type is never standardised
    scaled = [norm.transform(g) for g in graphs]
    all_scaled = torch.cat([g.edge_attr for g in scaled]).double()
    np.testing.assert_allclose(all_scaled.mean(0).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(all_scaled.std(0, unbiased=False).numpy(), 1.0, atol=1e-5)
    assert torch.equal(scaled[0].x, graphs[0].x)  # x is never z-scored
    assert torch.equal(scaled[0].y[:, 0], graphs[0].y[:, 0])
    for g, s in zip(graphs, scaled, strict=True):
        back = norm.inverse_transform(s)
        torch.testing.assert_close(back.edge_attr, g.edge_attr, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(back.hyperedge_attr, g.hyperedge_attr, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(back.y, g.y, atol=1e-5, rtol=1e-5)
    again = GraphNormalization.from_dict(json.loads(json.dumps(norm.to_dict())))
    assert again == norm
    with pytest.raises(ConfigError, match=r"^GraphNormalization\.sd: unknown key"):
        GraphNormalization.from_dict({"mean": {}, "sd": {}})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mean": {"y": [float("nan")]}, "std": {"y": [1.0]}}, r"mean\.y\[0\]: must be finite"),
        ({"mean": {"y": [0.0]}, "std": {"y": [0.0]}}, r"std\.y\[0\]: must be > 0, got 0\.0"),
        ({"mean": {"y": [0.0, 1.0]}, "std": {"y": [1.0]}}, r"std\.y: 1 columns, mean\.y has 2"),
        ({"mean": {"y": [0.0]}, "std": {}}, r"std: fields \[\] differ"),
    ],
)
def test_bad_statistics_are_refused(values, message):
    with pytest.raises(ConfigError, match=rf"^GraphNormalization\.{message}"):
        GraphNormalization.from_dict(values)


def test_save_is_atomic_and_load_names_the_file(tmp_path):
    norm = GraphNormalization(mean={"y": [1.0]}, std={"y": [2.0]}, count={"y": 3})
    with pytest.raises(dataclasses.FrozenInstanceError):
        norm.mean = {}  # type: ignore[misc]
    path = norm.save(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["normalization.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert GraphNormalization.load(tmp_path) == norm
    path.write_text(path.read_text().replace("2.0", "NaN"))
    with pytest.raises(
        ValueError, match=rf"^{re.escape(str(path))}: .*std\.y\[0\]: must be finite"
    ):
        GraphNormalization.load(path)
    with pytest.raises(FileNotFoundError, match=r"nowhere\.json: no such normalisation file"):
        GraphNormalization.load(tmp_path / "nowhere.json")


def test_fitted_on_train_only(tmp_path):
    train = random_jets(8, 12, seed=10)
    val = random_jets(8, 40, seed=11, eta0=1.5)  # different multiplicities and eta
    build_dataset({"train": train, "val": val}, tmp_path, CFG, shard_size=5, progress=False)
    stored = GraphNormalization.load(tmp_path)
    train_only = GraphNormalization.fit(build_hypergraphs(train, CFG))
    leaky = GraphNormalization.fit(build_hypergraphs(train, CFG) + build_hypergraphs(val, CFG))
    for name in ("edge_attr", "hyperedge_attr", "y"):
        np.testing.assert_allclose(stored.mean[name], train_only.mean[name], rtol=1e-9)
        np.testing.assert_allclose(stored.std[name], train_only.std[name], rtol=1e-9)
    assert not np.allclose(stored.mean["y"], leaky.mean["y"])
    assert stored.count["edge_attr"] == sum(n * (n - 1) for n in train.n_particles.tolist())
    # the val split is served standardised with the train statistics
    raw = HypergraphDataset(tmp_path, "val")[0]
    served = HypergraphDataset(tmp_path, "val", normalize=True)[0]
    torch.testing.assert_close(served.edge_attr, stored.transform(raw).edge_attr)

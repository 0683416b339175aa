import math

import pytest
from graph_jets import random_jets

import hypervae.cli
from hypervae.datasets import save_parquet
from hypervae.graph import (
    CHECKS,
    build_dataset,
    build_hypergraphs,
    read_shard,
    validate_graphs,
    validate_path,
    write_shard,
)

CFG = {"budget": "knn", "k": 3, "eec_bins": 6}


@pytest.fixture
def graphs():
    return build_hypergraphs(random_jets(3, 10, seed=12), CFG)


def _edit(name):
    def edit(g):
        if name == "missing":
            del g.eec_hist
        elif name == "shape":
            g.edge_attr = g.edge_attr[:, :4]
        elif name == "dtype":
            g.x = g.x.double()
        elif name == "edge_out_of_bounds":
            g.edge_index[0, 0] = g.x.shape[0]
        elif name == "hyperedge_out_of_bounds":
            g.hyperedge_index[1, -1] = g.hyperedge_attr.shape[0]
        elif name == "self_loop":
            g.edge_index[1, 0] = g.edge_index[0, 0]
        elif name == "repeated_member":
            g.hyperedge_index[0, 1] = g.hyperedge_index[0, 0]
        elif name == "nan":
            g.edge_attr[0, 1] = math.nan
        elif name == "inf":
            g.hyperedge_attr[0, 2] = math.inf
        elif name == "bad_type":
            g.y[0, 0] = 7.0
        elif name == "negative_hist":
            g.eec_hist[0, 0] = -1.0
        elif name == "edge_weight":
            g.edge_attr[:, 0] *= 1.5
        elif name == "ln_dr":
            g.edge_attr[:, 1] += 0.5
        elif name == "hyper_weight":
            g.hyperedge_attr[:, 0] *= 1.1
        elif name == "ln_rl":
            g.hyperedge_attr[:, 1] -= 0.2
        elif name == "not_in_frame":
            g.x[:, 2] += 0.01

    return edit


@pytest.mark.parametrize(
    ("defect", "check", "text"),
    [
        ("missing", "structure", "missing tensor 'eec_hist'"),
        ("shape", "structure", "'edge_attr' has shape"),
        ("dtype", "dtype", "'x' is torch.float64, expected torch.float32"),
        ("edge_out_of_bounds", "index", "edge_index outside"),
        ("hyperedge_out_of_bounds", "index", "hyperedge_index[1] outside"),
        ("self_loop", "index", "self loops"),
        ("repeated_member", "index", "same particle twice"),
        ("nan", "finite", "'edge_attr' has 1 NaN/inf"),
        ("inf", "finite", "'hyperedge_attr' has 1 NaN/inf"),
        ("bad_type", "range", "jet type 7.0 not in 0-4"),
        ("negative_hist", "range", "eec_hist has negative bins"),
        ("edge_weight", "consistency", "edge weight != w_i w_j"),
        ("ln_dr", "consistency", "edge ln dR differs"),
        ("hyper_weight", "consistency", "hyperedge weight != N! prod w"),
        ("ln_rl", "consistency", "hyperedge ln R_L differs"),
        ("not_in_frame", "consistency", "not in the jet frame"),
    ],
)
def test_each_defect_class_is_caught(graphs, defect, check, text):
    assert validate_graphs(graphs).ok
    _edit(defect)(graphs[1])
    report = validate_graphs(graphs)
    assert not report.ok
    assert {i.where for i in report.issues} == {"graph 1"}
    assert any(i.check == check and text in i.message for i in report.issues), report.format()
    assert check in CHECKS
    assert f"{check:<12} FAILED" in report.format()


def test_dataset_checksums_and_counts(tmp_path):
    build_dataset(random_jets(5, 10, seed=13), tmp_path, CFG, shard_size=3, progress=False)
    assert validate_path(tmp_path).ok
    assert validate_path(tmp_path).n_graphs == 5
    shard = tmp_path / "train" / "shard-00001.safetensors"
    graphs = read_shard(shard)
    write_shard(graphs[:1], shard)
    messages = [str(i) for i in validate_path(tmp_path).issues]
    assert any("SHA-256 differs" in m for m in messages)
    assert any("1 graphs, manifest says 2" in m for m in messages)
    shard.unlink()
    assert any("shard file is missing" in str(i) for i in validate_path(tmp_path).issues)


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setattr(hypervae.cli, "COMMAND_MODULES", ("hypervae.graph.cli",))
    return hypervae.cli.main


def test_cli_build_and_validate(tmp_path, cli, capsys):
    jets = random_jets(20, 10, seed=14)
    source = save_parquet(jets, tmp_path / "jets.parquet")
    out = tmp_path / "graphs"
    args = ["build-graphs", str(source), "-o", str(out), "--set", "budget=top_weight"]
    assert cli([*args, "--set", "k=2", "--shard-size", "4", "-q"]) == 0
    assert "train=14, val=3, test=3" in capsys.readouterr().out
    assert (out / "normalization.json").exists()
    assert cli(["validate", str(out)]) == 0
    assert capsys.readouterr().out.strip().endswith("OK")
    shard = out / "val" / "shard-00000.safetensors"
    graphs = read_shard(shard)
    graphs[0].edge_attr[0, 2] = math.nan
    write_shard(graphs, shard)
    assert cli(["validate", str(out)]) == 1
    text = capsys.readouterr().out
    assert "finite       FAILED (1)" in text
    assert "val/shard-00000.safetensors graph 0: finite" in text
    assert cli(["validate", str(shard)]) == 1
    assert cli(["validate", str(tmp_path / "nothing")]) == 1
    assert "no such file or directory" in capsys.readouterr().err


def test_cli_explicit_splits_and_bad_config(tmp_path, cli, capsys):
    jets = random_jets(6, 8, seed=15)
    train = save_parquet(jets[:4], tmp_path / "train.parquet")
    val = save_parquet(jets[4:], tmp_path / "val.parquet")
    out = tmp_path / "g"
    assert cli(["build-graphs", f"train={train}", f"val={val}", "-o", str(out), "-q"]) == 0
    assert "train=4, val=2" in capsys.readouterr().out
    assert cli(["build-graphs", str(train), "-o", str(out), "--set", "budget=every", "-q"]) == 1
    assert "HypergraphConfig.budget: must be one of" in capsys.readouterr().err

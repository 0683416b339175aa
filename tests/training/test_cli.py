"""``hypervae train`` and ``hypervae generate`` end to end on tiny data."""

from __future__ import annotations

import argparse
import json

import awkward as ak
import numpy as np
import pytest
import yaml

import hypervae as hv
from hypervae.model import cli as model_cli
from hypervae.training import cli, load_checkpoint

from .conftest import GRAPH_CONFIG, synthetic_jets


def run(argv):
    parser = argparse.ArgumentParser(prog="hypervae")
    subparsers = parser.add_subparsers(dest="command")
    cli.register(subparsers)
    model_cli.register(subparsers)  # 'generate' lives in hypervae.model.cli
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def run_file(tmp_path):
    block = {"num_blocks": 1, "hidden_v_channels": 4, "hidden_s_channels": 8, "num_heads": 2}
    config = {
        "model": {"max_particles": 8, "latent_dim": 4, "hidden": 16, "num_heads": 2,
                  "encoder": block, "decoder": block},
        "graph": {k: v for k, v in GRAPH_CONFIG.items() if k != "max_particles"},
        "training": {"batch_size": 4, "max_epochs": 2, "warmup_steps": 1, "log_every": 1,
                     "kl_warmup_epochs": 1, "seed": 3},
    }  # fmt: skip
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("train", ["--config", "--data", "-o", "--resume", "--epochs", "--batch-size",
                   "--device", "--seed", "--no-tensorboard", "--quiet", "--init-from", "build-graphs", "sample:",
                   "torchrun"]),
        ("generate", ["--model", "-n", "--jet-type", "--temperature", "--batch-size", "--seed",
                      "--output", ".parquet", ".safetensors", "mix", "--graph-config"]),
    ],
)  # fmt: skip
def test_help_is_complete(command, options, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run([command, "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in options:
        assert option in text, option


def test_train_resume_generate_from_parquet(tmp_path, run_file, capsys):
    data = tmp_path / "jets.parquet"
    hv.datasets.save_parquet(synthetic_jets(14, seed=4), data)
    save = tmp_path / "run"
    base = ["train", "--config", str(run_file), "--data", str(data), "-o", str(save), "-q", "--no-tensorboard"]  # fmt: skip
    assert run(base) == 0
    assert "trained 2 epochs" in capsys.readouterr().out
    meta = json.loads(load_checkpoint(save / "checkpoints" / "last.pt")["meta"])
    assert meta["epoch"] == 2
    assert meta["normalization"] is not None
    assert run([*base, "--resume", "--epochs", "3"]) == 0
    assert "trained 3 epochs" in capsys.readouterr().out
    run_json = json.loads((save / "final" / "run.json").read_text())
    assert run_json["training"]["max_epochs"] == 3
    assert run_json["graph"]["k"] == 2
    rows = [json.loads(line) for line in (save / "metrics.jsonl").read_text().splitlines()]
    assert {r["epoch"] for r in rows if r["tag"] == "epoch"} == {0, 1, 2}

    out = tmp_path / "gen.parquet"
    gen = ["generate", "--model", str(save / "best"), "-n", "6", "--jet-type", "mix", "--seed", "1", "--batch-size", "4"]  # fmt: skip
    assert run([*gen, "-o", str(out)]) == 0
    jets = hv.datasets.load_parquet(out)
    assert len(jets) == 6
    assert ak.all(jets.n_particles <= 8)
    assert np.all(ak.to_numpy(jets.pt) > 0)
    again = tmp_path / "again.parquet"
    assert run([*gen, "-o", str(again)]) == 0
    assert ak.to_list(hv.datasets.load_parquet(again).pt) == ak.to_list(jets.pt)

    shard = tmp_path / "gen.safetensors"
    assert run([*gen, "-o", str(shard), "--jet-type", "w"]) == 0
    graphs = hv.graph.read_shard(shard)
    assert len(graphs) == 6
    assert all(int(g.y[0, 0]) == 3 for g in graphs)


def test_train_from_graph_dataset(tmp_path, run_file):
    root = tmp_path / "graphs"
    splits = {"train": synthetic_jets(10, seed=5), "val": synthetic_jets(3, seed=6)}
    hv.graph.build_dataset(splits, root, GRAPH_CONFIG, progress=False)
    save = tmp_path / "run"
    argv = ["train", "--config", str(run_file), "--data", str(root), "-o", str(save), "-q", "--no-tensorboard", "--epochs", "1"]  # fmt: skip
    assert run(argv) == 0
    model = hv.HyperVAE.from_pretrained(save / "final")
    y = np.concatenate([g.y[:, 1:].numpy() for g in hv.graph.HypergraphDataset(root, "train")])
    assert model.config.norm.mean == pytest.approx(y.mean(0).tolist(), rel=1e-5)
    norm = hv.graph.GraphNormalization.load(save / "final")
    assert norm == hv.graph.GraphNormalization.load(root)


def test_train_from_sample_spec(tmp_path, run_file, monkeypatch):
    from hypervae.datasets import sample

    seeds = {"train": 7, "val": 8}
    monkeypatch.setattr(sample, "load_sample", lambda t, split: synthetic_jets(6, seeds[split], t))
    save = tmp_path / "run"
    argv = ["train", "--config", str(run_file), "--data", "sample:q", "-o", str(save), "-q", "--no-tensorboard", "--epochs", "1"]  # fmt: skip
    assert run(argv) == 0
    assert (save / "best" / "model.safetensors").is_file()


def test_errors_name_the_problem(tmp_path, run_file):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        run(["train", "--config", str(run_file), "--data", str(tmp_path / "nowhere"), "-o", str(tmp_path)])  # fmt: skip
    data = tmp_path / "jets.parquet"
    hv.datasets.save_parquet(synthetic_jets(4), data)
    with pytest.raises(FileNotFoundError, match="--resume"):
        run(["train", "--config", str(run_file), "--data", str(data), "-o", str(tmp_path / "x"), "--resume", "-q"])  # fmt: skip
    with pytest.raises(ValueError, match="--output"):
        run(["generate", "--model", "m", "-n", "2", "-o", str(tmp_path / "g.csv")])


def test_init_from_starts_at_the_given_weights(tmp_path, run_file):
    root = tmp_path / "graphs"
    splits = {"train": synthetic_jets(10, seed=5), "val": synthetic_jets(3, seed=6)}
    hv.graph.build_dataset(splits, root, GRAPH_CONFIG, progress=False)
    first = tmp_path / "first"
    common = ["--config", str(run_file), "--data", str(root), "-q", "--no-tensorboard"]
    assert run(["train", *common, "-o", str(first), "--epochs", "1"]) == 0
    start = hv.HyperVAE.from_pretrained(first / "final")
    second = tmp_path / "second"
    argv = ["train", *common, "-o", str(second), "--epochs", "1", "--init-from", str(first / "final")]  # fmt: skip
    assert run(argv) == 0
    tuned = hv.HyperVAE.from_pretrained(second / "final")
    assert tuned.config == start.config
    # one epoch from the first run's weights moves them a little, not back to a fresh init
    fresh = hv.HyperVAE(start.config)
    state = {k: v for k, v in start.state_dict().items() if v.numel()}
    moved = [(tuned.state_dict()[k] - v).abs().max() for k, v in state.items()]
    reset = [(fresh.state_dict()[k] - v).abs().max() for k, v in state.items()]
    assert 0 < float(sum(moved)) < float(sum(reset))
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        run(["train", *common, "-o", str(tmp_path / "x"), "--init-from", "no-such-model"])


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--batch-size", "0", "argument --batch-size: must be >= 1, got 0"),
        ("--batch-size", "two", "argument --batch-size: expected a positive integer, got 'two'"),
        ("--epochs", "-1", "argument --epochs: must be >= 1, got -1"),
        ("--seed", "1e23", "argument --seed: expected an integer seed from 0 to 4294967295, got '1e23'"),
        ("--seed", str(10**23), "argument --seed: expected an integer seed from 0 to 4294967295"),
        ("--seed", "-3", "argument --seed: expected an integer seed"),
    ],
)  # fmt: skip
def test_bad_numbers_name_the_option(option, value, expected, capsys, tmp_path):
    """Regression (issue 14): --batch-size 0 said 'range() arg 3 must not be zero' and
    --seed 1e23 overflowed; now argparse names the option and what it expects."""
    argv = ["train", "--data", "sample:g", "-o", str(tmp_path), option, value]
    with pytest.raises(SystemExit) as info:
        run(argv)
    assert info.value.code == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "checkpoints").exists()


def test_seed_option_overrides_the_run_file(tmp_path, run_file):
    root = tmp_path / "graphs"
    splits = {"train": synthetic_jets(8, seed=5), "val": synthetic_jets(2, seed=6)}
    hv.graph.build_dataset(splits, root, GRAPH_CONFIG, progress=False)
    common = ["--config", str(run_file), "--data", str(root), "-q", "--no-tensorboard", "--epochs", "1"]  # fmt: skip
    assert run(["train", *common, "-o", str(tmp_path / "a"), "--seed", "11"]) == 0
    meta = json.loads(load_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")["meta"])
    assert meta["training"]["seed"] == 11
    run_json = json.loads((tmp_path / "a" / "final" / "run.json").read_text())
    assert run_json["training"]["seed"] == 11


def test_save_dir_is_a_deprecated_alias_of_output():
    import argparse

    from hypervae.training.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["train", "--data", "sample:g", "--save-dir", "runs/x"])
    assert args.save_dir_old == "runs/x"
    assert args.save_dir is None
    args = parser.parse_args(["train", "--data", "sample:g", "--output", "runs/y"])
    assert args.save_dir == "runs/y"


def _flow_run_file(tmp_path, flow):
    config = {
        "model": {"max_particles": 8, "latent_dim": 4, "hidden": 16, "num_heads": 2,
                  "encoder": {"num_blocks": 1, "hidden_v_channels": 4, "hidden_s_channels": 8,
                              "num_heads": 2},
                  "decoder": "flow", "flow": flow},
        "graph": {k: v for k, v in GRAPH_CONFIG.items() if k != "max_particles"},
        "training": {"batch_size": 4, "max_epochs": 1, "warmup_steps": 1, "seed": 3,
                     "ema_decay": 0.9},
    }  # fmt: skip
    path = tmp_path / "flow.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_train_fits_the_flow_standardisation_unless_given(tmp_path, capsys):
    from hypervae.model.flow import fit_flow_standardisation
    from hypervae.training.data import load_training_data

    data = tmp_path / "jets.parquet"
    jets = synthetic_jets(14, seed=4)  # clustered jets 25 % harder than the stored particles
    hv.datasets.save_parquet(ak.with_field(jets, jets.pt * 1.25, "pt"), data)
    flow = {"width": 8, "layers": 1, "heads": 2, "steps": 2}
    common = ["--data", str(data), "-q", "--no-tensorboard"]
    assert run(["train", "--config", str(_flow_run_file(tmp_path, flow)), *common,
                "-o", str(tmp_path / "fit")]) == 0  # fmt: skip
    assert "flow decoder standardisation fitted on" in capsys.readouterr().out
    trained = hv.HyperVAE.from_pretrained(tmp_path / "fit" / "final").config.flow
    graph = {k: v for k, v in GRAPH_CONFIG.items() if k != "max_particles"}
    expected = fit_flow_standardisation(
        load_training_data(str(data), graph, max_particles=8, progress=False).train, 8
    )
    assert trained.feature_mean == pytest.approx(expected["feature_mean"])
    assert trained.scalar_std == pytest.approx(expected["scalar_std"])
    assert trained.feature_std != hv.model.flow_decoder.FlowDecoderConfig().feature_std
    # the kept-pT fraction per type: the leading 8 particles' pT over the jet's
    from hypervae.model.flow import kept_pt_fraction

    train = load_training_data(str(data), graph, max_particles=8, progress=False).train
    types, fraction = kept_pt_fraction(train, 8)
    model = hv.HyperVAE.from_pretrained(tmp_path / "fit" / "final")
    for code in types.unique().tolist():
        want = float(fraction[types == code].log().mean())
        assert float(model.particle_decoder.log_pt_fraction[code]) == pytest.approx(want)
    assert float(fraction.max()) < 0.81  # 0.8 or less: the stored particles' sum / 1.25
    given = {**flow, "feature_mean": [0.0, 0.0, -2.0], "feature_std": [0.2, 0.2, 1.0]}
    assert run(["train", "--config", str(_flow_run_file(tmp_path, given)), *common,
                "-o", str(tmp_path / "given")]) == 0  # fmt: skip
    kept = hv.HyperVAE.from_pretrained(tmp_path / "given" / "final").config.flow
    assert kept.feature_mean == (0.0, 0.0, -2.0)

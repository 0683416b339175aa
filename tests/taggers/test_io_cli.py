from __future__ import annotations

import argparse
import json

import pytest
import torch

from hypervae import datasets
from hypervae.taggers import build_tagger, load_tagger, save_tagger, toy_jets
from hypervae.taggers.cli import register

from .conftest import TINY_PART


def test_save_load_round_trip(tmp_path, jets):
    torch.manual_seed(0)
    model = build_tagger("part", **TINY_PART).eval()
    save_tagger(model, tmp_path / "m", metrics={"accuracy": 0.25})
    record = json.loads((tmp_path / "m" / "config.json").read_text())
    assert (record["class"], record["format"]) == ("ParticleTransformer", 2)
    assert json.loads((tmp_path / "m" / "metrics.json").read_text()) == {"accuracy": 0.25}
    assert (tmp_path / "m" / "model.safetensors").is_file()
    again = load_tagger(tmp_path / "m")
    p4, mask = jets
    torch.testing.assert_close(again(p4, mask), model(p4, mask), rtol=0, atol=0)
    (tmp_path / "m" / "config.json").write_text(json.dumps({"class": "Net", "config": {}}))
    with pytest.raises(ValueError, match="field 'class' is 'Net'"):
        load_tagger(tmp_path / "m")
    with pytest.raises(FileNotFoundError, match="no tagger config"):
        load_tagger(tmp_path / "nothing")


def test_old_tagger_directories_still_load(tmp_path, jets):
    torch.manual_seed(0)
    model = build_tagger("part", **TINY_PART).eval()
    old = tmp_path / "old"
    old.mkdir()
    record = {"class": "ParticleTransformer", "config": model.config.to_dict(), "metrics": {}}
    (old / "config.json").write_text(json.dumps(record))
    torch.save(model.state_dict(), old / "weights.pt")
    with pytest.warns(DeprecationWarning, match=r"save_tagger\(load_tagger\(d\), d\)"):
        again = load_tagger(old)
    p4, mask = jets
    torch.testing.assert_close(again(p4, mask), model(p4, mask), rtol=0, atol=0)
    save_tagger(again, old)  # the conversion the warning names
    assert (old / "model.safetensors").is_file()
    torch.testing.assert_close(load_tagger(old)(p4, mask), model(p4, mask), rtol=0, atol=0)
    (old / "weights.pt").write_bytes(b"not a torch file")
    (old / "config.json").write_text(json.dumps(record))
    with (
        pytest.warns(DeprecationWarning, match="old tagger directory"),
        pytest.raises(ValueError, match=r"weights\.pt"),
    ):
        load_tagger(old)


def test_train_tagger_command(tmp_path, monkeypatch, capsys):
    prongs = {"q": 1, "t": 3}

    def fake_sample(jet_type, split="all"):
        seed = {"train": 0, "val": 1, "test": 2}[split] + 10 * prongs[jet_type]
        return toy_jets(40, prongs[jet_type], seed=seed)

    monkeypatch.setattr(datasets, "load_sample", fake_sample)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    overrides = {"dims": [8], "depths": [1], "num_heads": [2], "patch_size": 8}
    args = parser.parse_args(
        ["train-tagger", "--model", "phat", "--types", "q", "t", "--epochs", "1",
         "--batch-size", "20", "--config", json.dumps(overrides), "-o", str(tmp_path)]
    )  # fmt: skip
    assert args.func(args) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert set(metrics) >= {"accuracy", "auc_q", "auc_t", "rejection80_t", "loss"}
    model = load_tagger(tmp_path)
    assert model.config.dims == (8,)
    assert model.config.num_classes == 2
    assert json.loads((tmp_path / "metrics.json").read_text())["types"] == ["q", "t"]
    # --resume continues the run in the output directory to more epochs
    args = parser.parse_args(
        ["train-tagger", "--model", "phat", "--types", "q", "t", "--epochs", "2",
         "--batch-size", "20", "--config", json.dumps(overrides), "-o", str(tmp_path),
         "--resume"]
    )  # fmt: skip
    assert args.func(args) == 0
    rows = [json.loads(r) for r in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows if r["tag"] == "epoch"] == [0, 1]
    assert [r["step"] for r in rows if r["tag"] == "train"] == list(range(1, 9))  # 4 a epoch


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--batch-size", "0", "argument --batch-size: must be >= 1, got 0"),
        ("--seed", "1e23", "argument --seed: expected an integer seed"),
        ("--epochs", "x", "argument --max-epochs/--epochs: expected a positive integer, got 'x'"),
    ],
)
def test_train_tagger_bad_numbers_name_the_option(option, value, expected, capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    with pytest.raises(SystemExit):
        parser.parse_args(["train-tagger", "-o", "x", option, value])
    assert expected in capsys.readouterr().err

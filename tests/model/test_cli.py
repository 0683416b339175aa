"""``hypervae generate``: streamed parquet output, refused bad arguments and NaN jets."""

from __future__ import annotations

import re

import awkward as ak
import numpy as np
import pytest
import torch

import hypervae as hv
from hypervae.cli import main
from hypervae.model import cli as model_cli


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    model = hv.HyperVAE({"max_particles": 6, "latent_dim": 4, "hidden": 16,
                         "encoder": {"num_blocks": 1}, "decoder": {"num_blocks": 1}})  # fmt: skip
    return model.save_pretrained(tmp_path_factory.mktemp("cli") / "m")


def test_streams_parquet_in_row_groups_and_matches_sample(model_dir, tmp_path, monkeypatch, capsys):
    import pyarrow.parquet as pq

    monkeypatch.setattr(model_cli, "CHUNK_JETS", 128)
    out = tmp_path / "gen.parquet"
    argv = ["generate", "--model", str(model_dir), "-n", "300", "--seed", "4", "-o", str(out)]
    assert main([*argv, "--jet-type", "mix", "--batch-size", "50"]) == 0
    assert "wrote 300 jets" in capsys.readouterr().out
    assert pq.ParquetFile(out).metadata.num_row_groups == 3  # written chunk by chunk
    jets = hv.datasets.load_parquet(out)
    ref = hv.HyperVAE.from_pretrained(model_dir).sample(300, jet_type=None, seed=4)
    assert jets.jet_type.to_list() == ref.jet_type.to_list()
    np.testing.assert_allclose(
        ak.to_numpy(ak.flatten(jets.particles.pt)), ak.to_numpy(ak.flatten(ref.particles.pt)),
        rtol=1e-5,
    )  # fmt: skip
    assert ak.all(ak.flatten(jets.particles.mass) == 0)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--temperature", "nan"], r"--temperature: expected a finite number > 0, got 'nan'"),
        (["--temperature", "inf"], r"--temperature: expected a finite number > 0, got 'inf'"),
        (["--temperature", "0"], r"--temperature: expected a finite number > 0"),
        (["--batch-size", "0"], r"--batch-size: must be >= 1, got 0"),
        (["-n", "0"], r"-n/--n-jets/--n: must be >= 1, got 0"),
        (["--seed", "1e23"], r"--seed: expected an integer seed from 0 to 4294967295"),
    ],
)
def test_bad_arguments_are_argparse_errors(model_dir, tmp_path, capsys, args, match):
    argv = ["generate", "--model", str(model_dir), "-n", "5", "-o", str(tmp_path / "g.parquet")]
    with pytest.raises(SystemExit) as info:
        main([*argv, *args])
    assert info.value.code == 2
    assert re.search(match, capsys.readouterr().err)


def test_nan_jets_are_refused_and_nothing_is_written(model_dir, tmp_path, capsys):
    out = tmp_path / "g.parquet"
    argv = ["generate", "--model", str(model_dir), "-n", "50", "-o", str(out), "--seed", "0"]
    assert main([*argv, "--temperature", "1e6"]) == 1
    assert "non-finite or zero-pT values for jet" in capsys.readouterr().err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


@pytest.mark.parametrize(
    ("device", "match"), [("banana", "unknown device 'banana'"), ("cuda:99", "cuda:99")]
)
def test_bad_device_is_named(model_dir, tmp_path, capsys, device, match):
    argv = ["generate", "--model", str(model_dir), "-n", "5", "-o", str(tmp_path / "g.parquet")]
    assert main([*argv, "--device", device]) == 1
    err = capsys.readouterr().err
    assert match in err
    assert "truncated" not in err


def test_huge_graph_output_is_refused_up_front(model_dir, tmp_path, capsys):
    out = tmp_path / "g.safetensors"
    argv = ["generate", "--model", str(model_dir), "-n", "1000000000", "-o", str(out)]
    assert main(argv) == 1
    assert "GB in memory" in capsys.readouterr().err
    assert not out.exists()

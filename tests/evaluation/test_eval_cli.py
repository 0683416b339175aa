"""The ``evaluate`` command on its own parser."""

from __future__ import annotations

import argparse
import json
from importlib import resources

import awkward as ak
import numpy as np
import pytest

import hypervae as hv
from hypervae.evaluation import cli
from hypervae.physics import from_padded, ptetaphim_to_cartesian


def parser():
    p = argparse.ArgumentParser(prog="hypervae")
    cli.register(p.add_subparsers(dest="command"))
    return p


def write_jets(path, seed, n_jets=80, types=(2,)):
    rng = np.random.default_rng(seed)
    n_max = 8
    counts = rng.integers(3, n_max + 1, size=n_jets)
    mask = np.arange(n_max)[None, :] < counts[:, None]
    p4 = ptetaphim_to_cartesian(
        rng.exponential(30, (n_jets, n_max)) + 1,
        rng.normal(0, 0.2, (n_jets, n_max)),
        rng.normal(0, 0.2, (n_jets, n_max)),
    )
    codes = np.resize(np.asarray(types), n_jets)
    jets = hv.datasets.make_jets(from_padded(np.where(mask[..., None], p4, 0), mask), codes)
    return hv.datasets.save_parquet(jets, path)


def test_help_lists_every_option(capsys):
    with pytest.raises(SystemExit):
        parser().parse_args(["evaluate", "--help"])
    text = capsys.readouterr().out
    for option in (
        "--real", "--generated", "--output", "--plot-dir", "--num-eval-samples",
        "--num-batches", "--seed", "--eec", "--jet-type", "sample:TYPE",
    ):  # fmt: skip
        assert option in text


@pytest.mark.slow  # over 10 s on 2 cores
def test_runs_end_to_end(tmp_path, capsys):
    real = write_jets(tmp_path / "real.parquet", 0)
    gen = write_jets(tmp_path / "gen.parquet", 1, n_jets=70)
    out = tmp_path / "out" / "metrics.json"
    args = parser().parse_args(
        [
            "evaluate", "--real", str(real), "--generated", str(gen), "--output", str(out),
            "--plot-dir", str(tmp_path / "plots"), "--eec", "2", "--num-batches", "3",
        ]
    )  # fmt: skip
    assert args.func(args) == 0
    metrics = json.loads(out.read_text())
    assert metrics["n_real"] == 80
    assert metrics["n_generated"] == 70
    assert metrics["sampling"]["num_batches"] == 3
    assert "w1_eec2" in metrics
    assert "w1_eec3" not in metrics
    assert metrics["inputs"]["generated"] == str(gen)
    assert metrics["w1m"]["mean"] > 0
    assert list(out.parent.iterdir()) == [out]  # no temporary file left behind
    assert len(list((tmp_path / "plots").glob("*.png"))) == 4
    printed = capsys.readouterr().out
    assert "80 real vs 70 generated" in printed
    assert "w1efp" in printed


def test_jet_type_selection_and_errors(tmp_path):
    mixed = write_jets(tmp_path / "mixed.parquet", 2, types=(0, 2))
    args = parser().parse_args(
        ["evaluate", "--real", str(mixed), "--generated", str(mixed), "--jet-type", "g", "--eec"]
    )
    assert args.func(args) == 0
    args = parser().parse_args(
        ["evaluate", "--real", str(mixed), "--generated", str(mixed), "--jet-type", "z"]
    )
    with pytest.raises(ValueError, match="real jets contain no jet of type 'z'"):
        args.func(args)
    with pytest.raises(FileNotFoundError, match=r"no such jets file: missing\.parquet"):
        cli.load_jets("missing.parquet")
    with pytest.raises(ValueError, match="expected 'sample:TYPE"):
        cli.load_jets("sample:t:test:x")
    with pytest.raises(ValueError, match="unknown split 'bad'"):
        cli.load_jets("sample:t:bad")


def test_write_json_is_atomic_and_strict(tmp_path):
    path = cli.write_json(
        {"a": [1.0, float("nan")], "b": {"c": float("-inf")}}, tmp_path / "m.json"
    )
    assert json.loads(path.read_text()) == {"a": [1.0, None], "b": {"c": None}}
    with pytest.raises(TypeError):
        cli.write_json({"a": object()}, tmp_path / "bad.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_shipped_sample_spec():
    data = resources.files("hypervae.datasets").joinpath("data")
    if not (data.joinpath("t.parquet").is_file() and data.joinpath("sample.json").is_file()):
        pytest.skip("the shipped sample is not built in this checkout")
    jets = cli.load_jets("sample:t:test")
    assert len(jets) > 0
    assert set(np.unique(jets.jet_type.to_numpy())) == {2}


def test_through_the_hypervae_command(tmp_path, monkeypatch, capsys):
    import hypervae.cli as main_cli

    monkeypatch.setattr(main_cli, "COMMAND_MODULES", ("hypervae.evaluation.cli",))
    real = write_jets(tmp_path / "real.parquet", 3, n_jets=40)
    code = main_cli.main(["evaluate", "--real", str(real), "--generated", "nope.parquet"])
    assert code == 1
    assert "no such jets file: nope.parquet" in capsys.readouterr().err
    code = main_cli.main(["evaluate", "--real", str(real), "--generated", str(real), "--eec"])
    assert code == 0


def test_jets_from_particles_or_fields(tmp_path):
    # the same particles; the 'real' file's jet fields describe a larger clustered jet
    path = write_jets(tmp_path / "gen.parquet", 3, n_jets=400)
    jets = hv.datasets.load_parquet(path)
    clustered = hv.datasets.make_jets(
        jets.particles, jets.jet_type, pt=jets.pt * 1.2, eta=jets.eta, phi=jets.phi,
        mass=jets.mass * 1.2,
    )  # fmt: skip
    real = hv.datasets.save_parquet(clustered, tmp_path / "real.parquet")
    results = {}
    for mode in ("particles", "fields"):
        out = tmp_path / f"{mode}.json"
        args = parser().parse_args(
            [
                "evaluate", "--real", str(real), "--generated", str(path), "--eec",
                "--jets-from", mode, "--output", str(out), "--num-batches", "2",
            ]
        )  # fmt: skip
        assert args.func(args) == 0
        results[mode] = json.loads(out.read_text())
    assert results["particles"]["inputs"]["jets_from"] == "particles"
    # identical particles: once both jets are the particle sums only the resampling noise
    # of the W1 batches is left; relative to the clustered jet, the real jets' pt_rel and
    # relative mass shrink by 1/1.2
    pt_rel = {m: r["w1p"]["per_feature"]["pt_rel"]["mean"] for m, r in results.items()}
    assert pt_rel["fields"] > 3 * pt_rel["particles"]
    assert results["fields"]["w1m"]["mean"] > 3 * results["particles"]["w1m"]["mean"]


@pytest.fixture
def main(monkeypatch):
    import hypervae.cli as main_cli

    monkeypatch.setattr(main_cli, "COMMAND_MODULES", ("hypervae.evaluation.cli",))
    return main_cli.main


@pytest.mark.parametrize("content", [b"", b"\x8f\x00garbage" * 64, b"pt,eta,phi\n1,2,3\n"])
def test_a_bad_generated_file_is_blamed_on_generated(tmp_path, main, capsys, content):
    """Issue 14: the message named --real for a bad --generated file."""
    real = write_jets(tmp_path / "real.parquet", 3, n_jets=20)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(content)
    assert main(["evaluate", "--real", str(real), "--generated", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"--generated {bad}: {bad}: not a parquet jets file" in err
    assert "--real" not in err
    assert main(["evaluate", "--real", str(bad), "--generated", str(real)]) == 1
    assert f"--real {bad}: {bad}: not a parquet jets file" in capsys.readouterr().err


def test_generated_jets_without_jet_type_are_refused(tmp_path, main, capsys):
    """Issue 14: a file without jet_type was evaluated as all gluons (exit 0)."""
    real = write_jets(tmp_path / "real.parquet", 3, n_jets=20)
    jets = hv.datasets.load_parquet(real)
    untyped = tmp_path / "untyped.parquet"
    hv.datasets.save_parquet(ak.without_field(jets, "jet_type"), untyped)
    assert main(["evaluate", "--real", str(real), "--generated", str(untyped), "--eec"]) == 1
    err = capsys.readouterr().err
    assert f"--generated {untyped}: {untyped}: no 'jet_type' field" in err
    assert "types generated" not in capsys.readouterr().out
    with pytest.raises(ValueError, match="jets have no 'jet_type' field"):
        cli._from_particles(ak.without_field(jets, "jet_type"), "--generated x:")


def test_a_directory_is_called_a_directory(tmp_path, main, capsys):
    real = write_jets(tmp_path / "real.parquet", 3, n_jets=20)
    folder = tmp_path / "gen.parquet"
    folder.mkdir()
    assert main(["evaluate", "--real", str(real), "--generated", str(folder)]) == 1
    err = capsys.readouterr().err
    assert f"--generated {folder}: {folder}: is a directory" in err
    assert "no such jets file" not in err


def test_short_output_flag(tmp_path, main):
    real = write_jets(tmp_path / "real.parquet", 3, n_jets=20)
    out = tmp_path / "m.json"
    assert (
        main(["evaluate", "--real", str(real), "--generated", str(real), "--eec", "-o", str(out)])
        == 0
    )
    assert json.loads(out.read_text())["n_real"] == 20

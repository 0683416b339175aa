"""Hostile inputs to dataset construction, storage and validation (issue 14)."""

from __future__ import annotations

import json

import pytest
from graph_jets import random_jets

import hypervae.cli
from hypervae.datasets import save_parquet
from hypervae.graph import (
    HypergraphConfig,
    HypergraphDataset,
    build_dataset,
    finalize_dataset,
    read_manifest,
    validate_path,
)

CFG = {"budget": "knn", "k": 2, "eec_bins": 4}


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setattr(hypervae.cli, "COMMAND_MODULES", ("hypervae.graph.cli",))
    return hypervae.cli.main


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _manifest_files(manifest):
    files = [s["file"] for v in manifest["splits"].values() for s in v["shards"]]
    return sorted([*files, "manifest.json", "normalization.json"])


def test_build_graphs_refuses_a_file_with_no_jets(tmp_path, cli, capsys):
    empty = save_parquet(random_jets(3, 5, seed=1)[:0], tmp_path / "empty.parquet")
    out = tmp_path / "graphs"
    assert cli(["build-graphs", str(empty), "-o", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert f"{empty}: holds 0 jets" in err
    assert not (out / "manifest.json").exists()
    good = save_parquet(random_jets(4, 5, seed=1), tmp_path / "good.parquet")
    assert cli(["build-graphs", f"train={good}", f"val={empty}", "-o", str(out), "-q"]) == 1
    assert f"{empty}: holds 0 jets" in capsys.readouterr().err


def test_build_dataset_refuses_empty_splits(tmp_path):
    jets = random_jets(4, 5, seed=2)
    with pytest.raises(ValueError, match="split 'val' holds 0 jets"):
        build_dataset({"train": jets, "val": jets[:0]}, tmp_path, CFG, progress=False)
    with pytest.raises(ValueError, match="no splits given"):
        build_dataset({}, tmp_path, CFG, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_validate_fails_an_empty_dataset(tmp_path, cli, capsys):
    finalize_dataset(tmp_path, HypergraphConfig(), {"train": []})
    report = validate_path(tmp_path)
    assert not report.ok
    assert any("dataset holds no graphs" in str(i) for i in report.issues)
    assert cli(["validate", str(tmp_path)]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_validate_reports_a_missing_normalisation(tmp_path):
    build_dataset(random_jets(4, 6, seed=3), tmp_path, CFG, progress=False)
    (tmp_path / "normalization.json").unlink()
    messages = [str(i) for i in validate_path(tmp_path).issues]
    assert messages == ["normalization.json: manifest: normalisation file is missing"]


def test_rebuild_needs_overwrite_and_leaves_no_stale_shard(tmp_path, cli, capsys):
    big = save_parquet(random_jets(12, 6, seed=4), tmp_path / "big.parquet")
    small = save_parquet(random_jets(4, 6, seed=5), tmp_path / "small.parquet")
    out = tmp_path / "graphs"
    base = ["-o", str(out), "-q", "--shard-size", "2", "--set", "k=2"]
    assert cli(["build-graphs", f"train={big}", f"val={big}", *base]) == 0
    assert len(list((out / "train").glob("shard-*"))) == 6
    capsys.readouterr()
    assert cli(["build-graphs", f"train={small}", *base]) == 1
    assert f"{out}: output directory is not empty" in capsys.readouterr().err
    assert cli(["build-graphs", f"train={small}", *base, "--overwrite"]) == 0
    manifest = read_manifest(out)
    assert _files(out) == _manifest_files(manifest)  # no shard of the old build survives
    assert not (out / "val").exists()
    assert validate_path(out).ok
    assert len(HypergraphDataset(out, "train")) == 4


def test_overwrite_never_clears_a_folder_that_is_not_a_dataset(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match=r"holds no manifest\.json"):
        build_dataset(random_jets(3, 5, seed=6), tmp_path, CFG, progress=False, overwrite=True)
    assert _files(tmp_path) == ["notes.txt"]


def _escaping_manifest(root, entry):
    build_dataset(random_jets(3, 5, seed=7), root, CFG, progress=False)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["splits"]["train"]["shards"][0]["file"] = entry
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root / "manifest.json"


@pytest.mark.parametrize("entry", ["../../etc/passwd", "/etc/passwd", "train/../../x"])
def test_manifest_paths_may_not_leave_their_folder(tmp_path, cli, capsys, entry):
    root = tmp_path / "data"
    manifest = _escaping_manifest(root, entry)
    expected = f"{manifest}: splits.train.shards[0].file {entry!r} leaves the dataset folder"
    with pytest.raises(ValueError, match="leaves the dataset folder") as info:
        HypergraphDataset(root, "train")
    assert str(info.value).startswith(expected)
    with pytest.raises(ValueError, match="leaves the dataset folder"):
        validate_path(root)
    assert cli(["validate", str(root)]) == 1
    assert expected in capsys.readouterr().err


def test_malformed_manifests_name_the_entry(tmp_path):
    root = tmp_path / "data"
    manifest = _escaping_manifest(root, "train/shard-00000.safetensors")
    values = json.loads(manifest.read_text())
    values["splits"]["train"]["shards"][0]["count"] = "3"
    manifest.write_text(json.dumps(values))
    with pytest.raises(ValueError, match=r"splits\.train\.shards\[0\]\.count: expected an integer"):
        read_manifest(root)
    manifest.write_text("{not json")
    with pytest.raises(ValueError, match=rf"^{manifest}: not valid JSON"):
        read_manifest(root)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a parquet jets file (the file is empty, 0 bytes)"),
        (bytes(range(256)) * 4, "not a parquet jets file (ArrowInvalid"),
        (b"pt,eta\n1,2\n", "not a parquet jets file (ArrowInvalid"),
        (None, "is a directory"),
    ],
    ids=["zero-bytes", "random-bytes", "csv-renamed", "directory"],
)
def test_build_graphs_names_a_bad_input_file(tmp_path, cli, capsys, content, message):
    bad = tmp_path / "jets.parquet"
    if content is None:
        bad.mkdir()
    else:
        bad.write_bytes(content)
    assert cli(["build-graphs", str(bad), "-o", str(tmp_path / "out"), "-q"]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: {message}" in err
    assert "no such jets file" not in err


def test_deprecated_out_and_run_file_config(tmp_path, cli, capsys):
    jets = save_parquet(random_jets(4, 6, seed=8), tmp_path / "j.parquet")
    run = tmp_path / "run.yaml"
    run.write_text("graph:\n  budget: top_weight\n  k: 3\ntraining:\n  lr: 0.001\n")
    out = tmp_path / "a"
    with pytest.warns(DeprecationWarning, match="--out is deprecated"):
        code = cli(["build-graphs", f"train={jets}", "--out", str(out), "--config", str(run), "-q"])
    assert code == 0
    assert read_manifest(out)["config"]["budget"] == "top_weight"
    assert read_manifest(out)["config"]["k"] == 3
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"budget": "all"}))
    with pytest.warns(DeprecationWarning, match="flat JSON"):
        code = cli(
            [
                "build-graphs",
                f"train={jets}",
                "-o",
                str(tmp_path / "b"),
                "--config",
                str(flat),
                "-q",
            ]
        )
    assert code == 0
    assert read_manifest(tmp_path / "b")["config"]["budget"] == "all"
    assert cli(["build-graphs", f"train={jets}", "-q"]) == 1
    assert "-o/--output is required" in capsys.readouterr().err

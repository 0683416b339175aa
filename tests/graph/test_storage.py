import json

import numpy as np
import pytest
import torch
from graph_jets import random_jets
from torch_geometric.loader import DataLoader

from hypervae.datasets import save_parquet
from hypervae.graph import (
    HypergraphDataset,
    build_dataset,
    build_hypergraphs,
    build_with_dask,
    file_sha256,
    read_shard,
    write_shard,
)

CFG = {"budget": "knn", "k": 3, "eec_bins": 6}


def _same(a, b):
    assert sorted(a.keys()) == sorted(b.keys())
    for key in a.keys():  # noqa: SIM118 (Data iterates over (key, value) pairs)
        assert a[key].dtype == b[key].dtype, key
        assert torch.equal(a[key], b[key]), key


def test_shard_round_trip(tmp_path):
    graphs = build_hypergraphs(random_jets(5, 10, seed=4), CFG)
    path = write_shard(graphs, tmp_path / "s.safetensors")
    back = read_shard(path)
    assert len(back) == 5
    for a, b in zip(graphs, back, strict=True):
        _same(a, b)
    assert path.read_bytes()[:8] != b"\x80\x04\x95"  # not a pickle


def test_dataset_spans_shards_lazily(tmp_path):
    jets = random_jets(11, 10, seed=5)
    manifest = build_dataset(jets, tmp_path, CFG, shard_size=4, progress=False)
    info = manifest["splits"]["train"]
    assert info["count"] == 11
    assert [s["count"] for s in info["shards"]] == [4, 4, 3]
    for shard in info["shards"]:
        assert shard["sha256"] == file_sha256(tmp_path / shard["file"])
    assert json.loads((tmp_path / "manifest.json").read_text())["config"]["k"] == 3
    ds = HypergraphDataset(tmp_path, "train")
    expected = build_hypergraphs(jets, CFG)
    assert len(ds) == 11
    for j in (0, 3, 4, 10, -1):
        _same(ds[j], expected[j])
    with pytest.raises(IndexError, match="index 11 out of range"):
        ds[11]
    with pytest.raises(KeyError, match="no split 'test'"):
        HypergraphDataset(tmp_path, "test")
    batch = next(iter(DataLoader(ds, batch_size=5)))
    assert batch.num_graphs == 5
    assert batch.hyperedge_index[1].max().item() + 1 == batch.hyperedge_attr.shape[0]


@pytest.mark.slow  # over 10 s on 2 cores
def test_worker_processes_give_identical_shards(tmp_path):
    jets = random_jets(6, 10, seed=6)
    one = build_dataset(jets, tmp_path / "one", CFG, shard_size=3, progress=False)
    two = build_dataset(jets, tmp_path / "two", CFG, shard_size=3, num_workers=2, progress=False)
    assert one["splits"] == two["splits"]  # same files, counts and checksums


def test_dask_local_cluster(tmp_path):
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    jets = random_jets(7, 10, seed=8)
    files = [
        save_parquet(jets[:4], tmp_path / "a.parquet"),
        save_parquet(jets[4:], tmp_path / "b.parquet"),
    ]
    with (
        distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        manifest = build_with_dask({"train": files}, tmp_path / "out", CFG, client=client)
    assert [s["count"] for s in manifest["splits"]["train"]["shards"]] == [4, 3]
    ds = HypergraphDataset(tmp_path / "out", "train")
    expected = build_hypergraphs(jets, CFG)
    for j in range(7):
        np.testing.assert_array_equal(ds[j].hyperedge_index, expected[j].hyperedge_index)
        torch.testing.assert_close(ds[j].edge_attr, expected[j].edge_attr)


# ---------------------------------------------------------------- damaged shards


def _shard(tmp_path):
    graphs = build_hypergraphs(random_jets(4, 10, seed=9), CFG)
    return write_shard(graphs, tmp_path / "shard-00000.safetensors")


@pytest.mark.parametrize("keep", [0.5, 0.99, 20 / 1e9])
def test_truncated_shard_names_the_file(tmp_path, keep):
    from hypervae.graph.storage import ShardError

    path = _shard(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    with pytest.raises(ShardError, match=r"shard-00000\.safetensors: shard is corrupted or trunc"):
        read_shard(path)


def test_byte_flipped_header_names_the_file(tmp_path):
    from hypervae.graph.storage import ShardError

    path = _shard(tmp_path)
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF  # inside the JSON header
    path.write_bytes(bytes(data))
    with pytest.raises(ShardError, match=r"shard-00000\.safetensors: shard is corrupted") as info:
        read_shard(path)
    assert not isinstance(info.value.__cause__, ShardError)  # the safetensors error is chained


def test_byte_flipped_data_is_caught_by_the_manifest_checksum(tmp_path):
    from hypervae.graph.storage import ShardError

    build_dataset(random_jets(6, 10, seed=7), tmp_path, CFG, shard_size=3, progress=False)
    path = tmp_path / "train" / "shard-00001.safetensors"
    assert path.is_file()
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01  # a tensor byte: safetensors itself cannot notice
    path.write_bytes(bytes(data))
    ds = HypergraphDataset(tmp_path, "train")
    ds[0]  # the first shard is intact
    with pytest.raises(ShardError, match=r"shard-00001\.safetensors: shard is corrupted \(SHA"):
        ds[4]
    assert len(HypergraphDataset(tmp_path, "train", verify=False)[4].x) > 0


def test_missing_keys_are_named(tmp_path):
    from safetensors.torch import save_file

    from hypervae.graph.storage import FORMAT, ShardError

    path = tmp_path / "s.safetensors"
    ptr = torch.tensor([0, 2])
    tensors = {"y": torch.ones(2, 4), "y.ptr": ptr}
    save_file(tensors, path, metadata={"format": FORMAT})
    with pytest.raises(ShardError, match=r"s\.safetensors: shard has no key 'x'"):
        read_shard(path)
    save_file({"x": torch.ones(2, 4), "x.ptr": ptr, "y": torch.ones(2, 4)}, path,
              metadata={"format": FORMAT})  # fmt: skip
    with pytest.raises(ShardError, match=r"'y' but not its offsets 'y\.ptr'"):
        read_shard(path)
    save_file({"x": torch.ones(2, 4), "x.ptr": torch.tensor([0, 3])}, path,
              metadata={"format": FORMAT})  # fmt: skip
    with pytest.raises(ShardError, match=r"offsets 'x\.ptr' do not match 'x'"):
        read_shard(path)


def test_dataset_shard_missing_a_key_names_it(tmp_path):
    from hypervae.graph.storage import ShardError

    build_dataset(random_jets(6, 10, seed=7), tmp_path, CFG, shard_size=3, progress=False)
    path = tmp_path / "train" / "shard-00001.safetensors"
    graphs = read_shard(path)
    for g in graphs:
        del g.hyperedge_attr
    write_shard(graphs, path)
    ds = HypergraphDataset(tmp_path, "train", verify=False)
    ds[0]
    with pytest.raises(
        ShardError, match=r"shard-00001\.safetensors: shard has no key 'hyperedge_attr'"
    ):
        ds[3]

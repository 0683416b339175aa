"""Sharded on-disk hypergraph datasets (safetensors: loading never unpickles code).

A dataset directory holds::

    manifest.json            format, config, per split: count and shards (file, count, sha256)
    normalization.json       GraphNormalization fitted on the training split (if built)
    <split>/shard-00000.safetensors ...

A shard stores, for every graph attribute, the graphs' values concatenated along the
attribute's PyG concatenation dimension (``<key>``) and the offsets ``<key>.ptr [G + 1]``;
:func:`read_shard` slices them back into :class:`~hypervae.graph.data.HypergraphData`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch.utils.data import Dataset

from .._io import atomic_write, read_json
from .data import HypergraphData
from .normalization import GraphNormalization

__all__ = [
    "FORMAT",
    "HypergraphDataset",
    "ShardError",
    "file_sha256",
    "read_manifest",
    "read_shard",
    "write_shard",
]

FORMAT = "hypervae-hypergraphs/1"


def _cat_dim(key: str) -> int:
    return 1 if key.endswith("index") else 0


def write_shard(graphs: Sequence[HypergraphData], path: str | os.PathLike[str]) -> Path:
    """Writes graphs to one ``.safetensors`` shard atomically.

    Examples:
        >>> import tempfile, torch
        >>> g = HypergraphData(x=torch.ones(2, 4), edge_index=torch.tensor([[0], [1]]))
        >>> path = write_shard([g, g], tempfile.mkdtemp() + "/s.safetensors")
        >>> [h.edge_index.tolist() for h in read_shard(path)]
        [[[0], [1]], [[0], [1]]]
    """
    path = Path(path)
    if not graphs:
        msg = f"{path}: refusing to write an empty shard"
        raise ValueError(msg)
    keys = list(graphs[0].keys())
    tensors: dict[str, torch.Tensor] = {}
    for key in keys:
        dim = _cat_dim(key)
        values = []
        for j, graph in enumerate(graphs):
            if key not in graph:
                msg = f"{path}: graph {j} has no '{key}' (graph 0 has {sorted(keys)})"
                raise ValueError(msg)
            values.append(graph[key])
        sizes = torch.tensor([0] + [v.shape[dim] for v in values])
        tensors[key] = torch.cat(values, dim=dim).contiguous()
        tensors[f"{key}.ptr"] = torch.cumsum(sizes, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    # one metadata key: safetensors writes several in random (hash map) order
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={"format": FORMAT}))
    return path


class ShardError(ValueError):
    """A shard file is corrupted, truncated or lacks a key (the message names the file)."""


def read_shard(
    path: str | os.PathLike[str],
    sha256: str | None = None,
    required: Sequence[str] = ("x",),
) -> list[HypergraphData]:
    """Reads a shard written by :func:`write_shard`.

    Arguments:
        path: The ``.safetensors`` file.
        sha256: Expected hex SHA-256 of the file (from the manifest); a mismatch (a
            flipped byte anywhere) is a :class:`ShardError`.
        required: Keys every shard must hold.

    Raises:
        ShardError: Truncated or corrupted file, checksum mismatch, inconsistent offsets,
            or a missing key; the message names the file (and the key).
    """
    path = Path(path)
    if sha256 is not None:
        found_sha = file_sha256(path)
        if found_sha != sha256:
            msg = (
                f"{path}: shard is corrupted (SHA-256 {found_sha[:12]}... differs from the "
                f"manifest's {sha256[:12]}...); rebuild the dataset or restore the file"
            )
            raise ShardError(msg)
    try:
        with safe_open(str(path), framework="pt") as handle:
            found = (handle.metadata() or {}).get("format")
        tensors = load_file(str(path)) if found == FORMAT else {}
    except FileNotFoundError:
        raise
    except Exception as error:  # safetensors raises its own error types (and OSError)
        size = path.stat().st_size if path.is_file() else 0
        msg = (
            f"{path}: shard is corrupted or truncated ({size} bytes; safetensors says: "
            f"{error}); rebuild the dataset or restore the file"
        )
        raise ShardError(msg) from error
    if found != FORMAT:
        msg = f"{path}: shard format {found!r}, expected {FORMAT!r}"
        raise ValueError(msg)
    keys = [k for k in tensors if not k.endswith(".ptr")]
    for key in required:
        if key not in tensors:
            msg = f"{path}: shard has no key {key!r} (it has {sorted(keys)}); corrupted shard?"
            raise ShardError(msg)
    for key in keys:
        if f"{key}.ptr" not in tensors:
            msg = f"{path}: shard has key {key!r} but not its offsets '{key}.ptr'; corrupted?"
            raise ShardError(msg)
    for name in tensors:
        if name.endswith(".ptr") and name[: -len(".ptr")] not in tensors:
            msg = f"{path}: shard has offsets {name!r} but no key {name[: -len('.ptr')]!r}"
            raise ShardError(msg)
    if not keys:
        return []
    count = tensors[f"{keys[0]}.ptr"].numel() - 1
    for key in keys:
        ptr = tensors[f"{key}.ptr"]
        size = tensors[key].shape[_cat_dim(key)] if tensors[key].dim() > _cat_dim(key) else -1
        if (
            ptr.dim() != 1
            or ptr.numel() - 1 != count
            or int(ptr[0]) != 0
            or bool((ptr[1:] < ptr[:-1]).any())
            or int(ptr[-1]) != size
        ):
            msg = (
                f"{path}: shard is corrupted: offsets '{key}.ptr' do not match '{key}' "
                f"({count} graphs, {size} rows)"
            )
            raise ShardError(msg)
    graphs = []
    for j in range(count):
        attrs = {}
        for key in keys:
            ptr = tensors[f"{key}.ptr"]
            lo, hi = int(ptr[j]), int(ptr[j + 1])
            value = tensors[key]
            attrs[key] = value[:, lo:hi] if _cat_dim(key) == 1 else value[lo:hi]
        graphs.append(HypergraphData(**attrs))
    return graphs


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Reads and checks ``manifest.json`` of a dataset directory.

    Every file the manifest names (shards, normalisation) must be a relative path that
    stays inside the dataset folder: an entry such as ``../../etc/passwd`` or an
    absolute path is refused before anything is opened.

    Raises:
        FileNotFoundError: No ``manifest.json``.
        ValueError: Invalid JSON, another format, a malformed entry, or a path leaving
            the folder; the message names the manifest and the entry.

    Examples:
        >>> import json, tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> shard = {"file": "../../etc/passwd", "count": 1, "sha256": "0" * 64}
        >>> text = json.dumps({"format": FORMAT, "splits": {"train": {"count": 1, "shards": [shard]}}})
        >>> _ = (root / "manifest.json").write_text(text)
        >>> read_manifest(root)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: .../manifest.json: splits.train.shards[0].file '../../etc/passwd' leaves the dataset folder; ...
    """
    path = Path(path)
    file = path / "manifest.json" if path.is_dir() else path
    manifest = read_json(file, f"{path}: no manifest.json (not a hypervae hypergraph dataset)")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else manifest
        msg = f"{file}: format {found!r}, expected {FORMAT!r}"
        raise ValueError(msg)
    _check_manifest(manifest, file)
    return manifest


def _check_manifest(manifest: dict[str, Any], file: Path) -> None:
    """Refuses malformed entries and file paths that leave the dataset folder."""

    def fail(where: str, reason: str) -> ValueError:
        return ValueError(f"{file}: {where}: {reason}")

    splits = manifest.get("splits")
    if not isinstance(splits, dict):
        raise fail("splits", f"expected an object of splits, got {type(splits).__name__}")
    for split, info in splits.items():
        where = f"splits.{split}"
        if not isinstance(info, dict) or not isinstance(info.get("shards"), list):
            raise fail(where, "expected an object with 'count' and a 'shards' list")
        if not _is_count(info.get("count")):
            raise fail(f"{where}.count", f"expected an integer >= 0, got {info.get('count')!r}")
        for k, shard in enumerate(info["shards"]):
            entry = f"{where}.shards[{k}]"
            if not isinstance(shard, dict):
                raise fail(entry, f"expected an object, got {type(shard).__name__}")
            _check_relative(shard.get("file"), f"{entry}.file", file)
            if not _is_count(shard.get("count")):
                raise fail(
                    f"{entry}.count", f"expected an integer >= 0, got {shard.get('count')!r}"
                )
            sha = shard.get("sha256")
            if sha is not None and not isinstance(sha, str):
                raise fail(f"{entry}.sha256", f"expected a hex string, got {sha!r}")
    norm = manifest.get("normalization")
    if isinstance(norm, dict):
        _check_relative(norm.get("file"), "normalization.file", file)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_relative(name: Any, where: str, file: Path) -> None:
    """``name`` is a relative path that stays inside the folder of ``file``."""
    if not isinstance(name, str) or not name:
        msg = f"{file}: {where}: expected a file name inside the dataset folder, got {name!r}"
        raise ValueError(msg)
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or PureWindowsPath(name).drive or ".." in pure.parts:
        msg = (
            f"{file}: {where} {name!r} leaves the dataset folder; manifest entries must be "
            "relative paths inside it (refused, nothing opened)"
        )
        raise ValueError(msg)


class HypergraphDataset(Dataset[HypergraphData]):
    """Graphs of one split of a dataset directory, read lazily shard by shard.

    Arguments:
        root: The dataset directory (with ``manifest.json``).
        split: Which split, e.g. ``"train"``.
        normalize: Standardise with the stored ``normalization.json`` (fitted on the
            training split).
        transform: Applied to each graph after normalisation.
        verify: Check each shard's SHA-256 against the manifest when it is first read (a
            flipped byte is then an error naming the shard).

    Examples:
        >>> import tempfile
        >>> from torch_geometric.loader import DataLoader
        >>> from hypervae.graph import build_dataset
        >>> from hypervae.datasets import make_jets
        >>> from hypervae.physics import from_padded, ptetaphim_to_cartesian
        >>> p4 = ptetaphim_to_cartesian([[50.0, 30, 20]] * 4, [[0.0, 0.1, 0]] * 4, [[0.0, 0, 0.1]] * 4)
        >>> root = tempfile.mkdtemp()
        >>> _ = build_dataset(make_jets(from_padded(p4, p4[..., 0] > 0), "w"), root, progress=False)
        >>> ds = HypergraphDataset(root, split="train", normalize=True)
        >>> len(ds), next(iter(DataLoader(ds, batch_size=4))).num_graphs
        (4, 4)
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        normalize: bool = False,
        transform: Callable[[HypergraphData], HypergraphData] | None = None,
        verify: bool = True,
    ) -> None:
        self.root = Path(root)
        self.manifest = read_manifest(self.root)
        splits = self.manifest["splits"]
        if split not in splits:
            msg = f"{self.root}: no split {split!r}; available: {sorted(splits)}"
            raise KeyError(msg)
        self.split = split
        self.shards = splits[split]["shards"]
        counts = [int(s["count"]) for s in self.shards]
        self._offsets = [0]
        for c in counts:
            self._offsets.append(self._offsets[-1] + c)
        self.normalization = GraphNormalization.load(self.root) if normalize else None
        self.transform = transform
        self.verify = verify
        self._keys: list[str] | None = None
        self._cache: tuple[int, list[HypergraphData]] | None = None

    def __len__(self) -> int:
        return self._offsets[-1]

    def _shard(self, index: int) -> list[HypergraphData]:
        if self._cache is None or self._cache[0] != index:
            info = self.shards[index]
            path = self.root / info["file"]
            graphs = read_shard(path, sha256=info.get("sha256") if self.verify else None)
            if len(graphs) != int(info["count"]):
                msg = f"{path}: shard holds {len(graphs)} graphs, the manifest says {info['count']}"
                raise ShardError(msg)
            keys = sorted(graphs[0].keys()) if graphs else []
            if self._keys is None:
                self._keys = keys
            missing = sorted(set(self._keys) - set(keys))
            if missing:
                msg = f"{path}: shard has no key {missing[0]!r} (other shards have {self._keys})"
                raise ShardError(msg)
            self._cache = (index, graphs)
        return self._cache[1]

    def __getitem__(self, index: int) -> HypergraphData:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            msg = f"index {index} out of range for {len(self)} graphs"
            raise IndexError(msg)
        lo, hi = 0, len(self.shards) - 1
        while lo < hi:  # last shard whose offset <= index
            mid = (lo + hi + 1) // 2
            if self._offsets[mid] <= index:
                lo = mid
            else:
                hi = mid - 1
        graph = self._shard(lo)[index - self._offsets[lo]]
        if self.normalization is not None:
            graph = self.normalization.transform(graph)
        if self.transform is not None:
            graph = self.transform(graph)
        return graph

"""Building sharded datasets: worker processes on one machine, or Dask for many.

Both paths run the same task, :func:`build_shard` (jets -> graphs -> one safetensors
shard), then :func:`finalize_dataset` writes ``manifest.json`` and fits the
normalisation on the training split only, reading its shards back from disk. Every file
is written atomically (:func:`hypervae._io.atomic_write`).

The output folder must be new or empty. With ``overwrite=True`` a folder holding a
previous dataset (a ``manifest.json``) is cleared of that dataset's files first
(``manifest.json``, ``normalization.json``, ``<split>/shard-*.safetensors``), so no
stale shard survives a rebuild; a non-empty folder that is not a dataset is refused.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from tqdm.auto import tqdm

from .._io import atomic_write
from .._optional import require
from .build import build_from_arrays, jet_arrays
from .config import HypergraphConfig
from .normalization import GraphNormalization
from .storage import FORMAT, HypergraphDataset, file_sha256, write_shard

__all__ = ["build_dataset", "build_shard", "build_with_dask", "finalize_dataset", "prepare_output"]


def build_shard(
    source: dict[str, np.ndarray] | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    relpath: str,
    config: dict[str, Any],
    offset: int = 0,
) -> dict[str, Any]:
    """Builds the graphs of one shard and writes them; returns its manifest entry.

    Arguments:
        source: :func:`~hypervae.graph.build.jet_arrays` of the shard's jets, or a
            parquet file of jets (:func:`hypervae.datasets.save_parquet`).
        out_dir: Dataset directory.
        relpath: Shard path inside ``out_dir``.
        config: :class:`HypergraphConfig` as a dict.
        offset: Index of the shard's first jet (for error messages).

    Returns:
        ``{"file": relpath, "count": int, "sha256": str}``.
    """
    cfg = HypergraphConfig.from_dict(config)
    if not isinstance(source, dict):
        from ..datasets import load_parquet

        jets = load_parquet(source)
        if len(jets) == 0:
            msg = f"{source}: holds 0 jets; expected at least one jet to build graphs from"
            raise ValueError(msg)
        source = jet_arrays(jets, cfg.max_particles)
    graphs = build_from_arrays(source, cfg, offset=offset)
    path = write_shard(graphs, Path(out_dir) / relpath)
    return {"file": relpath, "count": len(graphs), "sha256": file_sha256(path)}


def finalize_dataset(
    out_dir: str | os.PathLike[str],
    config: HypergraphConfig,
    shards: Mapping[str, Sequence[dict[str, Any]]],
    fit_split: str = "train",
) -> dict[str, Any]:
    """Writes ``manifest.json`` and, if ``fit_split`` exists, ``normalization.json``."""
    out_dir = Path(out_dir)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "config": config.to_dict(),
        "splits": {
            name: {
                "count": sum(int(s["count"]) for s in entries),
                "shards": sorted(entries, key=lambda s: s["file"]),
            }
            for name, entries in shards.items()
        },
        "normalization": None,
    }
    atomic_write(out_dir / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    if fit_split in shards and manifest["splits"][fit_split]["count"] > 0:
        norm = GraphNormalization.fit(iter(HypergraphDataset(out_dir, split=fit_split)))
        norm.save(out_dir)
        manifest["normalization"] = {"file": "normalization.json", "fitted_on": fit_split}
        atomic_write(out_dir / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    return manifest


def prepare_output(out_dir: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Creates ``out_dir``, or clears the dataset it holds when ``overwrite`` is set.

    Raises:
        FileExistsError: ``out_dir`` is not empty and ``overwrite`` is not set, or it is
            not empty and holds no ``manifest.json`` (not a dataset: nothing is removed).
        NotADirectoryError: ``out_dir`` is a file.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        msg = f"{out}: is a file; expected a new or empty output directory"
        raise NotADirectoryError(msg)
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            msg = (
                f"{out}: output directory is not empty; choose a new or empty directory, or "
                "pass overwrite=True (--overwrite) to replace the dataset it holds"
            )
            raise FileExistsError(msg)
        if not (out / "manifest.json").is_file():
            msg = (
                f"{out}: output directory is not empty and holds no manifest.json (not a "
                "hypervae dataset); refusing to overwrite it"
            )
            raise FileExistsError(msg)
        (out / "manifest.json").unlink()  # first: a half-cleared folder is no dataset
        (out / "normalization.json").unlink(missing_ok=True)
        for folder in (p for p in out.iterdir() if p.is_dir() and not p.is_symlink()):
            for pattern in ("shard-*.safetensors", ".shard-*.tmp"):
                for file in folder.glob(pattern):
                    file.unlink()
            if not any(folder.iterdir()):
                shutil.rmtree(folder)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _as_splits(jets: Any) -> dict[str, Any]:
    if isinstance(jets, Mapping):
        return dict(jets)
    return {"train": jets}


def build_dataset(
    jets: ak.Array | Mapping[str, ak.Array],
    out_dir: str | os.PathLike[str],
    config: HypergraphConfig | dict[str, Any] | None = None,
    shard_size: int = 512,
    num_workers: int = 0,
    progress: bool = True,
    fit_split: str = "train",
    overwrite: bool = False,
) -> dict[str, Any]:
    """Builds a sharded dataset directory from jets in memory.

    Arguments:
        jets: One jets array (the ``"train"`` split) or ``{split: jets}``; every split
            must hold at least one jet.
        out_dir: Output directory: new or empty (see ``overwrite``).
        config: Construction settings.
        shard_size: Jets per shard.
        num_workers: Worker processes (0 or 1: build in this process).
        progress: Show a progress bar over jets.
        fit_split: Split whose graphs fit the normalisation (never val or test).
        overwrite: Replace the dataset ``out_dir`` holds (its manifest, normalisation
            and shards are removed first; see :func:`prepare_output`).

    Returns:
        The manifest (also written to ``out_dir/manifest.json``).

    Raises:
        ValueError: No splits, or a split with no jets (named).
        FileExistsError: ``out_dir`` is not empty and ``overwrite`` is not set.

    Examples:
        >>> import tempfile
        >>> from hypervae.datasets import make_jets
        >>> from hypervae.physics import from_padded, ptetaphim_to_cartesian
        >>> p4 = ptetaphim_to_cartesian([[50.0, 30, 20]] * 4, [[0.0, 0.1, 0]] * 4, [[0.0, 0, 0.1]] * 4)
        >>> jets = make_jets(from_padded(p4, np.ones((4, 3), bool)), "t")
        >>> out = tempfile.mkdtemp()
        >>> manifest = build_dataset({"train": jets[:3], "val": jets[3:]}, out, progress=False)
        >>> {s: v["count"] for s, v in manifest["splits"].items()}, manifest["normalization"]
        ({'train': 3, 'val': 1}, {'file': 'normalization.json', 'fitted_on': 'train'})
    """
    config = HypergraphConfig.from_dict(config or {})
    if shard_size < 1:
        msg = f"shard_size must be a positive integer, got {shard_size}"
        raise ValueError(msg)
    splits = _as_splits(jets)
    if not splits:
        msg = "build_dataset: no splits given; expected jets or {split: jets}"
        raise ValueError(msg)
    for split, split_jets in splits.items():
        if len(split_jets) == 0:
            msg = f"build_dataset: split {split!r} holds 0 jets; expected at least one jet"
            raise ValueError(msg)
    out_dir = prepare_output(out_dir, overwrite)
    tasks = []
    for split, split_jets in splits.items():
        arrays = jet_arrays(split_jets, config.max_particles)
        n = len(arrays["type"])
        for k, start in enumerate(range(0, n, shard_size)):
            part = {key: value[start : start + shard_size] for key, value in arrays.items()}
            tasks.append((split, part, f"{split}/shard-{k:05d}.safetensors", start))
    shards: dict[str, list[dict[str, Any]]] = {s: [] for s in splits}
    total = sum(len(t[1]["type"]) for t in tasks)
    with tqdm(total=total, disable=not progress, unit="jet", desc="build-graphs") as bar:
        if num_workers <= 1:
            for split, part, rel, start in tasks:
                shards[split].append(build_shard(part, out_dir, rel, config.to_dict(), start))
                bar.update(len(part["type"]))
        else:
            with ProcessPoolExecutor(num_workers, mp_context=get_context("spawn")) as pool:
                futures = {
                    pool.submit(build_shard, part, out_dir, rel, config.to_dict(), start): (
                        split,
                        len(part["type"]),
                    )
                    for split, part, rel, start in tasks
                }
                for future in as_completed(futures):
                    split, count = futures[future]
                    shards[split].append(future.result())
                    bar.update(count)
    return finalize_dataset(out_dir, config, shards, fit_split)


def build_with_dask(
    inputs: Sequence[str | os.PathLike[str]] | Mapping[str, Sequence[str | os.PathLike[str]]],
    out_dir: str | os.PathLike[str],
    config: HypergraphConfig | dict[str, Any] | None = None,
    client: Any = None,
    fit_split: str = "train",
    overwrite: bool = False,
) -> dict[str, Any]:
    """Builds a dataset with Dask, one task per input parquet file (one shard each).

    Needs the ``dask`` extra. The files must be readable from every worker.

    Arguments:
        inputs: Parquet files of jets (the ``"train"`` split) or ``{split: files}``.
        out_dir: Output directory, shared by the workers.
        config: Construction settings.
        client: A ``distributed.Client``; ``None`` uses Dask's current scheduler.
        fit_split: Split whose graphs fit the normalisation.
        overwrite: Replace the dataset ``out_dir`` holds (see :func:`prepare_output`).

    Examples:
        >>> from distributed import Client, LocalCluster  # doctest: +SKIP
        >>> build_with_dask({"train": files}, "graphs", client=Client(LocalCluster()))  # doctest: +SKIP
    """
    dask = require("dask", "dask", "build_with_dask")
    config = HypergraphConfig.from_dict(config or {})
    splits = dict(inputs) if isinstance(inputs, Mapping) else {"train": list(inputs)}
    empty = [split for split, files in splits.items() if not files]
    if not splits or empty:
        msg = f"build_with_dask: no input files (for split {empty[0] if empty else 'train'!r})"
        raise ValueError(msg)
    out_dir = prepare_output(out_dir, overwrite)
    keys, tasks = [], []
    for split, files in splits.items():
        for k, file in enumerate(files):
            rel = f"{split}/shard-{k:05d}.safetensors"
            task = dask.delayed(build_shard)(str(file), str(out_dir), rel, config.to_dict())
            keys.append(split)
            tasks.append(task)
    results = client.compute(tasks, sync=True) if client is not None else dask.compute(*tasks)
    shards: dict[str, list[dict[str, Any]]] = {s: [] for s in splits}
    for split, entry in zip(keys, results, strict=True):
        shards[split].append(entry)
    return finalize_dataset(out_dir, config, shards, fit_split)

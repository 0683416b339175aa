"""Sub-commands ``hypervae build-graphs`` and ``hypervae validate``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["register"]


def _parse_inputs(inputs: list[str]) -> dict[str, list[str]]:
    splits: dict[str, list[str]] = {}
    for item in inputs:
        split, sep, file = item.partition("=")
        if not sep:
            split, file = "", item
        splits.setdefault(split, []).append(file)
    if "" in splits and len(splits) > 1:
        msg = "inputs: either prefix every file with SPLIT= or none of them"
        raise ValueError(msg)
    return splits


def _config(args: argparse.Namespace) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if args.config:
        text = Path(args.config).read_text() if Path(args.config).exists() else args.config
        config = json.loads(text)
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            msg = f"--set {item!r}: expected KEY=VALUE"
            raise ValueError(msg)
        try:
            config[key] = json.loads(value)
        except json.JSONDecodeError:
            config[key] = value
    return config


def _build(args: argparse.Namespace) -> int:
    import awkward as ak

    from ..datasets import load_jets, split_indices
    from .pipeline import build_dataset, build_with_dask

    inputs = _parse_inputs(args.inputs)
    config = _config(args)
    if args.dask is not None:
        client = None
        if args.dask:
            from distributed import Client

            client = Client(args.dask)
        files = inputs.get("") or inputs
        manifest = build_with_dask(files if isinstance(files, dict) else {"train": files},
                                   args.out, config, client=client)  # fmt: skip
    else:
        if "" in inputs:
            jets = ak.concatenate([load_jets(f) for f in inputs[""]])
            fractions = tuple(float(v) for v in args.fractions.split(","))
            if len(fractions) != 3:
                msg = f"--fractions must be three numbers train,val,test, got {args.fractions!r}"
                raise ValueError(msg)
            parts = split_indices(len(jets), fractions, seed=args.seed)
            splits = {name: jets[idx] for name, idx in parts.items() if len(idx)}
        else:
            splits = {s: ak.concatenate([load_jets(f) for f in fs]) for s, fs in inputs.items()}
        manifest = build_dataset(splits, args.out, config, shard_size=args.shard_size,
                                 num_workers=args.workers, progress=not args.quiet)  # fmt: skip
    counts = ", ".join(f"{s}={v['count']}" for s, v in manifest["splits"].items())
    print(f"wrote {args.out}: {counts}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from .validate import validate_path

    report = validate_path(args.path)
    print(report.format(max_issues=args.max_issues))
    return 0 if report.ok else 1


def register(subparsers: Any) -> None:
    """Adds ``build-graphs`` and ``validate`` to the ``hypervae`` command."""
    build = subparsers.add_parser(
        "build-graphs",
        help="build a sharded hypergraph dataset from parquet jets or the shipped sample",
        description=(
            "Builds hypergraphs from jets in parquet files (hypervae.datasets.save_parquet) "
            "or shipped-sample specs sample:TYPE[:SPLIT]. "
            "Inputs are FILE (pooled, then split randomly by --fractions) or SPLIT=FILE."
        ),
    )
    build.add_argument("inputs", nargs="+", metavar="[SPLIT=]FILE")
    build.add_argument("-o", "--out", required=True, help="output directory")
    build.add_argument("--config", help="HypergraphConfig as JSON text or a JSON file")
    build.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a config field"
    )
    build.add_argument("--fractions", default="0.7,0.15,0.15", help="train,val,test fractions")
    build.add_argument("--seed", type=int, default=42, help="seed of the random split")
    build.add_argument("--shard-size", type=int, default=512, help="jets per shard")
    build.add_argument("--workers", type=int, default=0, help="worker processes")
    build.add_argument(
        "--dask",
        nargs="?",
        const="",
        default=None,
        metavar="SCHEDULER",
        help="build with Dask, one task per input file (optional scheduler address)",
    )
    build.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    build.set_defaults(func=_build)

    check = subparsers.add_parser(
        "validate",
        help="check a hypergraph dataset or shard",
        description="Checks structure, dtypes, indices, NaN/inf, ranges and consistency.",
    )
    check.add_argument("path", help="dataset directory or .safetensors shard")
    check.add_argument("--max-issues", type=int, default=20, help="issues printed at most")
    check.set_defaults(func=_validate)

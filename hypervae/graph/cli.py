"""Sub-commands ``hypervae build-graphs`` and ``hypervae validate``."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

__all__ = ["register"]

_SECTIONS = ("model", "graph", "training")


class _DeprecatedAlias(argparse.Action):
    """A hidden old spelling of an option: stores the value and warns once."""

    def __init__(self, *args: Any, new: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.new = new

    def __call__(
        self,
        parser: argparse.ArgumentParser,  # noqa: ARG002 - argparse.Action signature
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        text = f"{option_string} is deprecated and will be removed; use {self.new}"
        warnings.warn(text, DeprecationWarning, stacklevel=2)
        print(f"hypervae: warning: {text}", file=sys.stderr)
        setattr(namespace, self.dest, values)


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


def _read_run_file(spec: str) -> dict[str, Any]:
    """The ``graph`` section of a run file (YAML or JSON).

    A flat HypergraphConfig object (a file or inline JSON text), the meaning of
    ``--config`` before 0.2, is still read, with a deprecation warning.
    """
    path = Path(spec)
    if path.is_file():
        text = path.read_text()
        if path.suffix == ".json":
            values = json.loads(text)
        else:
            import yaml

            values = yaml.safe_load(text)
    else:
        try:
            values = json.loads(spec)
        except json.JSONDecodeError:
            msg = f"--config {spec}: no such run file"
            raise FileNotFoundError(msg) from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        msg = f"--config {spec}: expected a mapping with model/graph/training sections, got {type(values).__name__}"
        raise ValueError(msg)  # noqa: TRY004 - the CLI reports ValueErrors
    if path.is_file() and values and set(values) <= set(_SECTIONS):
        graph = values.get("graph") or {}
        if not isinstance(graph, dict):
            msg = f"--config {spec}: section 'graph' must be a mapping, got {type(graph).__name__}"
            raise ValueError(msg)
        return graph
    text = (
        "--config with HypergraphConfig fields (flat JSON) is deprecated; give a run file "
        "with a 'graph:' section, or --set KEY=VALUE"
    )
    warnings.warn(text, DeprecationWarning, stacklevel=2)
    print(f"hypervae: warning: {text}", file=sys.stderr)
    return values


def _config(args: argparse.Namespace) -> dict[str, Any]:
    config: dict[str, Any] = _read_run_file(args.config) if args.config else {}
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


def _load_nonempty(file: str) -> Any:
    from ..datasets import load_jets

    jets = load_jets(file)
    if len(jets) == 0:
        msg = f"{file}: holds 0 jets; expected at least one jet to build graphs from"
        raise ValueError(msg)
    return jets


def _build(args: argparse.Namespace) -> int:
    import awkward as ak

    from ..datasets import split_indices
    from .config import HypergraphConfig
    from .pipeline import build_dataset, build_with_dask

    if args.output is None:
        msg = "-o/--output is required (the dataset directory to write)"
        raise ValueError(msg)
    inputs = _parse_inputs(args.inputs)
    config = HypergraphConfig.from_dict(_config(args))
    if args.dask is not None:
        client = None
        if args.dask:
            from distributed import Client

            client = Client(args.dask)
        files = inputs.get("") or inputs
        manifest = build_with_dask(files if isinstance(files, dict) else {"train": files},
                                   args.output, config, client=client,
                                   overwrite=args.overwrite)  # fmt: skip
    else:
        if "" in inputs:
            jets = ak.concatenate([_load_nonempty(f) for f in inputs[""]])
            fractions = tuple(float(v) for v in args.fractions.split(","))
            if len(fractions) != 3:
                msg = f"--fractions must be three numbers train,val,test, got {args.fractions!r}"
                raise ValueError(msg)
            parts = split_indices(len(jets), fractions, seed=args.seed)
            splits = {name: jets[idx] for name, idx in parts.items() if len(idx)}
        else:
            splits = {
                s: ak.concatenate([_load_nonempty(f) for f in fs]) for s, fs in inputs.items()
            }
        manifest = build_dataset(splits, args.output, config, shard_size=args.shard_size,
                                 num_workers=args.workers, progress=not args.quiet,
                                 overwrite=args.overwrite)  # fmt: skip
    counts = ", ".join(f"{s}={v['count']}" for s, v in manifest["splits"].items())
    print(f"wrote {args.output}: {counts}")
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
            "Inputs are FILE (pooled, then split randomly by --fractions) or SPLIT=FILE. "
            "The output directory must be new or empty; --overwrite replaces the dataset "
            "it holds (its manifest, normalisation and shards are removed first)."
        ),
    )
    build.add_argument("inputs", nargs="+", metavar="[SPLIT=]FILE")
    build.add_argument("-o", "--output", help="output directory (required)")
    build.add_argument(
        "--out", dest="output", action=_DeprecatedAlias, new="-o/--output", help=argparse.SUPPRESS
    )
    build.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the dataset in a non-empty output directory (stale shards are removed)",
    )
    build.add_argument(
        "--config",
        metavar="FILE",
        help="run file (YAML or JSON); its 'graph' section gives the HypergraphConfig",
    )
    build.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a HypergraphConfig field"
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

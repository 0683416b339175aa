"""``hypervae evaluate``: JetNet-protocol metrics (and plots) of generated jets.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="hypervae")
    >>> register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["evaluate", "--real", "sample:t", "--generated", "g.parquet"])
    >>> args.real, args.num_batches, args.eec
    ('sample:t', 5, [2, 3])

References:
    | Kansal et al., Evaluating generative models in high energy physics,
    | Phys. Rev. D 107 (2023) 076017, https://arxiv.org/abs/2211.10295
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import Any

import awkward as ak

from .._io import atomic_write
from .._optional import require
from ..datasets.jets import JET_TYPES, jet_type_code, make_jets
from ..datasets.sample import SPLITS
from ..datasets.sample import load_jets as _load_jets
from .metrics import evaluate, format_metrics

__all__ = ["load_jets", "register", "write_json"]


def register(subparsers: Any) -> None:
    """Adds the ``evaluate`` command."""
    parser = subparsers.add_parser(
        "evaluate",
        help="compare generated jets with real ones (W1M, W1P, W1EFP, FPD, KPD, ...)",
        description=(
            "Compute the JetNet-protocol metrics (W1M, W1P, W1EFP in relative coordinates; "
            "FPD and KPD on 36 EFPs), W1 of multiplicity, jet pT/eta/mass and the projected "
            "2- and 3-point EEC, and the jet-type fractions, of generated against real jets; "
            "print a table, optionally write JSON and plots. W1 metrics are the mean and "
            "std over batches of up to --num-eval-samples jets drawn with replacement."
        ),
        epilog=(
            "Examples: hypervae evaluate --real sample:t:test --generated gen_t.parquet "
            "--output metrics.json --plot-dir plots/"
        ),
    )
    parser.add_argument(
        "--real",
        required=True,
        metavar="SPEC",
        help=(
            "real jets: a parquet file written by hypervae.datasets.save_parquet, or a "
            "shipped sample 'sample:TYPE[:SPLIT]' (TYPE in g,q,t,w,z; SPLIT in "
            f"{','.join(('all', *SPLITS))}, default test)"
        ),
    )
    parser.add_argument(
        "--generated", required=True, metavar="FILE", help="generated jets (parquet file)"
    )
    parser.add_argument(
        "--jet-type",
        choices=JET_TYPES,
        default=None,
        help="keep only jets of this type in both samples (default: all jets)",
    )
    parser.add_argument(
        "--jets-from",
        choices=("particles", "fields"),
        default="particles",
        help=(
            "the jet that relative coordinates refer to: 'particles' (default) rebuilds both "
            "samples' jets as the sums of their stored particles, as generated jets are; "
            "'fields' keeps each file's jet fields (the shipped sample and JetNet files hold "
            "the clustered jet, which has more constituents than those stored)"
        ),
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write the metrics as JSON (atomic)")
    parser.add_argument("--plot-dir", metavar="DIR", help="write comparison plots to DIR")
    parser.add_argument(
        "--plot-format", nargs="+", default=["png"], help="plot file formats (default png)"
    )
    parser.add_argument(
        "--num-eval-samples",
        type=int,
        default=50_000,
        help="jets per W1 batch, capped at the smaller sample (default 50000)",
    )
    parser.add_argument("--num-batches", type=int, default=5, help="W1 batches (default 5)")
    parser.add_argument("--seed", type=int, default=42, help="sampling seed (default 42)")
    parser.add_argument(
        "--eec",
        type=int,
        nargs="*",
        default=[2, 3],
        choices=[2, 3, 4],
        metavar="N",
        help="EEC orders for W1 and plots (default: 2 3; give none to skip)",
    )
    parser.set_defaults(func=_run)


def load_jets(spec: str, argument: str = "--real") -> ak.Array:
    """Loads jets from a parquet path or a shipped-sample spec ``sample:TYPE[:SPLIT]``.

    Arguments:
        spec: The path or spec.
        argument: The command-line option that gave ``spec``, named in errors.

    Raises:
        ValueError, OSError: Bad spec, missing file, directory, not a jets file; the
            message starts with ``argument`` and ``spec``.

    Examples:
        >>> load_jets("sample:x")
        Traceback (most recent call last):
        ...
        ValueError: --real sample:x: unknown jet type 'x'; expected one of ('g', 'q', 't', 'w', 'z') or a code 0-4
        >>> load_jets("nowhere.parquet", argument="--generated")
        Traceback (most recent call last):
        ...
        FileNotFoundError: --generated nowhere.parquet: no such jets file: nowhere.parquet
    """
    try:
        return _load_jets(spec, default_split="test")
    except (ValueError, TypeError, OSError) as error:
        msg = f"{argument} {spec}: {error}"
        raise type(error)(msg) from error


def write_json(data: Any, path: str | os.PathLike[str]) -> Path:
    """Writes JSON atomically (temporary file in the same directory, then rename).

    Non-finite floats are written as ``null``.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     write_json({"a": float("inf")}, f"{d}/m.json").read_text()
        '{\\n  "a": null\\n}\\n'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(_finite(data), indent=2) + "\n")
    return path


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _select(jets: ak.Array, jet_type: str | None, name: str) -> ak.Array:
    if jet_type is None:
        return jets
    if "jet_type" not in ak.fields(jets):
        msg = f"{name} jets have no 'jet_type' field; cannot select --jet-type {jet_type}"
        raise ValueError(msg)
    selected = jets[jets["jet_type"] == jet_type_code(jet_type)]
    if len(selected) == 0:
        msg = f"{name} jets contain no jet of type {jet_type!r}"
        raise ValueError(msg)
    return selected


def _from_particles(jets: ak.Array, name: str) -> ak.Array:
    """Jets rebuilt as the sums of their stored particles (bare particle lists unchanged)."""
    fields = ak.fields(jets)
    if "particles" not in fields:
        return jets
    if "jet_type" not in fields:  # never guess a type: every jet would become a gluon
        msg = f"{name} jets have no 'jet_type' field (fields {fields})"
        raise ValueError(msg)
    return make_jets(jets["particles"], jets["jet_type"])


def _run(args: argparse.Namespace) -> int:
    if args.num_eval_samples < 2 or args.num_batches < 1:
        msg = "--num-eval-samples must be >= 2 and --num-batches >= 1"
        raise ValueError(msg)
    real = _select(load_jets(args.real, "--real"), args.jet_type, "real")
    gen = _select(load_jets(args.generated, "--generated"), args.jet_type, "generated")
    if args.jets_from == "particles":
        real = _from_particles(real, f"--real {args.real}:")
        gen = _from_particles(gen, f"--generated {args.generated}:")
    metrics = evaluate(
        real,
        gen,
        num_eval_samples=args.num_eval_samples,
        num_batches=args.num_batches,
        seed=args.seed,
        eec_n=tuple(args.eec),
    )
    metrics["inputs"] = {
        "real": args.real,
        "generated": args.generated,
        "jet_type": args.jet_type,
        "jets_from": args.jets_from,
    }
    print(f"hypervae evaluate: {metrics['n_real']} real vs {metrics['n_generated']} generated jets")
    print(format_metrics(metrics))
    if args.output:
        print(f"wrote {write_json(metrics, args.output)}")
    if args.plot_dir:
        require("matplotlib", "plot", "--plot-dir")
        from .plots import plot_all

        paths = plot_all(real, gen, args.plot_dir, formats=args.plot_format, eec_n=args.eec)
        print(f"wrote {len(paths)} plots to {args.plot_dir}")
    return 0

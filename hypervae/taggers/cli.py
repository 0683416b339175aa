"""The ``hypervae train-tagger`` command: train a tagger on the shipped sample.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers())
    >>> args = parser.parse_args(["train-tagger", "--model", "phat-small", "-o", "tagger"])
    >>> args.model, args.types, args.output
    ('phat-small', ['g', 'q', 't', 'w', 'z'], 'tagger')
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from ..training.cli import positive_int, seed_int

__all__ = ["register", "run_train_tagger"]


def register(subparsers: Any) -> None:
    """Adds the ``train-tagger`` sub-command."""
    p = subparsers.add_parser(
        "train-tagger",
        help="train a jet tagger (ParT or PHAT-JeT) on the shipped sample",
        description=(
            "Train a jet tagger on the shipped Pythia sample and report test metrics. "
            "OUTPUT receives the model (model.safetensors, config.json, metrics.json), "
            "checkpoints/ (for --resume), best/, final/ and metrics.jsonl."
        ),
    )
    p.add_argument("--model", default="phat-small", help="part, phat-small|medium|large")
    p.add_argument("--types", nargs="+", default=["g", "q", "t", "w", "z"], help="jet types")
    p.add_argument("--max-jets", type=positive_int, default=None, help="training jets per type")
    p.add_argument(
        "--max-epochs", "--epochs", dest="epochs", type=positive_int, default=None,
        help="training.max_epochs (default 20; --epochs: deprecated spelling)",
    )  # fmt: skip
    p.add_argument("--batch-size", type=positive_int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32", help="autocast")
    p.add_argument("--accumulation-steps", type=positive_int, default=1)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--seed", type=seed_int, default=0, help="0 to 2**32 - 1")
    p.add_argument(
        "--config", default=None, metavar="RUN_FILE",
        help="the run file (YAML or JSON) with sections model (tagger config overrides) and "
        "training (TaggerTrainingConfig); command-line options override it",
    )  # fmt: skip
    p.add_argument(
        "-o", "--output", "--out", dest="output", required=True,
        help="output directory (--out: deprecated spelling)",
    )  # fmt: skip
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT/checkpoints")
    p.set_defaults(func=run_train_tagger)


def _run_file(spec: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(model overrides, training settings)`` of the ``--config`` run file."""
    if spec is None:
        return {}, {}
    path = Path(spec)
    if not path.is_file():
        try:  # the JSON string of model overrides that --config used to take
            values = json.loads(spec)
        except json.JSONDecodeError:
            msg = f"--config {spec!r}: no such run file"
            raise FileNotFoundError(msg) from None
        warnings.warn(
            "train-tagger --config with a JSON string of model overrides is deprecated; "
            "write a run file with a 'model:' section",
            DeprecationWarning,
            stacklevel=2,
        )
        return dict(values), {}
    import yaml

    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        msg = f"--config {path}: not a valid YAML/JSON run file ({error})"
        raise ValueError(msg) from None
    if not isinstance(values, dict):
        msg = f"--config {path}: expected a mapping with sections model and training"
        raise ValueError(msg)  # noqa: TRY004 - a bad file's content
    unknown = sorted(set(values) - {"model", "training"})
    if unknown:
        msg = f"--config {path}: unknown section(s) {unknown}; expected model, training"
        raise ValueError(msg)
    return dict(values.get("model") or {}), dict(values.get("training") or {})


def run_train_tagger(args: argparse.Namespace) -> int:
    """Trains, evaluates on the test split, saves; prints the metrics as JSON."""
    import awkward as ak
    import torch

    from ..datasets import jet_type_code, load_sample
    from .io import save_tagger
    from .presets import build_tagger
    from .training import TaggerData, evaluate_tagger, train_tagger

    overrides, training = _run_file(args.config)
    codes = [jet_type_code(t) for t in args.types]
    names = [str(t) for t in args.types]

    def split(name: str, limit: int | None) -> TaggerData:
        jets = [load_sample(t, split=name)[:limit] for t in args.types]
        labels = [i for i, j in enumerate(jets) for _ in range(len(j))]
        return TaggerData.from_jets(ak.concatenate(jets), labels=labels)

    if len(set(codes)) != len(codes):
        msg = f"--types lists a jet type twice: {args.types}"
        raise ValueError(msg)
    train, val, test = split("train", args.max_jets), split("val", None), split("test", None)
    torch.manual_seed(args.seed)
    model = build_tagger(args.model, num_classes=len(names), **overrides)
    config = {
        **training,
        "max_epochs": args.epochs or training.get("max_epochs", 20),
        "batch_size": args.batch_size,
        "lr": args.lr,
        "precision": args.precision,
        "accumulation_steps": args.accumulation_steps,
        "device": args.device,
        "seed": args.seed,
    }
    train_tagger(
        model, train, val, config, callback=lambda r: print(json.dumps(r), file=sys.stderr),
        save_dir=args.output, resume=args.resume,
    )  # fmt: skip
    metrics = evaluate_tagger(model, test, names)
    save_tagger(model, args.output, metrics={**metrics, "types": names})
    print(json.dumps(metrics, indent=2))
    return 0

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
    p.add_argument("--epochs", type=positive_int, default=20, help="training.max_epochs")
    p.add_argument("--batch-size", type=positive_int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32", help="autocast")
    p.add_argument("--accumulation-steps", type=positive_int, default=1)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--seed", type=seed_int, default=0, help="0 to 2**32 - 1")
    p.add_argument("--config", default=None, help="JSON dict of model config overrides")
    p.add_argument(
        "-o", "--output", "--out", dest="output", required=True,
        help="output directory (--out: deprecated spelling)",
    )  # fmt: skip
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT/checkpoints")
    p.set_defaults(func=run_train_tagger)


def run_train_tagger(args: argparse.Namespace) -> int:
    """Trains, evaluates on the test split, saves; prints the metrics as JSON."""
    import awkward as ak
    import torch

    from ..datasets import jet_type_code, load_sample
    from .io import save_tagger
    from .presets import build_tagger
    from .training import TaggerData, evaluate_tagger, train_tagger

    overrides = json.loads(args.config) if args.config else {}
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
        "max_epochs": args.epochs,
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

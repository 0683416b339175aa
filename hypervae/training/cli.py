"""``hypervae train`` (``hypervae generate`` lives in :mod:`hypervae.model.cli`).

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="hypervae")
    >>> register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["train", "--data", "sample:g", "-o", "runs/x"])
    >>> args.data, args.resume
    ('sample:g', False)
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path
from typing import Any

from .._argtypes import positive_int, seed_int

__all__ = ["positive_int", "register", "seed_int", "train_command"]


def _init_distributed() -> bool:
    """Initialises torch.distributed when started by torchrun (WORLD_SIZE > 1)."""
    import torch

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or torch.distributed.is_initialized():
        return False
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    torch.distributed.init_process_group(backend)
    return True


def train_command(args: argparse.Namespace) -> int:
    """Runs ``hypervae train``."""
    import torch

    from ..model import HyperVAE, HyperVAEConfig
    from .config import load_run_config
    from .data import load_training_data
    from .trainer import Trainer

    run = load_run_config(args.config)
    overrides: dict[str, Any] = {}
    for name in ("epochs", "batch_size", "device", "seed"):
        value = getattr(args, name, None)
        if value is not None:
            overrides["max_epochs" if name == "epochs" else name] = value
    if args.quiet:
        overrides["progress"] = False
    if args.no_tensorboard:
        overrides["tensorboard"] = False
    if overrides:
        run = run.replace(training=run.training.replace(**overrides))
    if getattr(args, "save_dir_old", None) is not None:
        if args.save_dir is not None:
            msg = "give -o/--output once (--save-dir is its deprecated spelling)"
            raise ValueError(msg)
        warnings.warn(
            "hypervae train --save-dir is deprecated; use -o/--output",
            DeprecationWarning,
            stacklevel=1,
        )
        args.save_dir = args.save_dir_old
    if args.save_dir is None:
        msg = "hypervae train: -o/--output (the output directory) is required"
        raise ValueError(msg)
    save_dir = Path(args.save_dir)
    started = _init_distributed()
    try:
        data = load_training_data(
            args.data, run.graph, max_particles=run.model.max_particles,
            progress=run.training.progress,
        )  # fmt: skip
        if not args.resume:
            run = _fit_flow_statistics(run, data.train, trainer_rank())
        model_cfg = run.model.to_dict()
        default_norm = HyperVAEConfig().norm
        if run.model.norm == default_norm:  # not given in the config: fit on the train split
            model_cfg["norm"] = {"mean": data.jet_norm.mean, "std": data.jet_norm.std}
        if args.resume and (save_dir / "checkpoints" / "last.pt").is_file():
            from .checkpoint import load_checkpoint

            meta = json.loads(load_checkpoint(save_dir / "checkpoints" / "last.pt")["meta"])
            model_cfg = meta["model"]
        elif args.resume:
            msg = f"--resume: no checkpoint {save_dir / 'checkpoints' / 'last.pt'}"
            raise FileNotFoundError(msg)
        init = None
        if args.init_from and not args.resume:
            init = HyperVAE.from_pretrained(args.init_from)
            torch.manual_seed(run.training.seed)  # a new particle decoder starts from it
            init = _with_run_decoder(init, args.config, run.model, trainer_rank())
            model_cfg = init.config.to_dict()  # its architecture and jet normalisation
        run = run.replace(model=HyperVAEConfig.from_dict(model_cfg))
        torch.manual_seed(run.training.seed)
        model = HyperVAE(run.model) if init is None else init  # Trainer sets train mode
        if run.model.decoder == "flow" and not args.resume:
            _fit_pt_fraction(model, data.train, trainer_rank())
        trainer = Trainer(
            model, data.train, data.val, run.training, save_dir=save_dir,
            normalization=data.normalization, run_config=run,
        )  # fmt: skip
        if args.resume:
            trainer.resume()
        history = trainer.fit()
        if trainer.rank == 0:
            last = history[-1] if history else {}
            val = last.get("val/total", float("nan"))
            stop = " (early stop)" if trainer.stopped_early else ""
            print(
                f"trained {trainer.epoch} epochs, {trainer.step} steps{stop}; "
                f"last val loss {val:.4g}, best {trainer.best:.4g}; models in {save_dir}/best "
                f"and {save_dir}/final"
            )
        if started:
            # every rank finishes its collectives and rank 0 its writes before any
            # rank tears down: a peer leaving early can abort gloo's threads
            torch.distributed.barrier()
    finally:
        if started:
            torch.distributed.destroy_process_group()
    return 0


def _fit_flow_statistics(run: Any, train: Any, rank: int) -> Any:
    """``run`` with the flow decoder's standardisations fitted on the training jets.

    Only for a flow decoder whose run file leaves all four at their defaults (like the
    jet normalisation, given values are kept).
    """
    import numpy as np

    from ..model.flow import fit_flow_standardisation
    from ..model.flow_decoder import FlowDecoderConfig

    keys = ("feature_mean", "feature_std", "scalar_mean", "scalar_std")
    default = FlowDecoderConfig()
    flow = run.model.flow
    if run.model.decoder != "flow" or any(getattr(flow, k) != getattr(default, k) for k in keys):
        return run
    stats = fit_flow_standardisation(train, run.model.max_particles)
    if rank == 0:
        shown = {k: np.round(v, 4).tolist() for k, v in stats.items()}
        print(f"flow decoder standardisation fitted on {len(train)} training jets: {shown}")
    return run.replace(model=run.model.replace(flow=flow.replace(**stats)))


def _fit_pt_fraction(model: Any, train: Any, rank: int) -> None:
    """Sets the flow decoder's kept-pT fraction per type from the training jets."""
    from ..model.flow import kept_pt_fraction

    fitted = model.particle_decoder.fit_pt_fraction(
        *kept_pt_fraction(train, model.config.max_particles)
    )
    if rank == 0:
        shown = [round(v, 4) for v in fitted.exp().tolist()]
        print(f"flow decoder kept-pT fraction per type (g q t w z): {shown}")


def trainer_rank() -> int:
    """This process's rank under torchrun (0 otherwise)."""
    return int(os.environ.get("RANK", "0"))


def _with_run_decoder(init: Any, config_path: str | None, model: Any, rank: int) -> Any:
    """``init`` with the particle decoder the run file's ``model.decoder`` names, if another.

    With ``--init-from`` the model's architecture is the initial model's; only an
    explicit ``model.decoder`` (with its ``model.flow`` section) in the run file changes
    the particle decoder: matching weights are copied, the new decoder is fresh.
    """
    from ..model.transfer import with_decoder

    if config_path is None:
        return init
    path = Path(config_path)
    text = path.read_text()
    if path.suffix == ".json":
        raw = json.loads(text)
    else:
        import yaml

        raw = yaml.safe_load(text)
    section = raw.get("model") if isinstance(raw, dict) else None
    wanted = section.get("decoder") if isinstance(section, dict) else None
    if not isinstance(wanted, str) or wanted == init.config.decoder:
        return init
    flow = {
        k: v for k, v in model.flow.to_dict().items() if k not in ("latent_dim", "max_particles")
    }
    new, report = with_decoder(init, wanted, flow)
    if rank == 0:
        print(f"--init-from: particle decoder {init.config.decoder!r} -> {wanted!r}; {report}")
    return new


def register(subparsers: Any) -> None:
    """Adds ``train`` to the ``hypervae`` command."""
    train = subparsers.add_parser(
        "train",
        help="train a HyperVAE",
        description=(
            "Trains a HyperVAE. The run file (YAML) has sections model (HyperVAEConfig), "
            "graph (HypergraphConfig, for jets inputs) and training (TrainingConfig); unknown "
            "keys are errors. Writes SAVE_DIR/checkpoints/{last,best,epoch-NNNN}.pt, "
            "SAVE_DIR/best and SAVE_DIR/final (loadable with HyperVAE.from_pretrained and "
            "'hypervae generate --model'), SAVE_DIR/metrics.jsonl and, with the tensorboard "
            "package, SAVE_DIR/tensorboard. Under torchrun it trains with "
            "DistributedDataParallel (gloo on CPU, nccl on CUDA)."
        ),
    )
    train.add_argument("--config", help="YAML (or .json) run file; defaults when left out")
    train.add_argument(
        "--data",
        required=True,
        help=(
            "a graph dataset directory from 'hypervae build-graphs' (splits train, val), a "
            "parquet jets file (split 90/10 into train/val) or sample:g|q|t|w|z"
        ),
    )
    train.add_argument(
        "-o", "--output", dest="save_dir", default=None,
        help="output directory (checkpoints/, best/, final/, metrics.jsonl)",
    )  # fmt: skip
    train.add_argument("--save-dir", dest="save_dir_old", default=None, help=argparse.SUPPRESS)
    train.add_argument(
        "--resume", action="store_true", help="continue from SAVE_DIR/checkpoints/last.pt"
    )
    train.add_argument(
        "--init-from",
        metavar="NAME|DIR",
        help=(
            "start from this model's weights and config (fine-tuning; ignored with "
            "--resume); a run file whose model section names another decoder ('flow' "
            "or 'slots') gets that decoder freshly initialised, every other weight copied"
        ),
    )
    train.add_argument("--epochs", type=positive_int, help="override training.max_epochs")
    train.add_argument("--batch-size", type=positive_int, help="override training.batch_size")
    train.add_argument("--seed", type=seed_int, help="override training.seed (0 to 2**32 - 1)")
    train.add_argument("--device", help="override training.device (auto, cpu, cuda, cuda:1)")
    train.add_argument("--no-tensorboard", action="store_true", help="metrics.jsonl only")
    train.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    train.set_defaults(func=train_command)

"""``hypervae generate``: sample jets from a trained model into a file; ``hypervae
distill``: a few-step sampler for a flow-decoder model.

Parquet output streams: jets are generated in chunks and appended to the file as row
groups, so memory stays bounded whatever ``-n``; the file appears (atomically) only when
every jet was written. ``.safetensors`` (hypergraphs) output holds everything in memory
and is refused up front when it would not fit.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="hypervae")
    >>> register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["generate", "--model", "runs/x/best", "-n", "5", "-o", "g.parquet"])
    >>> args.jet_type, args.n_jets
    ('g', 5)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._argtypes import positive_float, positive_int, seed_int

if TYPE_CHECKING:
    from collections.abc import Iterator

    import awkward as ak

__all__ = ["distill_command", "generate_command", "register"]

_JET_TYPES = ("g", "q", "t", "w", "z", "mix")
#: Jets generated and written per parquet row group.
CHUNK_JETS = 65536
#: Rough bytes one jet's hypergraph takes in memory per particle slot squared.
_GRAPH_BYTES_PER_SLOT2 = 64


_positive_int = positive_int
_positive_float = positive_float


def write_parquet_stream(
    chunks: Iterator[ak.Array], path: Path, compression_level: int = 19
) -> int:
    """Writes jet chunks to one parquet file (one row group per chunk), atomically.

    Returns the number of jets written. Nothing appears at ``path`` if a chunk fails.
    """
    import awkward as ak
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    from .._io import atomic_write

    written = 0

    def write(tmp: Path) -> None:
        nonlocal written
        writer = None
        try:
            for jets in chunks:
                table = ak.to_arrow_table(jets, extensionarray=False)
                if writer is None:
                    writer = pq.ParquetWriter(
                        str(tmp), table.schema, compression="zstd",
                        compression_level=compression_level, use_dictionary=False,
                    )  # fmt: skip
                writer.write_table(table, row_group_size=len(jets))
                written += len(jets)
        finally:
            if writer is not None:
                writer.close()

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write)
    return written


def generate_command(args: argparse.Namespace) -> int:
    """Runs ``hypervae generate``."""
    import os

    from .network import HyperVAE

    out = Path(args.output)
    if out.suffix not in (".parquet", ".safetensors"):
        msg = f"--output {str(out)!r}: expected a .parquet (jets) or .safetensors (graphs) file"
        raise ValueError(msg)
    model = HyperVAE.from_pretrained(args.model, device=args.device)
    jet_type = None if args.jet_type == "mix" else args.jet_type
    options: dict[str, Any] = {
        "jet_type": jet_type, "temperature": args.temperature, "seed": args.seed,
        "batch_size": args.batch_size, "steps": args.steps, "solver": args.solver,
    }  # fmt: skip
    if out.suffix == ".parquet":
        chunks = model.iter_sample(args.n_jets, chunk_size=CHUNK_JETS, **options)
        n = write_parquet_stream(chunks, out)
    else:
        from ..graph.build import build_hypergraphs
        from ..graph.storage import write_shard

        need = args.n_jets * _GRAPH_BYTES_PER_SLOT2 * model.config.max_particles**2
        have = int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
        if need > have // 2:
            msg = (
                f"-n {args.n_jets}: hypergraphs of that many jets need about {need / 1e9:.1f} "
                f"GB in memory (this machine has {have / 1e9:.1f} GB); write .parquet jets "
                "(streamed) and build graphs with 'hypervae build-graphs'"
            )
            raise ValueError(msg)
        graph_cfg: dict[str, Any] = {}
        run_file = Path(args.model) / "run.json"
        if args.graph_config:
            text = args.graph_config
            graph_cfg = json.loads(Path(text).read_text() if Path(text).is_file() else text)
        elif run_file.is_file():
            graph_cfg = json.loads(run_file.read_text()).get("graph", {})
        jets = model.sample(args.n_jets, **options)
        write_shard(build_hypergraphs(jets, graph_cfg), out)
        n = len(jets)
    print(f"wrote {n} jets to {out}")
    return 0


def distill_command(args: argparse.Namespace) -> int:
    """Runs ``hypervae distill``: teacher trajectories (cached in a file), then the student."""
    import time

    from safetensors.torch import load_file, save_file

    from .._io import atomic_write
    from .distillation import distill_flow_decoder, teacher_trajectories
    from .flow import _with_flow_settings
    from .network import HyperVAE

    model = HyperVAE.from_pretrained(args.model, device=args.device)
    start = time.perf_counter()
    file = Path(args.trajectories) if args.trajectories else None
    settings = {
        "model": str(args.model), "jets": args.jets, "steps": args.steps,
        "teacher_steps": args.teacher_steps, "teacher_solver": args.teacher_solver,
        "seed": args.seed,
    }  # fmt: skip
    if file is not None and file.is_file():
        from safetensors import safe_open

        with safe_open(str(file), "pt") as handle:
            stored = json.loads((handle.metadata() or {}).get("settings", "{}"))
        if stored != settings:
            msg = (
                f"--trajectories {str(file)!r}: written for {stored}, not for this run's "
                f"{settings}; delete it or name another file"
            )
            raise ValueError(msg)
        paths = load_file(str(file))
        print(f"read teacher trajectories of {len(paths['z'])} jets from {file}")
    else:
        paths = teacher_trajectories(
            model, args.jets, steps=args.steps, teacher_steps=args.teacher_steps,
            teacher_solver=args.teacher_solver, seed=args.seed, batch_size=args.batch_size_teacher,
            progress=not args.quiet,
        )  # fmt: skip
        if file is not None:
            meta = {"settings": json.dumps(settings)}
            tensors = {k: v.contiguous() for k, v in paths.items()}
            atomic_write(file, lambda p: save_file(tensors, str(p), metadata=meta))
            print(f"wrote teacher trajectories to {file}")
    generated = time.perf_counter() - start
    student, history = distill_flow_decoder(
        model, paths, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        ema_decay=args.ema_decay, seed=args.seed, progress=not args.quiet,
        rollout=args.rollout,
    )  # fmt: skip
    student, _ = _with_flow_settings(student, None, distilled_from=str(args.model))
    out = student.save_pretrained(args.output)
    report: dict[str, Any] = {
        "settings": {**settings, "epochs": args.epochs, "batch_size": args.batch_size,
                     "lr": args.lr, "ema_decay": args.ema_decay, "rollout": args.rollout},
        "history": history,
        "seconds": {"trajectories": round(generated, 1),
                    "distillation": round(time.perf_counter() - start - generated, 1)},
    }  # fmt: skip
    atomic_write(Path(out) / "distill.json", json.dumps(report, indent=1) + "\n")
    _copy_run_files(args.model, Path(out), student.config.to_dict(), report["settings"])
    for record in history:
        print(json.dumps(record))
    print(f"wrote the distilled model ({args.steps} Euler steps) to {out}")
    return 0


def _copy_run_files(
    source: str, out: Path, model_config: dict[str, Any], distill: dict[str, Any]
) -> None:
    """The teacher's ``normalization.json`` and ``run.json`` (its graph settings, which
    ``reconstruct`` uses) beside the student, the run's ``model`` section replaced by the
    student's config and the distillation settings added."""
    from .._io import atomic_write
    from .pretrained import model_directory

    folder = model_directory(source)
    if (folder / "normalization.json").is_file():
        atomic_write(out / "normalization.json", (folder / "normalization.json").read_bytes())
    if (folder / "run.json").is_file():
        run = json.loads((folder / "run.json").read_text())
        run["model"], run["distill"] = model_config, distill
        atomic_write(out / "run.json", json.dumps(run, indent=2, sort_keys=True))


def register(subparsers: Any) -> None:
    """Adds ``generate`` and ``distill`` to the ``hypervae`` command."""
    gen = subparsers.add_parser(
        "generate",
        help="sample jets from a trained HyperVAE",
        description=(
            "Samples jets in physical units (GeV) from a model directory (save_pretrained, "
            "e.g. SAVE_DIR/best) or a shipped model name, and writes them as parquet jets "
            "(hypervae.datasets.load_parquet reads them; streamed in chunks, bounded "
            "memory) or as hypergraphs in one .safetensors shard (hypervae.graph.read_shard "
            "reads it; no pickle). The same --seed gives the same jets whatever "
            "--batch-size. Non-finite output is refused, and nothing is written."
        ),
    )
    gen.add_argument("--model", required=True, metavar="NAME|DIR", help="model directory or name")
    gen.add_argument(
        "-n", "--n-jets", "--n", dest="n_jets", type=_positive_int, required=True,
        help="number of jets",
    )  # fmt: skip
    gen.add_argument(
        "--jet-type", choices=_JET_TYPES, default="g", help="jet type; mix: uniform over types"
    )
    gen.add_argument(
        "--temperature", type=_positive_float, default=1.0,
        help="latent prior scale (finite, > 0)",
    )  # fmt: skip
    gen.add_argument("--batch-size", type=_positive_int, default=4096, help="jets decoded at once")
    gen.add_argument("--seed", type=seed_int, default=None, help="random seed (default: random)")
    gen.add_argument(
        "--steps", type=_positive_int, default=None,
        help="ODE steps of the flow decoder (default: the model's; refused for slot models)",
    )  # fmt: skip
    gen.add_argument(
        "--solver", choices=("euler", "midpoint", "heun"), default=None,
        help="ODE solver of the flow decoder (default: the model's; refused for slot models)",
    )  # fmt: skip
    gen.add_argument(
        "-o", "--output", required=True,
        help="output file: .parquet (jets) or .safetensors (graphs)",
    )  # fmt: skip
    gen.add_argument(
        "--graph-config",
        help="HypergraphConfig JSON text or file for .safetensors output "
        "(default: the model's run.json graph section)",
    )
    gen.add_argument("--device", default="cpu", help="device: cpu, cuda, cuda:N or auto")
    gen.set_defaults(func=generate_command)

    dis = subparsers.add_parser(
        "distill",
        help="distil a flow-decoder model's velocity field for a few Euler steps",
        description=(
            "Integrates the model's flow ODE finely for --jets sampled jets (the teacher "
            "trajectories; --trajectories caches them in a safetensors file), then trains a "
            "copy of its velocity field so that --steps Euler steps land where the teacher "
            "lands (hypervae.model.distill_flow_decoder) and writes the distilled model. "
            "Everything but the velocity field is the teacher's."
        ),
    )
    dis.add_argument("--model", required=True, metavar="NAME|DIR", help="the teacher model")
    dis.add_argument("-o", "--output", required=True, help="output model directory")
    dis.add_argument("--steps", type=_positive_int, default=2, help="the student's Euler steps")
    dis.add_argument("--jets", type=_positive_int, default=100_000, help="teacher trajectories")
    dis.add_argument(
        "--teacher-steps", type=_positive_int, default=None,
        help="the teacher's ODE steps in all (a multiple of --steps; default: its own, rounded up)",
    )  # fmt: skip
    dis.add_argument(
        "--teacher-solver", choices=("euler", "midpoint", "heun"), default=None,
        help="the teacher's solver (default: its own)",
    )  # fmt: skip
    dis.add_argument("--trajectories", default=None, help="cache file (.safetensors) of them")
    dis.add_argument("--epochs", type=_positive_int, default=8)
    dis.add_argument("--batch-size", type=_positive_int, default=256, help="jets per step")
    dis.add_argument("--batch-size-teacher", type=_positive_int, default=1000)
    dis.add_argument("--lr", type=_positive_float, default=3e-4)
    dis.add_argument("--ema-decay", type=float, default=0.999)
    dis.add_argument(
        "--rollout",
        action="store_true",
        help="train each segment from the student's own Euler state (not the teacher's)",
    )
    dis.add_argument("--seed", type=seed_int, default=0)
    dis.add_argument("--device", default="cpu", help="device: cpu, cuda, cuda:N or auto")
    dis.add_argument("--quiet", action="store_true", help="no progress bars")
    dis.set_defaults(func=distill_command)

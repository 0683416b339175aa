"""Benchmarks of the taggers: cost scaling with the number of particles, and 5-class tagging.

Reproduces the tables of ``docs/taggers.md``::

    python benchmarks/taggers.py scaling                 # time and peak memory per batch
    python benchmarks/taggers.py tagging --data sample   # 5-class g/q/t/w/z performance
    python benchmarks/taggers.py tagging --data toy      # same, on toy jets (no sample needed)
    python benchmarks/taggers.py flops                   # parameters and FLOPs per jet

Scaling: each (model, number of particles) point runs in a fresh subprocess; time is the
median wall time of a training step (forward + backward) over ``--repeats`` batches after
one warm-up, and memory is the increase of the process's peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) over its value just before the first step,
so it includes the autograd buffers of one step. glibc malloc settings are left at their
defaults unless ``MALLOC_*`` variables are set in the environment (printed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

MATCHED = {
    "full attention (ParT)": (
        "part",
        {
            "embed_dim": 128,
            "num_heads": 8,
            "mlp_dim": 512,
            "num_layers": 4,
            "particle_embed_dims": (128,),
            "pair_embed_dims": (32, 32),
        },
    ),
    "patch attention (PHAT-JeT)": (
        "phat",
        {"dims": (128,), "depths": (4,), "num_heads": (8,), "patch_size": 16},
    ),
}


def _toy_batch(batch: int, n_particles: int, seed: int = 0):
    from hypervae.taggers import TaggerData, toy_jets

    jets = toy_jets(batch, n_prongs=3, n_particles=n_particles, seed=seed)
    data = TaggerData.from_jets(jets, n_max=n_particles)
    return data.p4, data.mask, torch.zeros(batch, dtype=torch.long)


def _one_point(name: str, n_particles: int, batch: int, repeats: int) -> dict:
    """Runs in a subprocess: time and peak-RSS increase of a training step."""
    from hypervae.taggers import build_tagger

    torch.manual_seed(0)
    kind, cfg = MATCHED[name]
    model = build_tagger(kind, num_classes=5, **cfg).train()
    p4, mask, labels = _toy_batch(batch, n_particles)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(p4, mask), labels)
        loss.backward()
        model.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "model": name,
        "n": n_particles,
        "seconds": statistics.median(times[1:]),
        "peak_mib": (after - before) / 1024,  # ru_maxrss is in KiB on Linux
        "params": sum(p.numel() for p in model.parameters()),
    }


def scaling(args: argparse.Namespace) -> None:
    malloc = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}
    print(
        f"# batch {args.batch} jets, training step (fwd+bwd), torch threads {args.threads}, "
        f"malloc settings {malloc or 'default'}"
    )
    rows = []
    for name in MATCHED:
        for n in args.particles:
            code = (
                "import json, sys, torch; sys.path.insert(0, 'benchmarks'); "
                f"torch.set_num_threads({args.threads}); import taggers as b; "
                f"print(json.dumps(b._one_point({name!r}, {n}, {args.batch}, {args.repeats})))"
            )
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), file=sys.stderr)
    print(f"\n| model | params | {' | '.join(f'P={n}' for n in args.particles)} |")
    print(f"|---|---|{'---|' * len(args.particles)}")
    for name in MATCHED:
        sel = [r for r in rows if r["model"] == name]
        cells = [f"{r['seconds'] * 1e3:.0f} ms, {r['peak_mib']:.0f} MiB" for r in sel]
        print(f"| {name} | {sel[0]['params'] / 1e6:.2f}M | {' | '.join(cells)} |")
    for name in MATCHED:
        sel = [r for r in rows if r["model"] == name]
        t = [r["seconds"] for r in sel]
        ratio = t[-1] / t[0]
        print(
            f"# {name}: time x{ratio:.1f} for particles x{args.particles[-1] / args.particles[0]:.1f}"
        )


def _data(kind: str, n_per_class: int):
    import awkward as ak

    from hypervae.taggers import TaggerData, toy_jets

    if kind == "sample":
        from hypervae.datasets import JET_TYPES, load_sample

        parts = {}
        for split in ("train", "val", "test"):
            jets = ak.concatenate(
                [load_sample(t, split=split)[: n_per_class[split]] for t in JET_TYPES]
            )
            parts[split] = TaggerData.from_jets(jets, n_max=30)
        return parts, list(JET_TYPES)
    # toy stand-in: five classes differing in prongs and width
    specs = [(1, 0.05), (1, 0.03), (3, 0.03), (2, 0.03), (2, 0.02)]
    parts = {}
    for k, split in enumerate(("train", "val", "test")):
        jets = ak.concatenate(
            [
                toy_jets(
                    n_per_class[split],
                    p,
                    n_particles=(10, 30),
                    width=w,
                    jet_type=c,
                    seed=100 * k + c,
                )
                for c, (p, w) in enumerate(specs)
            ]
        )
        parts[split] = TaggerData.from_jets(jets, n_max=30)
    return parts, ["g", "q", "t", "w", "z"]


def _sdpa_cpu_flops(query, key, value, *_args, out_shape=None, **_kwargs) -> int:  # noqa: ARG001
    """Matmul FLOPs of attention (QK^T and AV); the CPU kernel has no built-in formula."""
    b, h, n_q, d = query
    return 2 * b * h * n_q * key[-2] * (d + value[-1])


def _flops_per_jet(model: torch.nn.Module, data) -> float:
    """Forward FLOPs per jet: matmuls, convolutions and attention (elementwise ops excluded)."""
    from torch.utils.flop_counter import FlopCounterMode

    sdpa = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    sub = data.subset(slice(0, 64))
    model.eval()
    mode = FlopCounterMode(display=False, custom_mapping={sdpa: _sdpa_cpu_flops})
    with mode as counter:  # no torch.no_grad(): FlopCounterMode's module hooks need autograd
        model(sub.p4, sub.mask)
    return counter.get_total_flops() / len(sub)


def flops(args: argparse.Namespace) -> None:
    from hypervae.taggers import TaggerData, build_tagger

    models = {
        "ParT (defaults, 8x256)": ("part", {}),
        "ParT (4x128)": ("part", MATCHED["full attention (ParT)"][1]),
        "PHAT-JeT small": ("phat-small", {}),
        "PHAT-JeT medium": ("phat-medium", {}),
        "PHAT-JeT large": ("phat-large", {}),
    }
    print("| model | params | " + " | ".join(f"MFLOPs/jet P={n}" for n in args.particles) + " |")
    print("|---|---|" + "---|" * len(args.particles))
    for label, (kind, cfg) in models.items():
        model = build_tagger(kind, num_classes=5, **cfg)
        cells = []
        for n in args.particles:
            p4, mask, labels = _toy_batch(16, n)
            data = TaggerData(p4, mask, labels)
            cells.append(f"{_flops_per_jet(model, data) / 1e6:.0f}")
        params = sum(p.numel() for p in model.parameters())
        print(f"| {label} | {params / 1e6:.2f}M | {' | '.join(cells)} |")


def tagging(args: argparse.Namespace) -> None:
    from hypervae.taggers import build_tagger, evaluate_tagger, train_tagger

    sizes = {"train": args.n_train, "val": args.n_val, "test": args.n_test}
    parts, names = _data(args.data, sizes)
    print(
        f"# data {args.data}: {len(parts['train'])} train / {len(parts['val'])} val / "
        f"{len(parts['test'])} test jets, {args.epochs} epochs, batch {args.batch}, "
        f"lr {args.lr}, torch threads {args.threads}"
    )
    models = {
        "ParT (4x128)": ("part", MATCHED["full attention (ParT)"][1]),
        "PHAT-JeT small": ("phat-small", {}),
    }
    print(
        "| model | params | MFLOPs/jet | accuracy | macro AUC | "
        + " | ".join(f"R80 {n}" for n in names)
        + " | train s |"
    )
    print("|---|---|---|---|---|" + "---|" * len(names) + "---|")
    for label, (kind, cfg) in models.items():
        torch.manual_seed(args.seed)
        model = build_tagger(kind, num_classes=len(names), **cfg)
        start = time.perf_counter()
        train_tagger(
            model,
            parts["train"],
            parts["val"],
            {"epochs": args.epochs, "batch_size": args.batch, "lr": args.lr, "seed": args.seed},
            callback=lambda r: print(json.dumps(r), file=sys.stderr),
        )
        seconds = time.perf_counter() - start
        m = evaluate_tagger(model, parts["test"], names)
        print(json.dumps({"model": label, **m}), file=sys.stderr)
        flops = _flops_per_jet(model, parts["test"])
        params = sum(p.numel() for p in model.parameters())
        rej = " | ".join(f"{m[f'rejection80_{n}']:.1f}" for n in names)
        print(
            f"| {label} | {params / 1e6:.2f}M | {flops / 1e6:.1f} | {m['accuracy']:.3f} | "
            f"{m['auc_macro']:.4f} | {rej} | {seconds:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("scaling")
    s.add_argument("--particles", type=int, nargs="+", default=[30, 64, 128, 256])
    s.add_argument("--batch", type=int, default=32)
    s.add_argument("--repeats", type=int, default=3)
    s.add_argument("--threads", type=int, default=1)
    s.set_defaults(func=scaling)
    f = sub.add_parser("flops")
    f.add_argument("--particles", type=int, nargs="+", default=[30, 256])
    f.add_argument("--threads", type=int, default=1)
    f.set_defaults(func=flops)
    t = sub.add_parser("tagging")
    t.add_argument("--data", choices=["sample", "toy"], default="sample")
    t.add_argument("--n-train", type=int, default=4000, help="jets per class")
    t.add_argument("--n-val", type=int, default=500)
    t.add_argument("--n-test", type=int, default=1500)
    t.add_argument("--epochs", type=int, default=5)
    t.add_argument("--batch", type=int, default=128)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=1)
    t.set_defaults(func=tagging)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    np.set_printoptions(precision=4)
    args.func(args)


if __name__ == "__main__":
    main()

"""Training throughput of :class:`hypervae.training.Trainer` on CPU.

For each setting (model size x batch size x precision) a fresh Python process builds
hypergraphs of synthetic 30-particle jets, trains one untimed warm-up epoch and then
``--epochs`` timed epochs (optimiser steps, validation off), and reports jets/s of
training (forward + backward + AdamW step) and the process's peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``: everything the process touched,
including the interpreter, torch and the graphs; it includes the graph building).

Threads: ``torch.set_num_threads(--threads)`` (default 1). The glibc ``MALLOC_*``
environment settings in effect are printed with the table.

Usage:
    python benchmarks/training.py [--jets 256] [--epochs 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

SETTINGS = [
    # name, model overrides, batch size, precision
    ("small h32 1blk", {"hidden": 32, "blocks": 1}, 32, "fp32"),
    ("small h32 1blk", {"hidden": 32, "blocks": 1}, 64, "fp32"),
    ("default h64 2blk", {"hidden": 64, "blocks": 2}, 64, "fp32"),
    ("default h64 2blk", {"hidden": 64, "blocks": 2}, 64, "bf16"),
]


def child(spec: dict) -> dict:
    import numpy as np
    import torch

    import hypervae as hv
    from hypervae.training import Trainer, edge_normalization, jet_norm_from_graphs

    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n, p = spec["jets"], 30
    pt = rng.exponential(30.0, (n, p)) + 0.5
    eta = rng.normal(0, 0.3, (n, 1)) + rng.normal(0, 0.1, (n, p))
    phi = rng.uniform(-3, 3, (n, 1)) + rng.normal(0, 0.1, (n, p))
    p4 = hv.physics.ptetaphim_to_cartesian(pt, eta, phi, 0.13957)
    jets = hv.datasets.make_jets(hv.physics.from_padded(p4, np.ones((n, p), bool)), "t")
    graphs = hv.graph.build_hypergraphs(
        jets, {"budget": "knn", "k": 4, "edges": "knn", "edge_k": 8}
    )
    edge = edge_normalization(hv.graph.GraphNormalization.fit(graphs))
    graphs = [edge.transform(g) for g in graphs]
    norm = jet_norm_from_graphs(graphs)
    block = {"num_blocks": spec["model"]["blocks"]}
    model = hv.HyperVAE(
        {"max_particles": p, "hidden": spec["model"]["hidden"], "encoder": block,
         "decoder": block, "norm": {"mean": norm.mean, "std": norm.std}}
    )  # fmt: skip
    cfg = {"batch_size": spec["batch"], "max_epochs": spec["epochs"] + 1, "progress": False,
           "tensorboard": False, "precision": spec["precision"], "warmup_steps": 10}  # fmt: skip
    trainer = Trainer(model, graphs, None, cfg)
    trainer.fit(epochs=1)  # warm-up
    start = time.perf_counter()
    trainer.fit(epochs=spec["epochs"])
    seconds = time.perf_counter() - start
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "jets_per_s": spec["epochs"] * n / seconds,
        "step_ms": 1000 * seconds / (spec["epochs"] * trainer.steps_per_epoch),
        "peak_rss_mib": rss_kib / 1024,
        "params": sum(q.numel() for q in model.parameters()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=256, help="training jets per epoch")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    malloc = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")} or "glibc defaults"
    print(f"CPU training, synthetic 30-particle jets, {args.jets} jets/epoch, "
          f"{args.epochs} timed epochs, {args.threads} thread(s), malloc: {malloc}")  # fmt: skip
    print("memory: peak RSS of a fresh process per row (ru_maxrss)")
    header = f"{'model':>17} {'params':>8} {'batch':>5} {'prec':>5} {'jets/s':>8} {'ms/step':>8} {'peak RSS MiB':>12}"
    print(header)
    print("-" * len(header))
    for name, model, batch, precision in SETTINGS:
        spec = {"model": model, "batch": batch, "precision": precision, "jets": args.jets,
                "epochs": args.epochs, "threads": args.threads}  # fmt: skip
        done = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(spec)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{name:>17} {r['params']:>8} {batch:>5} {precision:>5} {r['jets_per_s']:>8.1f} "
              f"{r['step_ms']:>8.1f} {r['peak_rss_mib']:>12.0f}")  # fmt: skip


if __name__ == "__main__":
    main()

"""Flow-matching particle decoder on the frozen shipped HyperVAE latent: train and measure.

Three sub-commands (one thread each; ``OMP_NUM_THREADS=1`` is set before torch loads):

``cache``
    Loads the shipped ``hypervae-jets-30``, builds the hypergraphs of the shipped
    sample's train and val splits (all five types) with the model's graph config, fits
    the edge-feature normalisation exactly as the shipped model's training run did
    (``benchmarks/results.py``: train+val of every type, a seeded 10 % validation split),
    encodes every jet once to ``(mu, sigma)`` and writes them with the padded particle
    targets ``(eta_rel, phi_rel, ln pt_rel)`` (relative to the particle-sum jet) to
    ``--cache`` (default ``/work/cache/flow_latents.pt``; not in git).
``train``
    Trains a :class:`~hypervae.model.flow_decoder.FlowDecoder` on ``z = mu + sigma * eps``
    (fresh ``eps`` each step) of the *train* split's jets, AdamW with a cosine schedule
    over a time budget, EMA weights, and saves the EMA decoder to ``--output``. The
    budget (``--minutes``) is this process's CPU time on one thread, the core time it
    actually received on a shared machine, capped by ``--max-wall-minutes``.
``evaluate``
    Samples jets through the shipped model's mixture prior and multiplicity head and
    the saved decoder (``--steps`` midpoint steps, 20 and 6 by default) and compares them
    with the 1,500-jet test split using :func:`hypervae.evaluation.evaluate`, beside the
    truth floor (the val split, same size, against the test split); prints a table per
    type and the sampling rate at batch 1000 on one thread.

Usage:
    python benchmarks/flow_decoder.py cache
    python benchmarks/flow_decoder.py train --minutes 15 -o /work/cache/flow_decoder
    python benchmarks/flow_decoder.py evaluate --decoder /work/cache/flow_decoder
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import copy
import json
import math
import time
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import torch

import hypervae as hv
from hypervae.model.pretrained import model_directory

ROOT = Path(__file__).resolve().parent.parent
TYPES = ("g", "q", "t", "w", "z")
SHIPPED = "hypervae-jets-30"
CACHE = Path("/work/cache/flow_latents.pt")


# ---------------------------------------------------------------------------- cache
def relative_targets(particles: ak.Array, max_particles: int) -> tuple[np.ndarray, np.ndarray]:
    """Padded ``(eta_rel, phi_rel, ln pt_rel)`` relative to the particle-sum jet, and mask."""
    rel = hv.physics.to_relative(particles)
    counts = ak.to_numpy(ak.num(rel, axis=1))
    mask = np.arange(max_particles)[None, :] < counts[:, None]
    x = np.zeros((len(counts), max_particles, 3))
    for k, name in enumerate(("eta_rel", "phi_rel", "pt_rel")):
        flat = ak.to_numpy(ak.flatten(rel[name])).astype(np.float64)
        x[..., k][mask] = np.log(flat) if name == "pt_rel" else flat
    return x, mask


def cache(args: argparse.Namespace) -> None:
    from torch_geometric.loader import DataLoader

    from hypervae.graph.normalization import GraphNormalization
    from hypervae.training.data import edge_normalization

    torch.set_num_threads(1)
    model = hv.HyperVAE.from_pretrained(args.model)
    run = json.loads((model_directory(args.model) / "run.json").read_text())
    graph_cfg = dict(run["graph"])
    graph_cfg["max_particles"] = model.config.max_particles
    # the shipped training set: train+val of every type in this order, 10 % held out
    # with the seed of hypervae.training.data.load_training_data
    parts = [(t, s) for t in TYPES for s in ("train", "val")]
    jets = ak.concatenate([hv.datasets.load_sample(t, split=s) for t, s in parts])
    split = np.concatenate(
        [np.full(len(hv.datasets.load_sample(t, split=s)), int(s == "val")) for t, s in parts]
    )
    start = time.perf_counter()
    graphs = hv.graph.build_hypergraphs(jets, graph_cfg)
    print(f"built {len(graphs)} hypergraphs in {time.perf_counter() - start:.0f} s", flush=True)
    n = len(graphs)
    order = np.random.default_rng(42).permutation(n)
    n_val = min(n - 1, max(1, round(0.1 * n)))
    fit_on = np.sort(order[n_val:])
    norm = edge_normalization(GraphNormalization.fit([graphs[i] for i in fit_on]))
    graphs = [norm.transform(g) for g in graphs]
    mus, logvars = [], []
    start = time.perf_counter()
    with torch.no_grad():
        for batch in DataLoader(graphs, batch_size=500):
            mu, logvar = model.encode(batch)
            mus.append(mu.float())
            logvars.append(logvar.float())
    print(f"encoded in {time.perf_counter() - start:.0f} s", flush=True)
    x, mask = relative_targets(jets["particles"], model.config.max_particles)
    out = {
        "mu": torch.cat(mus),
        "sigma": (0.5 * torch.cat(logvars)).exp(),
        "jet_type": torch.as_tensor(ak.to_numpy(jets["jet_type"]).astype(np.int64)),
        "particles": torch.as_tensor(x, dtype=torch.float32),
        "mask": torch.as_tensor(mask),
        "split": torch.as_tensor(split),  # 0 train, 1 val (of the shipped sample)
        "model": str(args.model),
        "graph": graph_cfg,
    }
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, args.cache)
    print(f"wrote {args.cache}: {n} jets, mean sigma {float(out['sigma'].mean()):.3f}")


# ---------------------------------------------------------------------------- train
def train(args: argparse.Namespace) -> None:
    from hypervae.model.flow import standardisation_of
    from hypervae.model.flow_decoder import FlowDecoder, FlowDecoderConfig

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    data = torch.load(args.cache, weights_only=True)
    sel = data["split"] == 0
    mu, sigma = data["mu"][sel], data["sigma"][sel]
    types, x, mask = data["jet_type"][sel], data["particles"][sel], data["mask"][sel]
    val = (data["split"] == 1).nonzero()[:, 0][:2000]
    config = FlowDecoderConfig(
        latent_dim=mu.shape[1],
        max_particles=x.shape[1],
        width=args.width,
        layers=args.layers,
        heads=args.heads,
        mlp_ratio=args.mlp_ratio,
        velocity=args.velocity,
        **standardisation_of(x, mask),  # the train split
    )
    decoder = FlowDecoder(config)
    ema = copy.deepcopy(decoder).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    n_params = sum(p.numel() for p in decoder.parameters())
    print(f"{len(mu)} training jets; {n_params} parameters; {config.to_json()}", flush=True)
    opt = torch.optim.AdamW(decoder.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    budget = args.minutes * 60.0
    gen = torch.Generator().manual_seed(args.seed)
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    cpu_start = time.process_time()
    max_wall = args.max_wall_minutes * 60.0
    last_save = start
    step = 0
    running = {"flow": 0.0, "scalar": 0.0}

    def val_loss() -> float:
        g = torch.Generator().manual_seed(1)
        with torch.no_grad():
            z = data["mu"][val] + data["sigma"][val] * torch.randn(
                len(val), mu.shape[1], generator=g
            )
            out = ema.loss(z, data["jet_type"][val], data["particles"][val], data["mask"][val], g)
        return float(out["flow"])

    while True:
        # the budget is this process's CPU time (one thread: core-seconds actually
        # received on a shared machine), capped by a wall-clock limit
        frac = max(
            (time.process_time() - cpu_start) / budget, (time.perf_counter() - start) / max_wall
        )
        if frac >= 1.0:
            break
        warm = min(1.0, (step + 1) / args.warmup)
        lr = args.lr * warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for group in opt.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, len(mu), (args.batch_size,), generator=gen)
        z = mu[idx] + sigma[idx] * torch.randn(len(idx), mu.shape[1], generator=gen)
        out = decoder.loss(z, types[idx], x[idx], mask[idx], gen)
        opt.zero_grad(set_to_none=True)
        out["total"].backward()
        torch.nn.utils.clip_grad_norm_(decoder.parameters(), args.clip)
        opt.step()
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), decoder.parameters(), strict=True):
                pe.lerp_(p, 1 - decay)
        step += 1
        for k in running:
            running[k] += out[k].item()
        if step % args.log_every == 0:
            entry = {
                "step": step,
                "seconds": time.perf_counter() - start,
                "cpu_seconds": time.process_time() - cpu_start,
                "lr": lr,
                **{k: v / args.log_every for k, v in running.items()},
            }
            running = dict.fromkeys(running, 0.0)
            if step % (args.log_every * 5) == 0:
                entry["val_flow_ema"] = val_loss()
            history.append(entry)
            print(json.dumps(entry), flush=True)
        if time.perf_counter() - last_save > 180:
            ema.save_pretrained(args.output)
            last_save = time.perf_counter()
    ema.save_pretrained(args.output)
    summary = {
        "steps": step,
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu_start,
        "parameters": n_params,
        "final_val_flow_ema": val_loss(),
        "args": {k: str(v) for k, v in vars(args).items() if k != "func"},
        "history": history,
    }
    (args.output / "train.json").write_text(json.dumps(summary, indent=1))
    print(f"saved {args.output} after {step} steps", flush=True)


# ---------------------------------------------------------------------------- evaluate
def _metrics(real: ak.Array, other: ak.Array) -> dict[str, float]:
    m = hv.evaluation.evaluate(real, other, eec_n=())
    return {
        "w1m": m["w1m"]["mean"] * 1e3,
        "w1p": m["w1p"]["mean"] * 1e3,
        "w1efp": m["w1efp"]["mean"] * 1e5,
        "fpd": m["fpd"]["value"] * 1e3,
    }


def evaluate(args: argparse.Namespace) -> None:
    from hypervae.model import with_flow_decoder
    from hypervae.model.flow_decoder import FlowDecoder

    def sample_jets(vae, decoder, n_jets, jet_type, seed, steps, solver):  # type: ignore[no-untyped-def]
        model = with_flow_decoder(vae, decoder)
        return model.sample(n_jets, jet_type=jet_type, seed=seed, steps=steps, solver=solver)

    torch.set_num_threads(1)
    vae = hv.HyperVAE.from_pretrained(args.model)
    decoder = FlowDecoder.from_pretrained(args.decoder)
    n_params = sum(p.numel() for p in decoder.parameters())
    results: dict[str, Any] = {"decoder": str(args.decoder), "parameters": n_params, "types": {}}
    keys = ("w1m", "w1p", "w1efp", "fpd")
    for t in args.types:
        test = hv.datasets.load_sample(t, split="test")
        real = hv.datasets.make_jets(test["particles"], test["jet_type"])
        ref = hv.datasets.load_sample(t, split="val")[: len(real)]
        floor = _metrics(real, hv.datasets.make_jets(ref["particles"], ref["jet_type"]))
        per: dict[str, Any] = {"floor": floor}
        for steps in args.steps:
            gen = sample_jets(vae, decoder, len(real), t, seed=11, steps=steps, solver=args.solver)
            per[f"{args.solver}{steps}"] = _metrics(real, gen)
        results["types"][t] = per
        for label, row in per.items():
            cells = "  ".join(f"{k} {row[k]:7.2f} ({row[k] / floor[k]:4.1f}x)" for k in keys)
            print(f"{t} {label:<12} {cells}", flush=True)
    rates: dict[str, dict[str, float]] = {}
    for steps in args.steps:
        sample_jets(vae, decoder, 200, "t", seed=1, steps=steps, solver=args.solver)  # warm-up
        wall, cpu = time.perf_counter(), time.process_time()
        sample_jets(vae, decoder, 2000, "t", seed=0, steps=steps, solver=args.solver)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        # on a shared machine the wall-clock rate depends on the other jobs; the rate per
        # CPU-second of this one-thread process is what an unshared core would give
        rates[f"{args.solver}{steps}"] = {"wall": 2000 / wall, "cpu": 2000 / cpu}
        print(
            f"{args.solver} {steps} steps: {2000 / wall:.0f} top jets/s wall, "
            f"{2000 / cpu:.0f} per CPU-second (batch 1000, one thread)",
            flush=True,
        )
    results["jets_per_second"] = rates
    if args.output is not None:
        args.output.write_text(json.dumps(results, indent=1))
        print(f"wrote {args.output}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("cache")
    p.add_argument("--cache", type=Path, default=CACHE)
    p.add_argument("--model", default=SHIPPED, help="the slot VAE whose latent is cached")
    p.set_defaults(func=cache)
    p = sub.add_parser("train")
    p.add_argument("--cache", type=Path, default=CACHE)
    p.add_argument("-o", "--output", type=Path, default=Path("/work/cache/flow_decoder"))
    p.add_argument("--minutes", type=float, default=15.0, help="CPU minutes (one thread)")
    p.add_argument("--max-wall-minutes", type=float, default=60.0)
    p.add_argument("--velocity", choices=("transformer", "lgatr"), default="transformer")
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--mlp-ratio", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=train)
    p = sub.add_parser("evaluate")
    p.add_argument("--decoder", type=Path, default=Path("/work/cache/flow_decoder"))
    p.add_argument("--model", default=SHIPPED, help="the slot VAE the decoder was trained on")
    p.add_argument("--types", nargs="+", default=list(TYPES))
    p.add_argument("--steps", type=int, nargs="+", default=[20, 6])
    p.add_argument("--solver", default="midpoint")
    p.add_argument("-o", "--output", type=Path, default=None)
    p.set_defaults(func=evaluate)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()

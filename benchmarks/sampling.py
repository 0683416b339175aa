"""Sampling throughput of HyperVAE.sample() beside Pythia 8 + FastJet, in one run.

Both produce 1 TeV jets of one type with 30 particles on this machine: the generator
with ``HyperVAE.sample`` (a shipped or saved model, or a freshly initialised default
one), Pythia with ``hv.datasets.generate_pythia`` (needs the ``pythia`` extra). The
ratio of the two rates is the headline figure. The generator is also timed at a second
batch size: with per-jet random streams the jets are the same for both (the script
checks it), so only the speed differs.

Usage:
    python benchmarks/sampling.py [--model DIR] [--jet-type t] [--n-jets 5000] [--pythia-jets 200]
        [--steps 20 10 4]   # flow decoder: also each of these ODE step counts, same run
"""

from __future__ import annotations

import argparse
import os
import time

import torch

import hypervae as hv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=None, help="saved model dir (default: untrained default config)"
    )
    parser.add_argument("--jet-type", default="t")
    parser.add_argument("--n-jets", "--n", dest="n_jets", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--pythia-jets", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--steps", type=int, nargs="*", default=[], help="flow decoder: ODE steps to time too"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = (
        hv.HyperVAE.from_pretrained(args.model)
        if args.model
        else hv.HyperVAE(hv.HyperVAEConfig()).eval()
    )
    model.sample(args.batch_size, jet_type=args.jet_type, seed=1)  # warm-up
    start = time.perf_counter()
    jets = model.sample(args.n_jets, jet_type=args.jet_type, seed=0, batch_size=args.batch_size)
    vae_rate = len(jets) / (time.perf_counter() - start)
    small = max(args.batch_size // 8, 1)
    start = time.perf_counter()
    again = model.sample(args.n_jets, jet_type=args.jet_type, seed=0, batch_size=small)
    small_rate = len(again) / (time.perf_counter() - start)
    same = again.n_particles.to_list() == jets.n_particles.to_list()
    step_rates = {}
    for steps in args.steps:
        start = time.perf_counter()
        out = model.sample(args.n_jets, jet_type=args.jet_type, seed=0, steps=steps)
        step_rates[steps] = len(out) / (time.perf_counter() - start)
    try:
        start = time.perf_counter()
        real = hv.datasets.generate_pythia(
            args.jet_type, n_jets=args.pythia_jets, seed=7, progress=False
        )
        pythia_rate = len(real) / (time.perf_counter() - start)
    except ImportError as error:
        pythia_rate = float("nan")
        print(f"Pythia not measured: {error}")
    print(
        f"torch threads {args.threads}; MALLOC_MMAP_THRESHOLD_={os.environ.get('MALLOC_MMAP_THRESHOLD_', 'default')}"
    )
    print(f"{'generator':>22} {'jets':>7} {'jets/s':>10}")
    print(f"{'HyperVAE.sample':>22} {args.n_jets:>7} {vae_rate:>10.1f}  batch {args.batch_size}")
    print(f"{'HyperVAE.sample':>22} {args.n_jets:>7} {small_rate:>10.1f}  batch {small}")
    print(f"same jets (multiplicities) for both batch sizes: {same}")
    for steps, rate in step_rates.items():
        label = f"sample(steps={steps})"
        print(f"{label:>22} {args.n_jets:>7} {rate:>10.1f}  batch {args.batch_size}")
    print(f"{'Pythia 8 + FastJet':>22} {args.pythia_jets:>7} {pythia_rate:>10.1f}")
    print(f"ratio HyperVAE / Pythia: {vae_rate / pythia_rate:.0f}x")


if __name__ == "__main__":
    main()

"""Energy correlators of generated jets beside the truth floor on 10,000 jets per type.

The results page (``benchmarks/results.py``) judges generators by the JetNet metrics and
leaves the energy correlators out. This script adds them: per jet type, on the
never-trained evaluation set (``scripts/make_eval_sets.py``), the projected 2- and
3-point EEC of each generator's jets (their 30 leading particles, re-expressed relative
to their sum as on the results page; :func:`hypervae.physics.eec`, 40 bins in
:math:`\\ln R_L` over ``1e-4..2``) against the eval set's: the W1 in :math:`\\ln R_L`
(:func:`hypervae.evaluation.metrics.w1_eec`, mean over 5 batches) and its ratio to the
floor's (the shipped sample against the same eval set), and where the EEC weight sits:
the :math:`R_L` below which 25, 50 and 75 % of it lies, as a ratio to the real jets'.

Usage:
    python benchmarks/eec_fidelity.py [--types gqtwz] [--n-jets 10000]
        [--model default=hypervae-jets-30 --model fast=hypervae-jets-30-fast]
        [--model 'steps80=hypervae-jets-30:{"steps": 80}']
        [--output benchmarks/results/eec_fidelity.json]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import hypervae as hv
from hypervae.evaluation.metrics import w1_eec
from hypervae.physics.eec import DEFAULT_RANGE, bin_edges

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import DEFAULT_EVAL_DIR, as_jets, build_generator, floor_reference, load_sets

QUANTILES = (0.25, 0.5, 0.75)


def eec_quantiles(hists: np.ndarray, edges: np.ndarray) -> list[float]:
    """The R_L below which each of :data:`QUANTILES` of the mean histogram's weight lies
    (log-linear inside a bin)."""
    mean = hists.mean(0)
    cdf = np.concatenate([[0.0], np.cumsum(mean)]) / mean.sum()
    return [float(np.exp(np.interp(q, cdf, np.log(edges)))) for q in QUANTILES]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        action="append",
        default=None,
        metavar="SPEC",
        help="[LABEL=]NAME|DIR[:JSON] as in results.py (default: default=hypervae-jets-30 "
        "and fast=hypervae-jets-30-fast)",
    )
    parser.add_argument("--types", default="gqtwz")
    parser.add_argument("--n-jets", type=int, default=10_000, help="per type, at most the eval set")
    parser.add_argument("--seed", type=int, default=11, help="sampling seed (results.py's)")
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.time()
    specs = args.model or ["default=hypervae-jets-30", "fast=hypervae-jets-30-fast"]
    try:
        generators = [build_generator(spec) for spec in specs]
    except ValueError as error:
        parser.error(str(error))
    edges = bin_edges(40, DEFAULT_RANGE)
    sets, data = load_sets(args.eval_dir, args.types, allow_small=False)
    out: dict[str, Any] = {
        "command": shlex.join(["python", *sys.argv]),
        "floor": data["floor"],
        "types": {},
    }
    for t, (eval_jets, floor_set) in sets.items():
        ev = eval_jets[: args.n_jets]
        samples = {"floor": floor_set[: args.n_jets]}
        for gen in generators:
            samples[gen.label] = as_jets(gen(len(ev), t, args.seed))
        rows: dict[str, Any] = {}
        for n in (2, 3):
            real = hv.physics.eec(ev, n=n, bins=edges)
            real_q = eec_quantiles(real, edges)
            for label, jets in samples.items():
                hists = hv.physics.eec(jets, n=n, bins=edges)
                value, error = w1_eec(real, hists, edges)
                q = eec_quantiles(hists, edges)
                rows.setdefault(label, {})[f"eec{n}"] = {
                    "w1": value,
                    "w1_std": error,
                    "rl_quantiles": q,
                    "rl_quantile_ratios": [a / b for a, b in zip(q, real_q, strict=True)],
                }
        for n in (2, 3):
            floor = rows["floor"][f"eec{n}"]
            ref = floor_reference({"mean": floor["w1"], "std": floor["w1_std"]})
            for row in rows.values():
                row[f"eec{n}"]["floor_ratio"] = row[f"eec{n}"]["w1"] / ref
        out["types"][t] = rows
        print(
            f"\n{t} ({len(ev):,} eval jets): W1 in ln R_L x1e-3 (ratio to floor); R_L quartiles / real"
        )
        for label, row in rows.items():
            cells = "   ".join(
                f"EEC{n} {row[f'eec{n}']['w1'] * 1e3:6.1f} ({row[f'eec{n}']['floor_ratio']:4.1f}x) "
                + "/".join(f"{r:.2f}" for r in row[f"eec{n}"]["rl_quantile_ratios"])
                for n in (2, 3)
            )
            print(f"{label:>10}  {cells}", flush=True)
    out["seconds"] = round(time.time() - start)
    if args.output:
        args.output.write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

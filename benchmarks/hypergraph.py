"""Hypergraph construction: throughput, storage and peak memory per budget.

Compares :func:`hypervae.graph.build_hypergraphs` (vectorised over padded chunks, bounded
hyperedge budgets) with the seed's approach, a per-jet Python loop that stores every
triplet of particles as a hyperedge, on the same random jets in the same run.

Each case runs in a fresh subprocess so that its peak resident memory (``ru_maxrss``) is
its own; the table shows it beside the resident memory before the build (interpreter,
torch and the input jets). Jets: a fixed multiplicity, pT exponential (mean 20 GeV),
(eta, phi) Gaussian of width 0.1 around a random axis, massless.

Usage::

    python benchmarks/hypergraph.py            # full table (a few minutes on 2 cores)
    python benchmarks/hypergraph.py --quick    # fewer jets
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np

__all__ = ["main", "make_jets", "naive_build", "naive_inputs", "run_case"]


def make_jets(n_jets: int, n_particles: int, seed: int = 0):
    """Random jets of exactly ``n_particles`` particles."""
    from hypervae.datasets import make_jets as _make_jets
    from hypervae.physics import from_padded, ptetaphim_to_cartesian

    rng = np.random.default_rng(seed)
    shape = (n_jets, n_particles)
    pt = rng.exponential(20.0, shape) + 0.5
    eta = rng.uniform(-2, 2, (n_jets, 1)) + rng.normal(0, 0.1, shape)
    phi = rng.uniform(-np.pi, np.pi, (n_jets, 1)) + rng.normal(0, 0.1, shape)
    p4 = ptetaphim_to_cartesian(pt, eta, phi, 0.0)
    return _make_jets(from_padded(p4, np.ones(shape, bool)), rng.integers(0, 5, n_jets))


def naive_inputs(jets) -> list[list[tuple[float, ...]]]:
    """Per jet, per particle ``(pt, y, phi, E, px, py, pz)`` as Python floats."""
    from hypervae.physics import rapidity, to_padded

    p4, mask = to_padded(jets)
    pt = np.hypot(p4[..., 1], p4[..., 2])
    cols = np.stack(
        [pt, rapidity(p4), np.arctan2(p4[..., 2], p4[..., 1]), *np.moveaxis(p4, -1, 0)], -1
    )
    return [[tuple(row) for row in cols[j][mask[j]].tolist()] for j in range(len(p4))]


def naive_build(jets: list[list[tuple[float, ...]]]) -> list:
    """The seed's approach: a Python loop per jet over all pairs and all triplets.

    Takes :func:`naive_inputs` (plain floats, prepared outside the timed region).
    """
    import torch
    from torch_geometric.data import Data

    graphs = []
    for parts in jets:
        total = sum(p[0] for p in parts)
        n = len(parts)

        def dr(a, b, parts=parts):
            dphi = (parts[a][2] - parts[b][2] + math.pi) % (2 * math.pi) - math.pi
            return math.hypot(parts[a][1] - parts[b][1], dphi)

        src, dst, eattr = [], [], []
        for i, j in itertools.permutations(range(n), 2):
            pi, pj = parts[i], parts[j]
            d = dr(i, j)
            ptmin = min(pi[0], pj[0])
            m2 = (pi[3] + pj[3]) ** 2 - sum((pi[k] + pj[k]) ** 2 for k in (4, 5, 6))
            eattr.append(
                [
                    pi[0] * pj[0] / total**2,
                    math.log(max(d, 1e-8)),
                    math.log(max(ptmin * d, 1e-8)),
                    math.log(ptmin / (pi[0] + pj[0])),
                    math.log(max(m2, 1e-8)),
                ]
            )
            src.append(i)
            dst.append(j)
        members, hyper, hattr = [], [], []
        for h, (i, j, k) in enumerate(itertools.combinations(range(n), 3)):
            sides = sorted((dr(i, j), dr(i, k), dr(j, k)))
            rl = max(sides[2], 1e-8)
            hattr.append(
                [
                    6 * parts[i][0] * parts[j][0] * parts[k][0] / total**3,
                    math.log(rl),
                    math.log(max(sides[0], 1e-8) / rl),
                    math.log(max(sides[1], 1e-8) / rl),
                ]
            )
            members += [i, j, k]
            hyper += [h, h, h]
        graphs.append(
            Data(
                x=torch.tensor([p[3:] for p in parts], dtype=torch.float32),
                edge_index=torch.tensor([src, dst]),
                edge_attr=torch.tensor(eattr, dtype=torch.float32),
                hyperedge_index=torch.tensor([members, hyper]),
                hyperedge_attr=torch.tensor(hattr, dtype=torch.float32),
            )
        )
    return graphs


def _rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_case(n_particles: int, method: str, n_jets: int, edges: str) -> dict:
    """One measurement (call in a fresh process)."""
    from hypervae.graph import build_from_arrays, jet_arrays

    jets = make_jets(n_jets, n_particles)
    if method == "naive":
        jets = naive_inputs(jets)
        before = _rss_mb()
        start = time.perf_counter()
        graphs = naive_build(jets)
    else:
        arrays = jet_arrays(jets)
        before = _rss_mb()
        start = time.perf_counter()
        config = {"budget": method, "k": 8, "edges": edges, "max_all_particles": 40}
        graphs = build_from_arrays(arrays, config)
    seconds = time.perf_counter() - start
    stored = sum(v.numel() * v.element_size() for g in graphs for _, v in g)
    hyperedges = sum(g.hyperedge_attr.shape[0] for g in graphs)
    return {
        "jets_per_s": n_jets / seconds,
        "bytes_per_jet": stored / n_jets,
        "hyperedges_per_jet": hyperedges / n_jets,
        "rss_before_mb": before,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "n_jets": n_jets,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer jets per case")
    parser.add_argument("--case", nargs=4, metavar=("N", "METHOD", "JETS", "EDGES"))
    args = parser.parse_args(argv)
    if args.case:
        n, method, jets, edges = args.case
        print(json.dumps(run_case(int(n), method, int(jets), edges)))
        return 0
    q = args.quick
    cases = [
        (30, "naive", 20 if q else 100, "all"),
        (30, "all", 200 if q else 1000, "all"),
        (30, "knn", 200 if q else 1000, "all"),
        (30, "top_weight", 200 if q else 1000, "all"),
        (150, "naive", 1 if q else 3, "all"),
        (150, "knn", 100 if q else 1000, "knn"),
        (150, "top_weight", 100 if q else 1000, "knn"),
    ]
    env = {k: v for k, v in os.environ.items() if k.startswith(("MALLOC_", "OMP_"))}
    print(f"# python {sys.version.split()[0]}, {os.cpu_count()} CPUs, env {env or 'defaults'}")
    print(
        "# hypervae: k=8, n_points=3, eec_n=(2, 3), 20 bins; edges 'all' at 30, 'knn' (16) at 150"
    )
    print("# budget 'all' at 150 particles is refused (551,300 triplets per jet)")
    header = f"{'n':>4} {'method':<11} {'jets':>5} {'jets/s':>9} {'hyperedges/jet':>15} "
    header += f"{'kB/jet':>9} {'RSS before MB':>14} {'peak MB':>8}"
    print(header)
    results = {}
    for n, method, jets, edges in cases:
        cmd = [sys.executable, __file__, "--case", str(n), method, str(jets), edges]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        results[n, method] = r
        print(
            f"{n:>4} {method:<11} {jets:>5} {r['jets_per_s']:>9.1f} "
            f"{r['hyperedges_per_jet']:>15.0f} {r['bytes_per_jet'] / 1e3:>9.1f} "
            f"{r['rss_before_mb']:>14.0f} {r['peak_mb']:>8.0f}",
            flush=True,
        )
    for n in (30, 150):
        naive = results[n, "naive"]["jets_per_s"]
        ratios = ", ".join(
            f"{m} {results[n, m]['jets_per_s'] / naive:.0f}x"
            for (size, m) in results
            if size == n and m != "naive"
        )
        print(f"# speed-up over the naive loop at {n} particles: {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Featurisation throughput: vectorised hypervae.physics vs a per-jet Python loop.

Prints jets/s and peak traced memory (tracemalloc: numpy and Python allocations) for
the pairwise features and the projected 2- and 3-point EEC, at 30 and 150 particles,
for the library and for a straightforward per-jet loop doing the same work, measured
in the same run, and their ratio.

Usage:
    python benchmarks/featurisation.py [--jets 2000] [--loop-jets 20]
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import time
import tracemalloc
from collections.abc import Callable
from functools import partial

import numpy as np

from hypervae import physics as P


def make_jets(
    rng: np.random.Generator, n_jets: int, n_particles: int
) -> tuple[np.ndarray, np.ndarray]:
    pt = rng.exponential(30.0, (n_jets, n_particles)) + 0.5
    eta = rng.normal(0, 1, (n_jets, 1)) + rng.normal(0, 0.15, (n_jets, n_particles))
    phi = rng.uniform(-3, 3, (n_jets, 1)) + rng.normal(0, 0.15, (n_jets, n_particles))
    p4 = P.ptetaphim_to_cartesian(pt, eta, phi, 0.13957)
    return p4, np.ones((n_jets, n_particles), bool)


def _y_phi_w(jet: np.ndarray) -> tuple[list[float], list[float], list[float]]:
    y = [0.5 * math.log((e + pz) / (e - pz)) for e, _, _, pz in jet]
    phi = [math.atan2(py, px) for _, px, py, _ in jet]
    pt = [math.hypot(px, py) for _, px, py, _ in jet]
    return y, phi, [v / sum(pt) for v in pt]


def _dr(y, phi, a, b):
    d = (phi[a] - phi[b] + math.pi) % (2 * math.pi) - math.pi
    return math.hypot(y[a] - y[b], d)


def loop_pairwise(p4: np.ndarray, mask: np.ndarray) -> list:
    out = []
    for jet, m in zip(p4, mask, strict=True):
        parts = jet[m]
        y, phi, w = _y_phi_w(parts)
        pt = [math.hypot(p[1], p[2]) for p in parts]
        feats = []
        for a, b in itertools.combinations(range(len(parts)), 2):
            delta = _dr(y, phi, a, b)
            ptmin = min(pt[a], pt[b])
            e = parts[a][0] + parts[b][0]
            p2 = sum((parts[a][k] + parts[b][k]) ** 2 for k in (1, 2, 3))
            feats.append(
                (
                    math.log(max(delta, 1e-8)),
                    math.log(max(ptmin * delta, 1e-8)),
                    math.log(max(ptmin / (pt[a] + pt[b]), 1e-8)),
                    math.log(max(e * e - p2, 1e-8)),
                    w[a] * w[b],
                )
            )
        out.append(feats)
    return out


def loop_eec(p4: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    edges = np.log(P.bin_edges())
    hist = np.zeros((len(p4), edges.size - 1))
    for j, (jet, m) in enumerate(zip(p4, mask, strict=True)):
        y, phi, w = _y_phi_w(jet[m])
        size = len(w)
        for k in range(2, n + 1):
            for tup in itertools.combinations(range(size), k):
                rl = max(_dr(y, phi, a, b) for a, b in itertools.combinations(tup, 2))
                wt = 0.0
                for exps in itertools.product(range(1, n + 1), repeat=k):
                    if sum(exps) == n:
                        coef = math.factorial(n) / math.prod(math.factorial(e) for e in exps)
                        wt += coef * math.prod(w[i] ** e for i, e in zip(tup, exps, strict=True))
                b = int((math.log(rl) - edges[0]) / (edges[-1] - edges[0]) * (edges.size - 1))
                if 0 <= b < edges.size - 1:
                    hist[j, b] += wt
    return hist


def _lib_pairwise(p4: np.ndarray, mask: np.ndarray, chunk: int = 256) -> list:
    """The library's vectorised path, in chunks of jets as pairwise() uses it."""
    return [
        P.pairwise_features(p4[i : i + chunk], mask[i : i + chunk])
        for i in range(0, len(p4), chunk)
    ]


def _lib_eec(p4: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    return P.eec((p4, mask), n=n)


def measure(fn: Callable[[], object], n_jets: int) -> tuple[float, float]:
    tracemalloc.start()
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return n_jets / seconds, peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=2000, help="jets for the library")
    parser.add_argument("--loop-jets", type=int, default=20, help="jets for the Python loop")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(
        f"numpy {np.__version__}; MALLOC_MMAP_THRESHOLD_={os.environ.get('MALLOC_MMAP_THRESHOLD_', 'default')}"
    )
    header = f"{'feature':>9} {'n':>4} {'lib jets/s':>11} {'lib MB':>8} {'loop jets/s':>12} {'loop MB':>8} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for n_particles in (30, 150):
        lib_jets = args.jets if n_particles == 30 else max(args.jets // 10, 20)
        p4, mask = make_jets(rng, lib_jets, n_particles)
        cases = {
            "pairwise": (_lib_pairwise, loop_pairwise),
            "eec n=2": (partial(_lib_eec, n=2), partial(loop_eec, n=2)),
            "eec n=3": (partial(_lib_eec, n=3), partial(loop_eec, n=3)),
        }
        for name, (lib, loop) in cases.items():
            loop_jets = args.loop_jets if not (name == "eec n=3" and n_particles == 150) else 1
            if name != "pairwise" and n_particles == 30:  # same numbers, not just same speed
                np.testing.assert_allclose(lib(p4[:3], mask[:3]), loop(p4[:3], mask[:3]), rtol=1e-9)
            lib_rate, lib_mb = measure(partial(lib, p4, mask), lib_jets)
            loop_rate, loop_mb = measure(partial(loop, p4[:loop_jets], mask[:loop_jets]), loop_jets)
            print(
                f"{name:>9} {n_particles:>4} {lib_rate:>11.0f} {lib_mb:>8.1f} "
                f"{loop_rate:>12.2f} {loop_mb:>8.1f} {lib_rate / loop_rate:>6.0f}x"
            )


if __name__ == "__main__":
    main()

"""Regenerates the real jets shipped in ``hypervae/datasets/data`` with Pythia 8.

Needs the ``pythia`` extra (``pip install 'hypervae[pythia]'``; pythia8mc compiles from
source in about half an hour). Each jet type is generated in chunks with fixed seeds,
so the output is reproducible; chunks run in parallel worker processes.

Usage:
    python scripts/make_sample.py --n-jets 10000 --workers 2 [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import awkward as ak
import numpy as np

import hypervae as hv
from hypervae.datasets.jets import JET_TYPES, jet_type_code

CHUNK = 1000


def _chunk(args: tuple[str, int, int, int]) -> tuple[str, int, ak.Array, float]:
    name, index, n_jets, n_particles = args
    seed = 1000 * (jet_type_code(name) + 1) + index
    start = time.perf_counter()
    jets = hv.datasets.generate_pythia(
        name, n_jets=n_jets, max_particles=n_particles, seed=seed, progress=False
    )
    return name, index, jets, time.perf_counter() - start


def _to_float32(jets: ak.Array) -> ak.Array:
    p = jets.particles
    particles = ak.zip(
        {f: ak.values_astype(p[f], np.float32) for f in ("pt", "eta", "phi", "mass")},
        with_name="Momentum4D",
    )
    return ak.with_field(jets, particles, "particles")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jets", type=int, default=10_000)
    parser.add_argument("--n-particles", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--types", default="".join(JET_TYPES))
    parser.add_argument("--out", type=Path, default=Path(hv.datasets.__file__).parent / "data")
    args = parser.parse_args()
    tasks = []
    for name in args.types:
        left, index = args.n_jets, 0
        while left > 0:
            tasks.append((name, index, min(CHUNK, left), args.n_particles))
            left -= CHUNK
            index += 1
    results: dict[str, dict[int, ak.Array]] = {name: {} for name in args.types}
    cpu_seconds: dict[str, float] = dict.fromkeys(args.types, 0.0)
    wall = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        for name, index, jets, seconds in pool.map(_chunk, tasks):
            results[name][index] = jets
            cpu_seconds[name] += seconds
            print(f"{name} chunk {index}: {len(jets)} jets in {seconds:.0f} s", flush=True)
    info_path = args.out / "sample.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {"splits": {}}
    info["generator"] = {
        "program": "Pythia 8.3 (pythia8mc) + FastJet anti-kT R=0.8",
        "settings": "hypervae.datasets.generate_pythia defaults: 13 TeV, pT-hat 800-1300 GeV, "
        "900 < jet pT < 1100 GeV, |eta| < 2.5, parent-matched, decay quarks contained",
        "n_particles": args.n_particles,
        "seeds": "1000 * (type code + 1) + chunk index, chunks of 1000 jets",
        "stored_as": "float32 (pt, eta, phi, mass) particles, zstd parquet",
    }
    info.setdefault("jets_per_cpu_second", {})
    for name in args.types:
        jets = ak.concatenate([results[name][k] for k in sorted(results[name])])
        jets = _to_float32(jets)
        n = len(jets)
        n_train, n_val = round(0.7 * n), round(0.15 * n)
        info["splits"][name] = {"train": n_train, "val": n_val, "test": n - n_train - n_val}
        info["jets_per_cpu_second"][name] = round(n / cpu_seconds[name], 2)
        path = hv.datasets.save_parquet(jets, args.out / f"{name}.parquet")
        print(f"{name}: {n} jets -> {path} ({path.stat().st_size / 1e6:.2f} MB)")
    info_path.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    print(f"done in {time.perf_counter() - wall:.0f} s wall")


if __name__ == "__main__":
    main()

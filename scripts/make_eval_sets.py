"""Generates the never-trained evaluation jets: two independent Pythia 8 sets per jet type.

The shipped sample (``hypervae/datasets/data``) holds 10,000 jets per type, of which the
model trains on 70 %; its 1,500-jet test split gives a truth floor 3-4x looser than a
10,000-jet one. This script generates, with the ``pythia`` extra and fixed seeds that
differ from the shipped sample's, two sets per type (``eval``: compared with generated
jets; ``floor``: compared with ``eval`` to give the truth floor at the same size), with
up to 150 leading particles per jet (the VAE evaluation keeps the 30 leading ones; the
taggers' 150-particle benchmark can use all). They are cached outside the package
(default ``~/.cache/hypervae/eval``), never shipped, and regenerated when missing.

Seeds: ``SEED_BASE[set] + 1000 * (type code + 1) + chunk index`` with chunks of 1,000
jets (the shipped sample uses ``1000 * (code + 1) + index``, so no seed repeats).

Usage:
    python scripts/make_eval_sets.py --n-jets 10000 --workers 2 [-o DIR] [--types gqtwz]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import awkward as ak
import numpy as np

CHUNK = 1000
#: Seed offset of each set (the shipped sample's seeds are below 10,000).
SEED_BASE = {"eval": 100_000, "floor": 200_000}
#: Default cache folder.
DEFAULT_DIR = Path(os.environ.get("HYPERVAE_CACHE", Path.home() / ".cache" / "hypervae")) / "eval"


def _chunk(task: tuple[str, str, int, int, int]) -> tuple[str, str, int, ak.Array, float]:
    import hypervae.datasets as hd
    from hypervae.datasets.jets import jet_type_code

    which, name, index, n_jets, n_particles = task
    seed = SEED_BASE[which] + 1000 * (jet_type_code(name) + 1) + index
    start = time.perf_counter()
    jets = hd.generate_pythia(
        name, n_jets=n_jets, max_particles=n_particles, seed=seed, progress=False
    )
    return which, name, index, jets, time.perf_counter() - start


def main() -> None:
    from hypervae.datasets.jets import JET_TYPES, save_parquet

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jets", type=int, default=10_000, help="jets per type and set")
    parser.add_argument("--n-particles", type=int, default=150)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--types", default="".join(JET_TYPES))
    parser.add_argument(
        "--sets", default="eval",
        help="eval (default), or eval,floor to also generate a second set for the floor "
        "(benchmarks/results.py otherwise uses the shipped sample, an independent Pythia "
        "set of 10,000 jets per type, as the floor)",
    )  # fmt: skip
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    sets = args.sets.split(",")
    tasks = []
    for which in sets:
        for name in args.types:
            target = args.output / which / f"{name}.parquet"
            if target.exists():
                print(f"{target} exists: kept", flush=True)
                continue
            left, index = args.n_jets, 0
            while left > 0:
                tasks.append((which, name, index, min(CHUNK, left), args.n_particles))
                left -= CHUNK
                index += 1
    results: dict[tuple[str, str], dict[int, ak.Array]] = {}
    seconds: dict[str, float] = {}
    expected = -(-args.n_jets // CHUNK)  # chunks per (set, type)
    with ProcessPoolExecutor(args.workers) as pool:
        for which, name, index, jets, spent in pool.map(_chunk, tasks):
            results.setdefault((which, name), {})[index] = jets
            seconds[name] = seconds.get(name, 0.0) + spent
            print(f"{which} {name} chunk {index}: {len(jets)} jets in {spent:.0f} s", flush=True)
            if len(results[(which, name)]) == expected:
                parts = results.pop((which, name))
                out = args.output / which
                out.mkdir(parents=True, exist_ok=True)
                merged = ak.concatenate([parts[i] for i in sorted(parts)])
                p = merged.particles
                particles = ak.zip(
                    {f: ak.values_astype(p[f], np.float32) for f in ("pt", "eta", "phi", "mass")},
                    with_name="Momentum4D",
                )
                save_parquet(ak.with_field(merged, particles, "particles"), out / f"{name}.parquet")
                print(f"wrote {out / f'{name}.parquet'} ({len(merged)} jets)", flush=True)
    info_path = args.output / "info.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    info.update(
        {
            "generator": "Pythia 8.3 (pythia8mc) + FastJet anti-kT R=0.8, generate_pythia defaults",
            "seeds": "SEED_BASE[set] + 1000 * (type code + 1) + chunk index, chunks of 1000",
            "seed_base": SEED_BASE,
            "n_jets": args.n_jets,
            "n_particles": args.n_particles,
            "stored_as": "float32 (pt, eta, phi, mass) particles, parquet",
        }
    )
    info.setdefault("cpu_seconds", {}).update(seconds)
    args.output.mkdir(parents=True, exist_ok=True)
    info_path.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()

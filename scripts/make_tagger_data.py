"""Generates the 150-particle, 5-class tagging data set (g, q, t, W, Z jets at 1 TeV).

Like the hls4ml LHC jet data set the PHAT-JeT paper used: Pythia 8 + FastJet (the
``pythia`` extra; :func:`hypervae.datasets.generate_pythia`), 13 TeV proton collisions,
anti-kT R = 0.8 jets with 900 < pT < 1100 GeV matched to their parent parton or boson,
the 150 leading particles of each jet. Each class is generated in chunks of ``--chunk``
jets with the fixed seed ``1000 * (code + 1) + 500 + chunk index`` (``--seed-offset``
500 keeps them apart from the seeds of ``scripts/make_sample.py``, which start at
``1000 * (code + 1)``), so the output is reproducible. The 16 per-particle features of the hls4ml files are computed by
the taggers from the stored 4-momenta (:func:`hypervae.taggers.hls4ml_features`).

Output (not shipped with the package): ``<output>/<type>.npz`` per jet type, holding
``p4 [N, 150, 4]`` float32 ``(E, px, py, pz)`` in GeV, ``mask [N, 150]``, ``jet_type
[N]`` and ``seeds``, plus ``manifest.json``. A class whose file already holds at least
``--n-jets`` jets made with the same settings is skipped (the cache).

Usage:
    python scripts/make_tagger_data.py --n-jets 30000 [-o DIR] [--types g q t w z]

The default folder is ``~/.cache/hypervae/taggers``. Read it back with
:func:`load_tagger_data`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_OUTPUT = Path("~/.cache/hypervae/taggers").expanduser()
JET_TYPES = ("g", "q", "t", "w", "z")
N_PARTICLES = 150

#: ``generator(jet_type, n_jets, n_particles, seed) -> awkward jets`` (dependency injection).
Generator = Callable[[str, int, int, int], Any]


def pythia_generator(jet_type: str, n_jets: int, n_particles: int, seed: int) -> Any:
    """The real generator: :func:`hypervae.datasets.generate_pythia` at its defaults."""
    from hypervae.datasets import generate_pythia

    return generate_pythia(
        jet_type, n_jets=n_jets, max_particles=n_particles, seed=seed, progress=False
    )


def _seed(jet_type: str, chunk: int, offset: int) -> int:
    return 1000 * (JET_TYPES.index(jet_type) + 1) + chunk + offset


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {"n_particles": N_PARTICLES, "chunk": args.chunk, "seed_offset": args.seed_offset}


def _cached(path: Path, n_jets: int, settings: dict[str, Any]) -> bool:
    if not path.is_file():
        return False
    with np.load(path, allow_pickle=False) as f:
        stored = json.loads(str(f["settings"])) if "settings" in f else None
        return stored == settings and int(f["jet_type"].shape[0]) >= n_jets


def make_class(
    jet_type: str, args: argparse.Namespace, generator: Generator
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Generates ``args.n_jets`` jets of one type in seeded chunks; padded arrays."""
    from hypervae.physics.kinematics import to_padded

    p4s, masks, seeds = [], [], []
    done, chunk = 0, 0
    while done < args.n_jets:
        n = min(args.chunk, args.n_jets - done)
        seed = _seed(jet_type, chunk, args.seed_offset)
        jets = generator(jet_type, n, N_PARTICLES, seed)
        p4, mask = to_padded(jets, max_particles=N_PARTICLES, dtype=np.float32)
        if p4.shape[0] != n:
            msg = (
                f"generator returned {p4.shape[0]} jets for {n} requested ({jet_type}, seed {seed})"
            )
            raise RuntimeError(msg)
        p4s.append(p4)
        masks.append(mask)
        seeds.append(seed)
        done += n
        chunk += 1
    return np.concatenate(p4s), np.concatenate(masks), seeds


def main(argv: Sequence[str] | None = None, generator: Generator | None = None) -> Path:
    """Runs the command; returns the output folder. ``generator`` replaces Pythia (tests)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jets", type=int, default=30000, help="jets per type")
    parser.add_argument("--types", nargs="+", default=list(JET_TYPES), choices=JET_TYPES)
    parser.add_argument("--chunk", type=int, default=1000, help="jets per seeded chunk")
    parser.add_argument("--seed-offset", type=int, default=500, help="< 1000 - chunks")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.n_jets < 1 or args.chunk < 1:
        parser.error("--n-jets and --chunk must be >= 1")
    if args.seed_offset + -(-args.n_jets // args.chunk) > 1000:
        parser.error(
            "--seed-offset plus the number of chunks must stay <= 1000 (seeds of types overlap)"
        )
    gen = generator or pythia_generator
    out = args.output.expanduser()
    out.mkdir(parents=True, exist_ok=True)
    settings = _settings(args)
    from hypervae._io import atomic_write

    manifest: dict[str, Any] = {"settings": settings, "classes": {}}
    for jet_type in args.types:
        path = out / f"{jet_type}.npz"
        if _cached(path, args.n_jets, settings):
            print(f"{jet_type}: cached in {path}", file=sys.stderr)
            manifest["classes"][jet_type] = {"file": path.name, "cached": True}
            continue
        start = time.perf_counter()
        p4, mask, seeds = make_class(jet_type, args, gen)
        code = JET_TYPES.index(jet_type)

        def write(
            tmp: Path,
            p4: np.ndarray = p4,
            mask: np.ndarray = mask,
            seeds: list[int] = seeds,
            code: int = code,
        ) -> None:
            with open(tmp, "wb") as f:
                np.savez(
                    f,
                    p4=p4,
                    mask=mask,
                    jet_type=np.full(p4.shape[0], code, dtype=np.int64),
                    seeds=np.asarray(seeds),
                    settings=np.asarray(json.dumps(settings, sort_keys=True)),
                )

        atomic_write(path, write)
        seconds = time.perf_counter() - start
        print(f"{jet_type}: {p4.shape[0]} jets in {seconds:.0f} s -> {path}", file=sys.stderr)
        manifest["classes"][jet_type] = {
            "file": path.name,
            "n_jets": int(p4.shape[0]),
            "seeds": seeds,
        }
    atomic_write(out / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
    return out


def load_tagger_data(
    folder: str | Path = DEFAULT_OUTPUT, types: Sequence[str] = JET_TYPES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reads the folder back: ``p4 [N, 150, 4]`` float64, ``mask``, ``jet_type`` codes."""
    p4s, masks, codes = [], [], []
    for jet_type in types:
        path = Path(folder).expanduser() / f"{jet_type}.npz"
        if not path.is_file():
            msg = f"folder: {path} is missing; run scripts/make_tagger_data.py -o {folder}"
            raise FileNotFoundError(msg)
        with np.load(path, allow_pickle=False) as f:
            p4s.append(f["p4"].astype(np.float64))
            masks.append(f["mask"])
            codes.append(f["jet_type"])
    return np.concatenate(p4s), np.concatenate(masks), np.concatenate(codes)


if __name__ == "__main__":
    main()

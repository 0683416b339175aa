"""Generates the HH -> 4b event set: signal mass bins, QCD multijet and t tbar (Pythia 8).

Whole events as one particle stream (:func:`hypervae.datasets.events.generate_events`:
visible final-state particles with |eta| < 2.5 and pT > 0.5 GeV, the 256 leading in pT)
for the jet-free classifier of ``examples/hh4b_event_classifier.py``. Classes: the signal
X (500 GeV) -> h1 h2 -> b bbar b bbar in the six ordered bins of (m_h1, m_h2)
(``HH4B_SIGNAL_BINS``, 50 GeV wide between 50 and 200 GeV), then ``qcd`` and ``ttbar``.
``--n-events`` is per class group: the signal's are shared equally by its six bins.

Events come in chunks of ``--chunk`` with the seed ``200000 + 1000 * class + chunk``;
every signal chunk draws its own (m_h1, m_h2) uniformly inside its bin from that seed, so
each bin holds many mass points. Chunks run in ``--workers`` processes (1: in this one).

Output (never shipped): ``<output>/<class>.npz`` holding ``p4 [N, 256, 4]`` float32
(E, px, py, pz) in GeV, ``mask``, ``label``, ``masses [N, 2]`` (the true (m_h1, m_h2);
NaN for backgrounds) and ``seeds``, plus ``manifest.json``. A class already there with
at least the requested events and the same settings is skipped.

Usage:
    python scripts/make_hh4b_data.py --n-events 20000 --workers 2 [-o DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_OUTPUT = Path("~/.cache/hypervae/hh4b").expanduser()
SEED_BASE = 200000
M_X = 500.0
N_PARTICLES = 256


def class_names() -> list[str]:
    """``sig_<i1><i2>`` for each signal bin, then the backgrounds."""
    from hypervae.datasets.events import HH4B_BACKGROUNDS, HH4B_SIGNAL_BINS

    return [f"sig_{i}{j}" for i, j in HH4B_SIGNAL_BINS] + list(HH4B_BACKGROUNDS)


def chunk_masses(label: int, seed: int) -> tuple[float, float]:
    """The (m_h1, m_h2) of a signal chunk: uniform in its bin, drawn from the chunk seed."""
    from hypervae.datasets.events import HH4B_MASS_EDGES, HH4B_SIGNAL_BINS

    i1, i2 = HH4B_SIGNAL_BINS[label]
    rng = np.random.default_rng(seed)
    a = rng.uniform(HH4B_MASS_EDGES[i1], HH4B_MASS_EDGES[i1 + 1])
    b = rng.uniform(HH4B_MASS_EDGES[i2], HH4B_MASS_EDGES[i2 + 1])
    return max(a, b), min(a, b)


def _chunk(task: tuple[int, int, int]) -> tuple[int, int, np.ndarray, np.ndarray, np.ndarray]:
    from hypervae.datasets.events import HH4B_SIGNAL_BINS, generate_events

    label, seed, n = task
    if label < len(HH4B_SIGNAL_BINS):
        masses = chunk_masses(label, seed)
        p4, mask = generate_events("signal", n, seed, M_X, masses, N_PARTICLES)
        truth = np.tile(np.asarray(masses, dtype=np.float32), (n, 1))
    else:
        process = class_names()[label]
        p4, mask = generate_events(process, n, seed, max_particles=N_PARTICLES)
        truth = np.full((n, 2), np.nan, dtype=np.float32)
    return label, seed, p4.astype(np.float32), mask, truth


def _tasks(label: int, n_events: int, chunk: int) -> list[tuple[int, int, int]]:
    sizes = [min(chunk, n_events - start) for start in range(0, n_events, chunk)]
    return [(label, SEED_BASE + 1000 * label + k, n) for k, n in enumerate(sizes)]


def _cached(path: Path, n_events: int, settings: dict[str, Any]) -> bool:
    if not path.is_file():
        return False
    with np.load(path, allow_pickle=False) as f:
        stored = json.loads(str(f["settings"])) if "settings" in f else None
        return stored == settings and int(f["label"].shape[0]) >= n_events


def main(argv: Sequence[str] | None = None) -> Path:
    """Runs the command; returns the output folder."""
    from tqdm.auto import tqdm

    from hypervae._io import atomic_write
    from hypervae.datasets.events import HH4B_SIGNAL_BINS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-events", type=int, default=20000, help="events per class group")
    parser.add_argument("--chunk", type=int, default=250, help="events per seeded chunk")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if min(args.n_events, args.chunk, args.workers) < 1:
        parser.error("--n-events, --chunk and --workers must be >= 1")
    n_sig = len(HH4B_SIGNAL_BINS)
    per_class = [-(-args.n_events // n_sig)] * n_sig + [args.n_events] * 2
    if max(-(-n // args.chunk) for n in per_class) > 1000:
        parser.error("--n-events / --chunk must stay <= 1000 chunks per class (seeds overlap)")
    out = args.output.expanduser()
    out.mkdir(parents=True, exist_ok=True)
    settings = {"chunk": args.chunk, "m_x": M_X, "n_particles": N_PARTICLES, "seed_base": SEED_BASE}
    names = class_names()
    todo = [
        c for c in range(len(names)) if not _cached(out / f"{names[c]}.npz", per_class[c], settings)
    ]
    tasks = [t for c in todo for t in _tasks(c, per_class[c], args.chunk)]
    results: dict[int, list[Any]] = {c: [] for c in todo}
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) if args.workers > 1 else nullcontext() as pool:
        bar = tqdm(total=sum(t[2] for t in tasks), desc="HH->4b events", unit="event")
        for label, seed, p4, mask, truth in (pool.map if pool else map)(_chunk, tasks):
            results[label].append((seed, p4, mask, truth))
            bar.update(len(p4))
            if len(results[label]) == len(_tasks(label, per_class[label], args.chunk)):
                _write(out / f"{names[label]}.npz", label, results.pop(label), settings)
        bar.close()
    manifest = {
        "settings": settings,
        "classes": names,
        "events": dict(zip(names, per_class, strict=True)),
        "seconds": round(time.perf_counter() - start, 1),
    }
    atomic_write(out / "manifest.json", json.dumps(manifest, indent=1))
    print(f"{len(tasks)} chunks in {manifest['seconds']} s -> {out}", file=sys.stderr)
    return out


def _write(path: Path, label: int, chunks: list[Any], settings: dict[str, Any]) -> None:
    from hypervae._io import atomic_write

    chunks.sort(key=lambda c: c[0])
    p4 = np.concatenate([c[1] for c in chunks])

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(
                f,
                p4=p4,
                mask=np.concatenate([c[2] for c in chunks]),
                masses=np.concatenate([c[3] for c in chunks]),
                label=np.full(len(p4), label, dtype=np.int64),
                seeds=np.asarray([c[0] for c in chunks]),
                settings=np.asarray(json.dumps(settings, sort_keys=True)),
            )

    atomic_write(path, write)


def load_hh4b_data(
    folder: str | Path = DEFAULT_OUTPUT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Reads the folder back: ``p4`` float32, ``mask``, ``label``, ``masses`` over all classes."""
    parts = []
    for name in class_names():
        path = Path(folder).expanduser() / f"{name}.npz"
        if not path.is_file():
            msg = f"folder: {path} is missing; run scripts/make_hh4b_data.py -o {folder}"
            raise FileNotFoundError(msg)
        with np.load(path, allow_pickle=False) as f:
            parts.append((f["p4"], f["mask"], f["label"], f["masses"]))
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(4))  # type: ignore[return-value]


if __name__ == "__main__":
    main()

"""Where a flow model's jet-mass error comes from: the drawn scalar or the flow.

Per jet type, on the never-trained evaluation set (``scripts/make_eval_sets.py``), it
samples ``--n-jets`` jets and prints the W1 distance of the particle-sum m/pT (leading 30
particles, with their masses, as the jets are stored) to the real jets for: the truth
floor (the shipped sample), the jet scalar the decoder drew (after its calibration, if
any), the massless particle sum the flow produced, and the generated jets; with the
means, spreads and the r.m.s. of ln(drawn / produced). docs/model.md quotes its output
for the decoder shipped before the calibration (``--model`` a model directory of it).

Usage:
    python benchmarks/flow_mass_diagnosis.py [--model hypervae-jets-30] [--types tqzgw]
        [--n-jets 5000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import torch
import vector

import hypervae as hv
from hypervae.model.coordinates import relative_log_mass

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import DEFAULT_EVAL_DIR, load_sets


def w1(a: np.ndarray, b: np.ndarray) -> float:
    """1D Wasserstein distance of two equal-size samples."""
    return float(np.mean(np.abs(np.sort(a) - np.sort(b))))


def m_over_pt(jets: ak.Array) -> np.ndarray:
    total = ak.sum(jets.particles, axis=1)
    return np.asarray(total.mass / total.pt, dtype=np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hypervae-jets-30")
    parser.add_argument("--types", default="tqzgw")
    parser.add_argument("--n-jets", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    vector.register_awkward()
    model = hv.HyperVAE.from_pretrained(args.model)
    flow = model.particle_decoder.flow
    cfg = flow.config
    drawn: list[np.ndarray] = []
    produced: list[np.ndarray] = []
    integrate = flow.integrate_noise

    def recording(*a: object, **k: object) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        coords, mask, scalar = integrate(*a, **k)  # type: ignore[arg-type]
        drawn.append((scalar.double() * cfg.scalar_std + cfg.scalar_mean).numpy())
        produced.append(relative_log_mass(coords, mask).double().numpy())
        return coords, mask, scalar

    flow.integrate_noise = recording  # type: ignore[method-assign]
    sets, _ = load_sets(Path(DEFAULT_EVAL_DIR), args.types, False)
    n = args.n_jets
    print("W1 of m/pT x1e-3 against the real jets; mean / std of m/pT")
    for t in args.types:
        real, floor = sets[t]
        drawn.clear()
        produced.clear()
        gen = model.sample(n, jet_type=t, seed=args.seed)
        s, a = np.exp(np.concatenate(drawn)), np.exp(np.concatenate(produced))
        r, f, g = m_over_pt(real[:n]), m_over_pt(floor[:n]), m_over_pt(gen)
        rms = float(np.sqrt(np.mean((np.log(s) - np.log(a)) ** 2)))
        print(
            f"{t}: floor {1e3 * w1(r, f):.2f}  drawn {1e3 * w1(r, s):.2f}  "
            f"flow {1e3 * w1(r, a):.2f}  jets {1e3 * w1(r, g):.2f} | real {r.mean():.4f} / "
            f"{r.std():.4f}, drawn {s.mean():.4f} / {s.std():.4f}, flow {a.mean():.4f} / "
            f"{a.std():.4f} | r.m.s. ln(drawn / flow) {rms:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()

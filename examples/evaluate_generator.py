"""Evaluate any generator's jets against real ones, next to the truth floor.

``hypervae.evaluation.evaluate`` takes jets as awkward arrays in physical units (GeV),
whatever produced them. This script compares a generator with held-out real jets (the
shipped test split) and, as the reference a perfect generator would reach with the same
number of jets, an independent real sample (the validation split): the *truth floor*.
All jet-level fields (which define the relative coordinates of the JetNet metrics) are
computed from the stored particles for every sample, so that real and generated jets
follow the same convention.

The generator is one of

* a toy "generator" (default): real training jets with every particle's pT smeared by
  5 % and its direction by 0.01 in (eta, phi), rebuilt with
  ``hypervae.datasets.make_jets`` - the way to wrap any other generator's output;
* ``--model NAME|DIR``: a HyperVAE (``HyperVAE.from_pretrained``);
* ``--generated FILE``: a parquet file written by ``hypervae.datasets.save_parquet``
  (for example by ``hypervae generate``).

Usage:
    python examples/evaluate_generator.py [--jet-type t] [--jets 1500] [--eec 2 3]
        [--model NAME|DIR | --generated FILE] [--output metrics.json]
"""

from __future__ import annotations

import argparse
import json

import awkward as ak
import numpy as np

import hypervae as hv
from hypervae.evaluation import evaluate


def smeared_jets(jets: ak.Array, seed: int = 0) -> ak.Array:
    """A toy generator: real jets with smeared particles, as a jets array (GeV)."""
    rng = np.random.default_rng(seed)
    p4, mask = hv.physics.to_padded(jets)  # [N, P, 4] (E, px, py, pz), [N, P]
    pt, eta, phi, mass = hv.physics.cartesian_to_ptetaphim(p4)
    pt = pt * rng.lognormal(0.0, 0.05, pt.shape)
    eta = eta + rng.normal(0.0, 0.01, eta.shape)
    phi = phi + rng.normal(0.0, 0.01, phi.shape)
    p4 = hv.physics.ptetaphim_to_cartesian(pt, eta, phi, mass)
    particles = hv.physics.from_padded(p4, mask)  # N * var * Momentum4D
    particles = particles[ak.argsort(particles.pt, axis=1, ascending=False)]
    return hv.datasets.make_jets(particles, ak.to_numpy(jets.jet_type))


def from_particles(jets: ak.Array) -> ak.Array:
    """The same jets with jet-level fields recomputed from the stored particles."""
    return hv.datasets.make_jets(jets.particles, ak.to_numpy(jets.jet_type))


def value(entry: dict) -> float:
    """The display value of one metric entry (raw value divided by its scale)."""
    raw = entry["mean"] if "mean" in entry else entry["value"]
    return float(raw) / float(entry.get("scale", 1.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jet-type", default="t", choices=hv.datasets.JET_TYPES)
    parser.add_argument("--jets", type=int, default=1500, help="jets in every sample")
    parser.add_argument("--eec", type=int, nargs="*", default=[2, 3], help="EEC orders")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", help="HyperVAE directory or shipped model name")
    source.add_argument("--generated", help="parquet file of generated jets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", help="write both metric dicts as JSON")
    args = parser.parse_args()

    # Relative coordinates (W1M, W1P, W1EFP, FPD, KPD) use the jets' pt, eta, phi fields.
    # The shipped jets carry the clustered jet (all constituents, not only the 30 stored),
    # generated jets the sum of their particles: compare like with like by rebuilding the
    # real jets from their particles (make_jets computes the fields from the particle sum).
    real = from_particles(hv.datasets.load_sample(args.jet_type, split="test")[: args.jets])
    other_real = from_particles(hv.datasets.load_sample(args.jet_type, split="val")[: args.jets])
    if args.model:
        model = hv.HyperVAE.from_pretrained(args.model)
        gen = model.sample(len(real), jet_type=args.jet_type, seed=args.seed)
        name = f"HyperVAE {args.model}"
    elif args.generated:
        gen = from_particles(hv.datasets.load_parquet(args.generated)[: args.jets])
        name = args.generated
    else:
        train = hv.datasets.load_sample(args.jet_type, split="train")[: args.jets]
        gen = smeared_jets(train, seed=args.seed)
        name = "smeared real jets"

    options = {"eec_n": tuple(args.eec), "seed": 42}
    metrics = {
        "generator": evaluate(real, gen, **options),
        "truth_floor": evaluate(real, other_real, **options),
    }
    print(f"{len(real)} real {args.jet_type} jets against {len(gen)} from: {name}")
    print(f"{'metric':>16} {'generator':>12} {'truth floor':>12} {'ratio':>7}")
    for key, entry in metrics["generator"].items():
        if not isinstance(entry, dict) or not ({"mean", "value"} & set(entry)):
            continue
        gen_value, floor = value(entry), value(metrics["truth_floor"][key])
        scale = entry.get("scale", 1.0)
        unit = f"x{scale:.0e}" if scale != 1.0 else entry.get("unit", "")
        # FPD and KPD are unbiased estimates whose floor is ~0: a ratio means nothing there
        ratio = f"{gen_value / floor:.1f}" if "mean" in entry and floor > 0 else "-"
        print(f"{key:>16} {gen_value:>12.4g} {floor:>12.4g} {ratio:>7}  {unit}")
    if args.output:
        with open(args.output, "w") as f:
            json.dump(metrics, f, indent=1)
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

"""Does a per-rank angular calibration close the fast model's gluon W1EFP? (It does not.)

The experiment behind docs/model.md's "angular calibration" paragraph. Beside the shipped
pT calibration (:func:`hypervae.model.flow.fit_pt_calibration`, a quantile map of each
particle's ``ln pt_rel`` per jet type and pT rank), this tries the same map on each
particle's ``ln dR`` to the particle-sum axis: fitted on the shipped sample's training
and validation jets (and the tagger jets with ``--extra-jets``) against ``--draws`` jets
sampled from the model, applied by scaling each particle's ``(eta_rel, phi_rel)``
radially, then the coordinates re-expressed relative to the new particle sum. Two places
are tried: before the decoder's mass projection (the projection then restores each jet's
drawn mass) and after it (the mass moves with the angles). It prints the ratios to the
truth floor on the never-trained evaluation set (``scripts/make_eval_sets.py``) of the
model as shipped and of both variants, W1EFP graph by graph, and writes them as JSON.

The map is patched onto the loaded decoder here, not offered by the library: it is not
an improvement (see the table this prints, recorded in
``benchmarks/results/angle_calibration.json``).

Usage:
    python benchmarks/angle_calibration.py [--model hypervae-jets-30-fast] [--types g]
        [--draws 20000] [--knots 128] [--extra-jets ~/.cache/hypervae/taggers]
        [--output benchmarks/results/angle_calibration.json]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
import types
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import torch
from torch import Tensor

import hypervae as hv
from hypervae.model.calibration import ScalarCalibration
from hypervae.model.coordinates import (
    ranked_log_pt,
    relative_coordinates,
    scale_to_log_mass,
    to_four_vectors,
)
from hypervae.model.flow import _fit_where_populated, _kept_coordinates

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_flow_model import tagger_jets
from results import DEFAULT_EVAL_DIR, METRICS, _value, as_jets, floor_reference, load_sets

TYPES = "gqtwz"


def ranked_log_dr(jets: ak.Array, p: int) -> tuple[Tensor, Tensor]:
    """Group ``type * p + pT rank`` and ``ln dR`` to the particle-sum axis of every kept
    particle (the leading ``p``)."""
    codes, coords, mask = _kept_coordinates(jets, p)
    rank, _ = ranked_log_pt(coords, mask)
    log_dr = 0.5 * torch.log((coords[..., 0] ** 2 + coords[..., 1] ** 2).clamp(min=1e-30))
    return (codes[:, None] * p + rank)[mask], log_dr[mask]


def calibrate_angles(
    coords: Tensor, mask: Tensor, jet_type: Tensor, cal: ScalarCalibration
) -> Tensor:
    """Each particle's ``(eta_rel, phi_rel)`` scaled so its ``ln dR`` goes through the map
    of its (type, pT rank); re-expressed relative to the new particle sum."""
    keep = mask.bool()
    p = coords.shape[1]
    rank, _ = ranked_log_pt(coords, keep)
    group = jet_type.long()[:, None] * p + rank
    log_dr = 0.5 * torch.log((coords[..., 0] ** 2 + coords[..., 1] ** 2).clamp(min=1e-30))
    mapped = cal(log_dr.reshape(-1), group.reshape(-1)).reshape(log_dr.shape)
    angles = coords[..., :2] * torch.exp(mapped - log_dr)[..., None]
    coords = torch.where(keep[..., None], torch.cat([angles, coords[..., 2:]], -1), 0.0)
    return relative_coordinates(to_four_vectors(coords, keep), keep)


def patch(model: hv.HyperVAE, cal: ScalarCalibration, where: str) -> None:
    """Replaces the decoder's end-point mapping by one with the angular map ``where``
    ("before" / "after" the mass projection; "none": the shipped mapping)."""
    flow = model.particle_decoder.flow

    def finish(self: Any, x: Tensor, mask: Tensor, scalar: Tensor, jet_type: Tensor) -> Tensor:
        cfg = self.config
        coords = x.double() * self.feature_std.double() + self.feature_mean.double()
        coords = torch.where(mask[..., None], coords, 0.0)
        if self.pt_calibration is not None:
            coords = self.calibrate_pt(coords, mask, jet_type)
        log_m = scalar.double() * cfg.scalar_std + cfg.scalar_mean
        if where == "before":
            coords = calibrate_angles(coords, mask, jet_type, cal)
        if cfg.project_mass:
            coords = scale_to_log_mass(coords, mask, log_m)
        if where == "after":
            coords = calibrate_angles(coords, mask, jet_type, cal)
        return coords

    flow._finish = types.MethodType(finish, flow)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hypervae-jets-30-fast")
    parser.add_argument("--types", default="g")
    parser.add_argument(
        "--draws", type=int, default=20_000, help="sampled jets per type for the fit"
    )
    parser.add_argument("--knots", type=int, default=128)
    parser.add_argument("--extra-jets", metavar="DIR", help="scripts/make_tagger_data.py's folder")
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--seed", type=int, default=11, help="sampling seed (results.py's)")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.time()

    model = hv.HyperVAE.from_pretrained(args.model).eval()
    p = model.config.max_particles
    codes = [TYPES.index(t) for t in args.types]
    real = [hv.datasets.load_sample(t, split=s) for t in args.types for s in ("train", "val")]
    if args.extra_jets:
        real.append(tagger_jets(args.extra_jets))
    real = ak.concatenate([r[["particles", "jet_type"]] for r in real])
    real = real[np.isin(ak.to_numpy(real.jet_type), codes)]
    real_group, real_value = ranked_log_dr(real, p)

    cal = ScalarCalibration(args.knots, len(TYPES) * p)
    gen = [ranked_log_dr(model.sample(args.draws, jet_type=c, seed=100 + c), p) for c in codes]
    gen_group, gen_value = torch.cat([g for g, _ in gen]), torch.cat([v for _, v in gen])
    _fit_where_populated(cal, gen_group, gen_value, real_group, real_value)
    print(
        f"fitted on {len(real):,} real jets: ranks mapped per type",
        cal.fitted.view(len(TYPES), p).sum(1).tolist(),
    )

    sets, _ = load_sets(args.eval_dir, args.types, allow_small=False)
    out: dict[str, Any] = {
        "command": shlex.join(["python", *sys.argv]),
        "model": args.model,
        "types": {},
    }
    header = " ".join(f"{k:>6}" for k in METRICS) + "   W1EFP by graph"
    for t, (ev, floor_jets) in sets.items():
        floor = hv.evaluation.evaluate(ev, floor_jets, eec_n=())
        rows = out["types"][t] = {}
        print(f"\n{t}: ratio to the truth floor ({len(ev):,} eval jets)\n{'':>8} {header}")
        for where in ("none", "before", "after"):
            patch(model, cal, where)
            jets = as_jets(model.sample(len(ev), jet_type=t, seed=args.seed, batch_size=1000))
            m = hv.evaluation.evaluate(ev, jets, eec_n=())
            ratios = {k: _value(m[k])[0] / floor_reference(floor[k]) for k in METRICS}
            graphs = [
                e["mean"] / floor_reference(f)
                for e, f in zip(m["w1efp"]["per_efp"], floor["w1efp"]["per_efp"], strict=True)
            ]
            rows[where] = {"floor_ratios": ratios, "w1efp_graph_ratios": graphs}
            cells = " ".join(f"{ratios[k]:6.2f}" for k in METRICS)
            print(f"{where:>8} {cells}   {' '.join(f'{g:.2f}' for g in graphs)}", flush=True)
    out["seconds"] = round(time.time() - start)
    if args.output:
        args.output.write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

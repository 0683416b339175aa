"""Builds the candidate shipped flow-decoder model from its trained pieces.

Either a flow-decoder model trained by ``hypervae train`` (``--model RUN/final``, the
encoder, heads and prior of its ``--init-from`` source frozen), or a slot model and a
:class:`~hypervae.model.flow_decoder.FlowDecoder` trained on its frozen latent
(``--vae`` and ``--flow``, from ``benchmarks/flow_decoder.py train``; joined by
:func:`hypervae.model.with_flow_decoder`). Then, on the shipped sample's training jets
of all five types: the kept-pT fraction per type, and the jet-scalar calibration
(:func:`hypervae.model.flow.fit_scalar_calibration`, ``--calibration-knots``, 0 for
none) with the mass projection (off with ``--no-project-mass``), and the particle
masses per type and pT rank (:func:`hypervae.model.flow.fit_particle_masses`,
``--mass-categories``, 0 for massless particles), and last the particles' pT spectrum
per type and pT rank (:func:`hypervae.model.flow.fit_pt_calibration`,
``--pt-calibration-knots``, 0 for none, on the same real jets as the scalar; the
generated side is sampled from the model built so far). A model distilled by
``hypervae distill`` can be the ``--model``. Saved with the
source's ``run.json`` (its graph settings, which ``reconstruct`` uses).

Usage:
    python benchmarks/build_flow_model.py --model runs/flow/final \\
        --output /work/cache/hypervae-jets-30-flow
    python benchmarks/build_flow_model.py --vae hypervae-jets-30-slots \\
        --flow /work/cache/flow_decoder --output /work/cache/hypervae-jets-30-flow
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import torch

import hypervae as hv
from hypervae.model import HyperVAE, with_flow_decoder
from hypervae.model.flow import fit_particle_masses, fit_pt_calibration, fit_scalar_calibration
from hypervae.model.flow_decoder import FlowDecoder
from hypervae.model.pretrained import model_directory
from hypervae.physics.kinematics import from_padded


def tagger_jets(folder: str) -> ak.Array:
    """The jets of ``scripts/make_tagger_data.py`` (massless: their float32 (E, p) give no
    usable hadron masses) with ``particles`` and ``jet_type``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    from make_tagger_data import load_tagger_data

    p4, mask, codes = load_tagger_data(folder)
    particles = from_padded(p4, mask)
    particles = ak.zip(
        {
            "pt": particles.pt,
            "eta": particles.eta,
            "phi": particles.phi,
            "mass": ak.zeros_like(particles.pt),
        },
        with_name="Momentum4D",
    )
    return ak.zip({"particles": particles, "jet_type": codes.astype(np.int8)}, depth_limit=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a flow-decoder model directory (hypervae train)")
    parser.add_argument("--vae", help="slot model (name or dir), with --flow")
    parser.add_argument("--flow", help="FlowDecoder directory, with --vae")
    parser.add_argument("--calibration-knots", type=int, default=128, help="0: none")
    parser.add_argument("--no-project-mass", action="store_true")
    parser.add_argument(
        "--extra-jets",
        metavar="DIR",
        help="more real jets for the calibration (scripts/make_tagger_data.py's folder)",
    )
    parser.add_argument("--mass-categories", type=int, default=8, help="0: massless particles")
    parser.add_argument(
        "--pt-calibration-knots", type=int, default=0, help="per type and pT rank; 0: none"
    )
    parser.add_argument("--pt-draws", type=int, default=20_000, help="jets sampled per type")
    parser.add_argument("-o", "--output", required=True, help="output model directory")
    args = parser.parse_args()
    if (args.model is None) == (args.vae is None or args.flow is None):
        parser.error("give either --model, or --vae and --flow")
    if args.model is not None:
        source = args.model
        model = HyperVAE.from_pretrained(args.model).eval()
        if model.config.decoder != "flow":
            parser.error(f"--model {args.model}: decoder {model.config.decoder!r}, not 'flow'")
    else:
        source = args.vae
        vae = HyperVAE.from_pretrained(args.vae)
        model = with_flow_decoder(vae, FlowDecoder.from_pretrained(args.flow)).eval()
    train = ak.concatenate([hv.datasets.load_sample(t, split="train") for t in "gqtwz"])
    # the jet head predicts the clustered jet; the kept particles carry a fraction of its pT
    sums = hv.datasets.make_jets(train.particles, train.jet_type)
    fitted = model.particle_decoder.fit_pt_fraction(
        torch.from_numpy(ak.to_numpy(train.jet_type)).long(),
        torch.from_numpy(ak.to_numpy(sums.pt) / ak.to_numpy(train.pt)),
    )
    print("kept pT fraction per type (g q t w z):", [round(v, 4) for v in fitted.exp().tolist()])
    # the sample's train+val jets, and independent Pythia jets if given: on 7,000 jets
    # per type the quantiles carry sampling noise of the order of the truth floor
    real = [train] + [hv.datasets.load_sample(t, split="val") for t in "gqtwz"]
    if args.extra_jets:
        real.append(tagger_jets(args.extra_jets))
    calibration_jets = ak.concatenate([r[["particles", "jet_type"]] for r in real])
    if args.calibration_knots:
        print(f"calibration on {len(calibration_jets):,} real jets")
        model = fit_scalar_calibration(
            model,
            calibration_jets,
            knots=args.calibration_knots,
            project_mass=not args.no_project_mass,
        )
        print(f"jet scalar calibrated ({args.calibration_knots} knots per type)")
    if args.mass_categories:
        model = fit_particle_masses(model, train, categories=args.mass_categories)
        values = model.particle_decoder.masses.values.tolist()
        print("particle masses (GeV):", [round(v, 3) for v in values])
    if args.pt_calibration_knots:
        model = fit_pt_calibration(
            model, calibration_jets, args.pt_calibration_knots, args.pt_draws
        )
        fitted_pt = model.particle_decoder.flow.pt_calibration.fitted.view(5, -1).sum(1)
        print("pT calibration: ranks mapped per type (g q t w z):", fitted_pt.tolist())
    out = model.save_pretrained(args.output)
    for name in ("run.json", "normalization.json"):
        source_file = model_directory(source) / name
        if source_file.is_file():
            shutil.copyfile(source_file, out / name)
    print(f"wrote {out} ({sum(p.numel() for p in model.parameters())} parameters)")


if __name__ == "__main__":
    main()

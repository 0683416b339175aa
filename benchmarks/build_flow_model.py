"""Builds the candidate shipped flow-decoder model from the existing pieces.

The shipped ``hypervae-jets-30`` (encoder, heads, learned prior) and a
:class:`~hypervae.model.flow_decoder.FlowDecoder` trained on its frozen latent
(``benchmarks/flow_decoder.py train``) become one ``HyperVAE(decoder="flow")``
(:func:`hypervae.model.with_flow_decoder`), saved with the source's ``run.json`` (its
graph settings, which ``reconstruct`` uses).

Usage:
    python benchmarks/build_flow_model.py --flow /work/cache/flow_decoder \\
        --output /work/cache/hypervae-jets-30-flow
"""

from __future__ import annotations

import argparse
import shutil

import awkward as ak
import torch

import hypervae as hv
from hypervae.model import HyperVAE, with_flow_decoder
from hypervae.model.flow_decoder import FlowDecoder
from hypervae.model.pretrained import model_directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vae", default="hypervae-jets-30", help="slot model (name or dir)")
    parser.add_argument("--flow", required=True, help="FlowDecoder directory")
    parser.add_argument("-o", "--output", required=True, help="output model directory")
    args = parser.parse_args()
    vae = HyperVAE.from_pretrained(args.vae)
    model = with_flow_decoder(vae, FlowDecoder.from_pretrained(args.flow)).eval()
    # the jet head predicts the clustered jet; the kept particles carry a fraction of its pT
    types, fractions = [], []
    for name in "gqtwz":
        jets = hv.datasets.load_sample(name, split="train")
        sums = hv.datasets.make_jets(jets.particles, jets.jet_type)
        fractions.append(torch.from_numpy(ak.to_numpy(sums.pt) / ak.to_numpy(jets.pt)))
        types.append(torch.from_numpy(ak.to_numpy(jets.jet_type)).long())
    fitted = model.particle_decoder.fit_pt_fraction(torch.cat(types), torch.cat(fractions))
    print("kept pT fraction per type (g q t w z):", [round(v, 4) for v in fitted.exp().tolist()])
    out = model.save_pretrained(args.output)
    for name in ("run.json", "normalization.json"):
        source = model_directory(args.vae) / name
        if source.is_file():
            shutil.copyfile(source, out / name)
    print(f"wrote {out} ({sum(p.numel() for p in model.parameters())} parameters)")


if __name__ == "__main__":
    main()

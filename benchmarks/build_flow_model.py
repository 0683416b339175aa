"""Builds the candidate shipped flow-decoder model from the existing pieces.

The shipped ``hypervae-jets-30`` (encoder, heads, learned prior) and a
:class:`~hypervae.flow_decoder.FlowDecoder` trained on its frozen latent
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

from hypervae.flow_decoder import FlowDecoder
from hypervae.model import HyperVAE, with_flow_decoder
from hypervae.model.pretrained import model_directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vae", default="hypervae-jets-30", help="slot model (name or dir)")
    parser.add_argument("--flow", required=True, help="FlowDecoder directory")
    parser.add_argument("-o", "--output", required=True, help="output model directory")
    args = parser.parse_args()
    vae = HyperVAE.from_pretrained(args.vae)
    model = with_flow_decoder(vae, FlowDecoder.from_pretrained(args.flow)).eval()
    out = model.save_pretrained(args.output)
    for name in ("run.json", "normalization.json"):
        source = model_directory(args.vae) / name
        if source.is_file():
            shutil.copyfile(source, out / name)
    print(f"wrote {out} ({sum(p.numel() for p in model.parameters())} parameters)")


if __name__ == "__main__":
    main()

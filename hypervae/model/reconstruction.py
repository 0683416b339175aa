"""Reconstruction: real jets through the encoder and back (:func:`reconstruct`).

Each jet is built into a hypergraph, encoded, and its posterior mean decoded exactly as
:func:`~hypervae.model.generation.sample` decodes a latent code (jet head, the most
likely multiplicity, the particle decoder), in the input jet's azimuth: the latent code
is invariant under rotations about the beam, so the azimuth is not in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import awkward as ak
import numpy as np
import torch

from ..graph.batch import JetBatch
from .generation import _decode_batch, _masses, _randomness, _to_jets

if TYPE_CHECKING:
    from ..graph.config import HypergraphConfig
    from ..graph.normalization import GraphNormalization
    from .network import HyperVAE

__all__ = ["reconstruct"]


@torch.no_grad()
def reconstruct(
    model: HyperVAE,
    jets: ak.Array,
    graph_config: HypergraphConfig | dict[str, Any] | None = None,
    normalization: GraphNormalization | None = None,
    batch_size: int = 256,
    seed: int = 0,
) -> ak.Array:
    """Encodes and decodes ``jets`` (awkward jets in GeV) into awkward jets in GeV.

    Arguments:
        model: The model.
        jets: Jets as :func:`hypervae.datasets.make_jets` builds them.
        graph_config: How to build the hypergraphs; by default the graph section of the
            model's ``run.json`` when it was loaded from a directory holding one, else
            ``HypergraphConfig(max_particles=model.config.max_particles)``.
        normalization: Edge/hyperedge standardisation the model was trained with; by
            default the model directory's ``normalization.json`` when there is one.
        batch_size: Jets encoded at once.
        seed: Seed of the per-jet noise of a particle decoder that needs some (the
            slot decoder does not); the result does not depend on ``batch_size``.

    Returns:
        One reconstructed jet per input jet, in the same order, with the same types.
    """
    from torch_geometric.data import Batch

    from ..graph.build import build_hypergraphs
    from ..graph.config import HypergraphConfig
    from .generation import check_sample_args

    check_sample_args(1, 1.0, seed, batch_size)
    if graph_config is None:
        graph_config = getattr(model, "graph_config", None) or HypergraphConfig(
            max_particles=model.config.max_particles
        )
    if normalization is None:
        normalization = getattr(model, "edge_normalization", None)
    graphs = build_hypergraphs(jets, graph_config)
    if normalization is not None:
        graphs = [normalization.transform(g) for g in graphs]
    phis = ak.to_numpy(jets["phi"]).astype(np.float64)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    parts = []
    try:
        for lo in range(0, len(graphs), batch_size):
            batch = Batch.from_data_list(graphs[lo : lo + batch_size]).to(device)
            post = model.encode(batch)
            types = JetBatch.jet_info(batch)[0].cpu()
            phi = torch.from_numpy(phis[lo : lo + batch_size])
            shape = model.particle_decoder.noise_shape
            hi, p = lo + len(types), model.config.max_particles
            rnd = _randomness(seed, lo, hi, model.config.latent_dim, shape, p)
            mu = post.mu.cpu().double()
            p4, mask, _ = _decode_batch(model, mu, types, None, phi, lo, rnd.get("noise"))
            masses = model.particle_decoder.particle_masses(rnd["species"], types)
            parts.append((p4, mask, types.numpy(), masses))
    finally:
        model.train(was_training)
    return _to_jets(
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        model.particle_decoder.massless,
        None,
        _masses([p[3] for p in parts]),
    )

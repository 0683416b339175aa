"""Jets from a HyperVAE's prior and heads with a :class:`~hypervae.flow_decoder.FlowDecoder`.

Example:
    >>> import torch, hypervae as hv
    >>> from hypervae.flow_decoder import FlowDecoder
    >>> vae = hv.HyperVAE(hv.HyperVAEConfig(max_particles=6, latent_dim=4, hidden=16,
    ...                                     prior_components=2))
    >>> dec = FlowDecoder({"latent_dim": 4, "max_particles": 6, "width": 8, "layers": 1,
    ...                    "heads": 2, "steps": 2})
    >>> jets = sample_jets(vae, dec, 3, "w", seed=0)
    >>> len(jets), jets.fields[:2]
    (3, ['particles', 'jet_type'])
"""

from __future__ import annotations

import os
from typing import Any

import torch

from .flow_decoder import FlowDecoder, _positive_int

__all__ = ["sample_jets"]


@torch.no_grad()
def sample_jets(
    vae: Any,
    decoder: FlowDecoder,
    n_jets: int,
    jet_type: str | int = "g",
    seed: int | None = None,
    steps: int | None = None,
    solver: str | None = None,
    batch_size: int = 1000,
) -> Any:
    """Jets (awkward, GeV) from a HyperVAE's prior and heads and a flow decoder.

    Latent codes come from ``vae.prior`` (the fitted mixture), multiplicities from its
    multiplicity head, the jet's pT and eta from its jet head (the azimuth is uniform);
    the particles from ``decoder``. Everything random is drawn per jet or up front, so
    the jets do not depend on ``batch_size``.

    Arguments:
        vae: A :class:`~hypervae.HyperVAE` with a fitted prior (uses ``prior.sample``,
            ``condition``, ``type_embedding``, ``mult_head``, ``jet_head``, ``denormalize``).
        decoder: The flow decoder (same ``latent_dim`` and ``max_particles``).
        n_jets: Number of jets.
        jet_type: One type for all jets (name or code).
        seed: Seed of the private generators (fresh if ``None``).
        steps, solver: ODE settings (the decoder's defaults if ``None``).
        batch_size: Jets decoded at once.

    Returns:
        Jets as :func:`hypervae.datasets.make_jets` builds them, particles sorted by pT.
    """
    import awkward as ak
    import numpy as np

    from .datasets.jets import jet_type_code, make_jets
    from .physics.kinematics import from_padded

    n_jets = _positive_int("n_jets", n_jets)
    if seed is None:
        seed = int.from_bytes(os.urandom(8), "little") >> 1
    gen = torch.Generator().manual_seed(int(seed))
    codes = torch.full((n_jets,), jet_type_code(jet_type), dtype=torch.long)
    param = next(decoder.parameters())
    z_all = vae.prior.sample(codes, gen).to(param.dtype)
    u_mult = torch.rand(n_jets, generator=gen, dtype=torch.float64)
    phi = (torch.rand(n_jets, generator=gen, dtype=torch.float64) * 2 - 1) * torch.pi
    parts = []
    for lo in range(0, n_jets, batch_size):
        t, z = codes[lo : lo + batch_size], z_all[lo : lo + batch_size]
        c = vae.condition(torch.cat([z.to(vae.mult_head.weight.dtype), vae.type_embedding(t)], -1))
        cdf = vae.mult_head(c).double().softmax(-1).cumsum(-1)
        n = (cdf < u_mult[lo : lo + batch_size, None]).sum(-1).clamp(max=cdf.shape[1] - 1) + 1
        jet = vae.denormalize(vae.jet_head(c)).double()
        out = decoder.sample(
            z, t, n, seed=seed, steps=steps, solver=solver, first_index=lo,
            jet_pt=jet[:, 0], jet_eta=jet[:, 1], jet_phi=phi[lo : lo + batch_size],
        )  # fmt: skip
        parts.append((out["p4"].numpy(), out["mask"].numpy()))
    particles = from_padded(
        np.concatenate([p for p, _ in parts]), np.concatenate([m for _, m in parts])
    )
    particles = particles[ak.argsort(particles.pt, axis=1, ascending=False)]
    return make_jets(particles, codes.numpy())

r"""The training objective of :class:`~hypervae.model.HyperVAE`, built from :mod:`hypervae.losses`.

Named terms (weights in ``HyperVAEConfig.loss_weights``; the KL weight is further
multiplied by the annealing factor ``kl_weight``):

* from the particle decoder (:meth:`SlotDecoder.loss <hypervae.model.slots.SlotDecoder.loss>`):
  ``chamfer`` (:func:`~hypervae.losses.chamfer_distance` between the first ``n`` slots
  and the ``n`` real particles), ``eec`` (:func:`~hypervae.losses.eec_distribution_loss`
  on the projected 2-point correlator), ``consistency``
  (:func:`~hypervae.losses.consistency_loss`: summed slots against summed real particles
  in the jet frame, plus ``consistency_mass_weight`` times the squared log-mass
  difference) and ``existence`` (:func:`~hypervae.losses.existence_loss`);
* from the flow decoder (:meth:`FlowParticleDecoder.loss
  <hypervae.model.flow.FlowParticleDecoder.loss>`, ``decoder="flow"``): ``flow``
  (:func:`~hypervae.losses.flow_matching_loss` on the particles relative to their sum)
  and ``scalar`` (negative log-likelihood of the jet-scalar head; weight
  ``flow.scalar_weight`` unless ``loss_weights`` names it);
* shared: ``jet`` (:func:`~hypervae.losses.jet_feature_loss` of the jet head against the
  normalised true jet features), ``kl`` (:func:`~hypervae.losses.kl_divergence` with free
  bits) and ``multiplicity`` (cross-entropy of the multiplicity head against ``n``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ..graph.batch import JetBatch
from ..losses import jet_feature_loss, kl_divergence
from .config import LOSS_TERMS
from .outputs import Posterior

if TYPE_CHECKING:
    from .network import HyperVAE

__all__ = ["compute_loss", "posterior_sample"]


def posterior_sample(posterior: Posterior, latent_noise: float = 0.0) -> Tensor:
    """``z = mu + sigma * eps`` (reparameterisation), plus ``latent_noise`` Gaussian noise.

    Draws from the global torch RNG (training randomness, seeded by the trainer).

    Shapes:
        ``[B, latent_dim]`` -> ``[B, latent_dim]``.
    """
    z = posterior.mu + torch.randn_like(posterior.mu) * posterior.std
    if latent_noise > 0:
        z = z + latent_noise * torch.randn_like(z)
    return z


def compute_loss(
    model: HyperVAE,
    data: Any,
    tau: float = 1.0,
    kl_weight: float = 1.0,
    latent_noise: float = 0.0,
) -> dict[str, Tensor]:
    """Named loss terms of a batch, their weighted sum ``"total"``.

    Arguments:
        model: The model.
        data: A batch of jet hypergraphs (or a :class:`~hypervae.graph.batch.JetBatch`).
        tau: Temperature of the existence Gumbel-softmax.
        kl_weight: Annealing factor of the KL term.
        latent_noise: Standard deviation of extra noise on ``z`` (a regulariser).

    Returns:
        The terms in the order of ``LOSS_TERMS`` (then any others the particle decoder
        adds) and ``"total"``.
    """
    cfg = model.config
    jb = JetBatch.from_data(data)
    post = model.encode(jb)
    z = posterior_sample(post, latent_noise)
    target_jet = jb.jet_features.to(z.dtype)
    decoded = model.decode(z, jb.jet_type, model.frame_jet_vector(target_jet))
    x, mask = jb.to_dense(cfg.max_particles, dtype=z.dtype)
    n = mask.sum(1)
    found = model.particle_decoder.loss(decoded, x, mask, tau=tau)
    found["jet"] = jet_feature_loss(decoded.jet, model.normalize(target_jet))
    found["kl"] = kl_divergence(post.mu, post.logvar, cfg.free_bits)
    found["multiplicity"] = torch.nn.functional.cross_entropy(
        decoded.mult_logits, (n - 1).clamp(min=0)
    )
    terms = {k: found[k] for k in LOSS_TERMS if k in found}
    terms.update({k: v for k, v in found.items() if k not in terms})
    weights = dict(cfg.loss_weights)
    weights["kl"] = weights.get("kl", 1.0) * kl_weight
    weights.setdefault("scalar", cfg.flow.scalar_weight)
    total: Any = sum(weights.get(k, 1.0) * v for k, v in terms.items())
    return {**terms, "total": total}

"""The hypergraph VAE as a package: one idea per module.

* :mod:`~hypervae.model.config`: :class:`HyperVAEConfig`, :class:`JetFeatureNorm`;
* :mod:`~hypervae.model.network`: :class:`HyperVAE` (typed :meth:`~HyperVAE.encode` ->
  :class:`Posterior`, :meth:`~HyperVAE.decode` -> :class:`Decoded`);
* :mod:`~hypervae.model.slots`: the particle-decoder protocol and the slot decoder;
* :mod:`~hypervae.model.flow`: the flow-matching particle decoder (the default),
  :func:`with_flow_decoder`;
* :mod:`~hypervae.model.distillation`: few-step sampling, :func:`distill_flow_decoder`;
* :mod:`~hypervae.model.transfer`: :func:`with_decoder` (``train --init-from``);
* :mod:`~hypervae.model.objective`: the loss, built from :mod:`hypervae.losses`;
* :mod:`~hypervae.model.generation`: latent codes to awkward jets (seed-stable, float64);
* :mod:`~hypervae.model.reconstruction`: :meth:`HyperVAE.reconstruct`;
* :mod:`~hypervae.model.prior`: fitting the learned prior;
* :mod:`~hypervae.model.pretrained`: save/load through :mod:`hypervae._io`;
* :mod:`~hypervae.model.cli`: ``hypervae generate``.

Example:
    >>> import hypervae as hv
    >>> model = hv.HyperVAE(hv.HyperVAEConfig(max_particles=6, latent_dim=4, hidden=16))
    >>> jets = model.sample(4, jet_type="q", seed=1)
    >>> len(jets), int(jets.jet_type[0])
    (4, 1)
"""

from ..graph.batch import JetBatch
from .config import (
    CHAMFER_SPACES,
    DECODERS,
    LOSS_TERMS,
    PARTICLE_OUTPUTS,
    HyperVAEConfig,
    JetFeatureNorm,
)
from .distillation import distill_flow_decoder, teacher_trajectories
from .flow import FlowParticleDecoder, with_flow_decoder
from .network import HyperVAE, jet_info
from .outputs import Decoded, Posterior
from .slots import ParticleDecoder, SlotDecoder
from .transfer import TransferReport, with_decoder

__all__ = [
    "CHAMFER_SPACES",
    "DECODERS",
    "LOSS_TERMS",
    "PARTICLE_OUTPUTS",
    "Decoded",
    "FlowParticleDecoder",
    "HyperVAE",
    "HyperVAEConfig",
    "JetBatch",
    "JetFeatureNorm",
    "ParticleDecoder",
    "Posterior",
    "SlotDecoder",
    "TransferReport",
    "distill_flow_decoder",
    "jet_info",
    "teacher_trajectories",
    "with_decoder",
    "with_flow_decoder",
]

r"""KL divergence to a standard normal with free bits, and KL annealing schedules.

References:
    | Kingma et al., Improved Variational Inference with Inverse Autoregressive Flow
    | (2016, free bits) https://arxiv.org/abs/1606.04934
    | Fu et al., Cyclical Annealing Schedule (2019) https://arxiv.org/abs/1903.10145
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["kl_divergence", "kl_weight"]


def kl_divergence(mu: Tensor, logvar: Tensor, free_bits: float = 0.0) -> Tensor:
    r"""KL(q || N(0, 1)) of diagonal Gaussians, summed over latent dimensions.

    With free bits :math:`\lambda`, each dimension contributes
    :math:`\max(\lambda, \overline{\mathrm{KL}}_d)` where the bar is the batch mean, so
    dimensions below :math:`\lambda` nats receive no gradient towards the prior.

    Shapes:
        mu, logvar: ``[B, L]``; output ``[]`` (the mean over the batch).

    Examples:
        >>> float(kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3)))
        0.0
        >>> float(kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3), free_bits=0.5))
        1.5
    """
    per_dim = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar)  # [B, L]
    mean_dim = per_dim.mean(0)
    if free_bits > 0:
        mean_dim = torch.clamp(mean_dim, min=free_bits)
    return mean_dim.sum()


def kl_weight(
    step: int,
    warmup_steps: int,
    max_weight: float = 1.0,
    schedule: str = "linear",
    n_cycles: int = 4,
    ramp_fraction: float = 0.5,
) -> float:
    """KL weight at a training step.

    ``"linear"``: rises from 0 to ``max_weight`` over ``warmup_steps``, then stays.
    ``"cyclic"``: ``n_cycles`` cycles over ``warmup_steps``, each rising linearly over
    its first ``ramp_fraction`` and then flat at ``max_weight``; flat after the cycles.
    ``"constant"``: always ``max_weight``.

    Examples:
        >>> [kl_weight(s, 10) for s in (0, 5, 10, 20)]
        [0.0, 0.5, 1.0, 1.0]
        >>> [kl_weight(s, 8, schedule="cyclic", n_cycles=2) for s in (0, 1, 2, 3, 4, 5)]
        [0.0, 0.5, 1.0, 1.0, 0.0, 0.5]
    """
    if schedule == "constant" or warmup_steps <= 0:
        return float(max_weight)
    if step >= warmup_steps:
        return float(max_weight)
    if schedule == "linear":
        return float(max_weight) * step / warmup_steps
    if schedule == "cyclic":
        period = warmup_steps / n_cycles
        phase = (step % period) / period
        return float(max_weight) * min(1.0, phase / ramp_fraction)
    msg = f"schedule must be 'linear', 'cyclic' or 'constant', got {schedule!r}"
    raise ValueError(msg)

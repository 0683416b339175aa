"""Fitting the learned latent prior of :class:`~hypervae.model.HyperVAE` after training.

A VAE trained with a small KL weight keeps an informative latent space but its aggregate
posterior is not the standard normal; :func:`fit_prior` fits the model's per-type
Gaussian mixture (:class:`~hypervae.nn.GaussianMixturePrior`) to draws from the encoder's
posteriors of the training jets, and :meth:`HyperVAE.sample` then draws from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import torch

from ..graph.batch import JetBatch
from ..nn.prior import GaussianMixturePrior

if TYPE_CHECKING:
    from .network import HyperVAE

__all__ = ["fit_prior"]


@torch.no_grad()
def fit_prior(
    model: HyperVAE,
    loader: Iterable[Any],
    draws: int = 4,
    iterations: int = 200,
    seed: int = 0,
) -> GaussianMixturePrior:
    """Fits the learned prior to the aggregate posterior of the jets in ``loader``.

    Arguments:
        model: A model built with ``prior_components > 0``.
        loader: Iterable of hypergraph batches (use the training split).
        draws: Posterior draws ``z ~ q(z|x)`` per jet.
        iterations: EM iterations (see :meth:`GaussianMixturePrior.fit`).
        seed: Seed of the draws and of the initialisation (a private generator).

    Raises:
        ValueError: The model has no learned prior.
    """
    if model.prior is None:
        msg = "this model has no learned prior: build it with prior_components > 0"
        raise ValueError(msg)
    gen = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    zs, types = [], []
    try:
        for batch in loader:
            post = model.encode(batch.to(device))
            mu, std = post.mu.cpu().double(), post.std.cpu().double()
            t = JetBatch.jet_info(batch)[0].cpu()
            for _ in range(draws):
                eps = torch.randn(mu.shape, generator=gen, dtype=torch.float64)
                zs.append(mu + std * eps)
                types.append(t)
    finally:
        model.train(was_training)
    model.prior.fit(torch.cat(zs), torch.cat(types), iterations=iterations, seed=seed)
    return model.prior

"""The typed outputs of :meth:`HyperVAE.encode <hypervae.model.HyperVAE.encode>` and
:meth:`HyperVAE.decode <hypervae.model.HyperVAE.decode>`.

Example:
    >>> import torch
    >>> post = Posterior(torch.zeros(2, 3), torch.zeros(2, 3))
    >>> mu, logvar = post  # unpacks like the (mu, logvar) tuple it replaces
    >>> tuple(post.std.shape)
    (2, 3)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields
from typing import NamedTuple

from torch import Tensor

__all__ = ["Decoded", "Posterior"]


class Posterior(NamedTuple):
    """The diagonal Gaussian posterior ``q(z|x)``.

    Shapes:
        mu, logvar: ``[B, latent_dim]`` (logvar clamped to the config's range).
    """

    mu: Tensor
    logvar: Tensor

    @property
    def std(self) -> Tensor:
        """Standard deviation ``exp(logvar / 2)``."""
        return (0.5 * self.logvar).exp()


@dataclass(frozen=True)
class Decoded:
    """What the decoder produces from latent codes (all in the jet frame, scale = jet pT).

    Attributes:
        jet: Normalised jet features ``(ln pT, eta, ln mass)`` from the jet head.
        mult_logits: Logits of the multiplicity ``1..max_particles``.
        condition: The conditioning vector of the particle decoder (latent + type).
        jet_vector: The jet 4-momentum the particles were decoded for.
        basis: The frame basis (rows ``e_t, e_x, e_y, e_z``) they were decoded in.
        p4: Particles per slot ``(E, px, py, pz)`` (``None`` for a particle decoder that
            only samples).
        exist_logits: Existence logit per slot (``None`` likewise).
        z: The latent codes decoded (read by a particle decoder conditioned on them).
        jet_type: Their type codes.

    Shapes:
        jet ``[B, 3]``; mult_logits ``[B, P]``; condition ``[B, hidden]``;
        jet_vector ``[B, 4]``; basis ``[B, 4, 4]``; p4 ``[B, P, 4]``;
        exist_logits ``[B, P]``; z ``[B, latent_dim]``; jet_type ``[B]``.
    """

    jet: Tensor
    mult_logits: Tensor
    condition: Tensor
    jet_vector: Tensor
    basis: Tensor
    p4: Tensor | None = None
    exist_logits: Tensor | None = None
    z: Tensor | None = None
    jet_type: Tensor | None = None

    def __getitem__(self, key: str) -> Tensor | None:
        """Deprecated dict-style access (``decoded["p4"]``) of the former dict output."""
        if key not in {f.name for f in fields(self)}:
            raise KeyError(key)
        warnings.warn(
            f"decode(...)[{key!r}] is deprecated; use the attribute decode(...).{key}",
            DeprecationWarning,
            stacklevel=2,
        )
        value: Tensor | None = getattr(self, key)
        return value

r"""Particle masses for generated jets: a categorical per jet type and pT rank.

Real jet constituents are photons (massless), pions, kaons, protons and neutrons, and at
:math:`p_T \sim 1` TeV their masses still matter for the jet mass: a particle of mass
:math:`m_i` carrying a fraction :math:`z_i` of the jet's energy adds about
:math:`m_i^2 / z_i` to :math:`m^2_\mathrm{jet}`, which for the 30 leading particles of a
light-quark jet is about 4 % of its mass. The flow decoder generates massless particles
(its geometry is learned on massless relative coordinates); :class:`ParticleMasses`
then gives each generated particle a mass drawn from the real particles' mass
distribution at the same jet type and :math:`p_T` rank, keeping its
:math:`(p_T, \eta, \phi)`. Fitted on training jets (:meth:`ParticleMasses.fit`).

Example:
    >>> import hypervae as hv, torch
    >>> masses = ParticleMasses(categories=4, max_particles=30)
    >>> masses.fit(hv.datasets.load_sample("q", split="val")).tolist()
    [False, True, False, False, False]
    >>> [round(v, 3) for v in masses.values.tolist()]  # the four most common, GeV
    [0.0, 0.14, 0.494, 0.938]
    >>> drawn = masses(torch.rand(2, 30), torch.tensor([1, 1]))  # by pT rank
    >>> tuple(drawn.shape), set(drawn.flatten().tolist()) <= set(masses.values.tolist())
    ((2, 30), True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["ParticleMasses"]

#: Masses are grouped after rounding to this many GeV (1 MeV).
RESOLUTION = 1e-3


class ParticleMasses(nn.Module):
    """Categorical particle masses per jet type and :math:`p_T` rank, fitted on real jets.

    The categories are the ``categories`` most common masses of the fitting jets'
    leading ``max_particles`` particles (rounded to 1 MeV); every other mass counts as
    the nearest category. A type that was never fitted gets massless particles.

    Arguments:
        categories: Number of mass values (at least 1).
        max_particles: Particle ranks (the model's ``max_particles``).
        num_types: Number of jet types.

    Shapes:
        uniform ``[B, P]`` (numbers in ``[0, 1)``, column = pT rank), jet_type ``[B]`` ->
        masses ``[B, P]`` (GeV, float64).
    """

    values: Tensor
    probs: Tensor
    fitted: Tensor

    def __init__(self, categories: int, max_particles: int, num_types: int = 5) -> None:
        super().__init__()
        if categories < 1:
            msg = f"categories must be at least 1, got {categories}"
            raise ValueError(msg)
        self.register_buffer("values", torch.zeros(categories, dtype=torch.float64))
        self.register_buffer(
            "probs", torch.zeros(num_types, max_particles, categories, dtype=torch.float64)
        )
        self.register_buffer("fitted", torch.zeros(num_types, dtype=torch.bool))

    @torch.no_grad()
    def fit(self, jets: Any) -> Tensor:
        """Fits the mass values and per-(type, rank) frequencies on real ``jets``.

        Arguments:
            jets: Awkward jets with ``particles`` (``mass`` and ``pt``) and ``jet_type``.

        Returns:
            The per-type ``fitted`` flags.

        Raises:
            ValueError: Missing fields, or a negative or non-finite particle mass (the
                jet and particle named).
        """
        import awkward as ak

        for field in ("particles", "jet_type"):
            if field not in ak.fields(jets):
                msg = f"jets: no {field!r} field (fields: {ak.fields(jets)})"
                raise ValueError(msg)
        num_types, ranks, categories = self.probs.shape
        parts = jets.particles[ak.argsort(jets.particles.pt, axis=1, ascending=False)][:, :ranks]
        counts = ak.to_numpy(ak.num(parts)).astype(np.int64)
        mass = ak.to_numpy(ak.flatten(parts.mass)).astype(np.float64)
        bad = ~np.isfinite(mass) | (mass < -RESOLUTION)
        if bad.any():
            flat = int(np.argmax(bad))
            jet = int(np.searchsorted(np.cumsum(counts), flat, side="right"))
            msg = f"jets: particle mass {mass[flat]} of jet {jet} is negative or not finite"
            raise ValueError(msg)
        rounded = np.round(np.maximum(mass, 0.0) / RESOLUTION) * RESOLUTION
        unique, freq = np.unique(rounded, return_counts=True)
        values = np.sort(unique[np.argsort(-freq, kind="stable")[:categories]])
        if len(values) < categories:  # fewer distinct masses: repeat the largest
            values = np.concatenate([values, np.full(categories - len(values), values[-1])])
        nearest = np.abs(rounded[:, None] - values[None, :]).argmin(1)
        rank = np.concatenate([np.arange(n) for n in counts]) if len(counts) else counts
        types = np.repeat(ak.to_numpy(jets.jet_type).astype(np.int64), counts)
        table = np.zeros((num_types, ranks, categories))
        np.add.at(table, (types, rank, nearest), 1.0)
        self.values.copy_(torch.from_numpy(values))
        for code in range(num_types):
            total = table[code].sum()
            if total == 0:
                continue
            overall = table[code].sum(0) / total  # for ranks no real jet reaches
            per_rank = table[code].sum(1, keepdims=True)
            probs = np.where(per_rank > 0, table[code] / np.maximum(per_rank, 1), overall)
            self.probs[code] = torch.from_numpy(probs)
            self.fitted[code] = True
        return self.fitted.clone()

    def forward(self, uniform: Tensor, jet_type: Tensor) -> Tensor:
        """Masses by inverse CDF of each (type, rank) categorical; 0 for unfitted types."""
        types = jet_type.long().to(self.probs.device)
        cdf = self.probs[types].cumsum(-1)  # [B, P, M]
        u = uniform.to(cdf)[..., None] * cdf[..., -1:]
        index = (cdf <= u).sum(-1).clamp(max=self.values.shape[0] - 1)
        masses = self.values[index]
        return torch.where(self.fitted[types][:, None], masses, torch.zeros_like(masses))

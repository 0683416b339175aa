"""Shared fixtures: tiny configs and hand-built jets (torch on one thread for speed)."""

from __future__ import annotations

import math

import pytest
import torch

torch.set_num_threads(1)

TINY_PART = {
    "num_classes": 3,
    "embed_dim": 16,
    "num_heads": 2,
    "mlp_dim": 32,
    "num_layers": 2,
    "particle_embed_dims": (16,),
    "pair_embed_dims": (8, 8),
    "dropout": 0.1,
}
TINY_PHAT = {
    "num_classes": 3,
    "dims": (8, 16),
    "depths": (1, 1),
    "num_heads": (2, 2),
    "patch_size": 4,
    "grid_size": 8,
    "dropout": 0.1,
}


def make_p4(pt, eta, phi, mass=0.0):
    """``(E, px, py, pz)`` float64 tensor from (pt, eta, phi, m) tensors."""
    pt, eta, phi = (torch.as_tensor(v, dtype=torch.float64) for v in (pt, eta, phi))
    m = torch.as_tensor(mass, dtype=torch.float64)
    pz = pt * torch.sinh(eta)
    e = torch.sqrt((pt * torch.cosh(eta)) ** 2 + m**2)
    return torch.stack([e, pt * torch.cos(phi), pt * torch.sin(phi), pz], dim=-1)


@pytest.fixture
def jets():
    """Three jets with 5, 3 and 1 real particles in 6 slots; distinct pT, kT, eta."""
    gen = torch.Generator().manual_seed(7)
    b, p = 3, 6
    pt = 10.0 + 300.0 * torch.rand(b, p, generator=gen, dtype=torch.float64)
    eta = 0.5 + 0.3 * torch.randn(b, p, generator=gen, dtype=torch.float64)
    phi = 1.0 + 0.3 * torch.randn(b, p, generator=gen, dtype=torch.float64)
    p4 = make_p4(pt, eta, phi)
    mask = torch.arange(p)[None, :] < torch.tensor([5, 3, 1])[:, None]
    p4 = torch.where(mask[..., None], p4, torch.zeros_like(p4))
    return p4, mask


def with_garbage_padding(p4, mask, n_extra=5, value=math.nan):
    """Appends ``n_extra`` padded slots and fills every padded slot with ``value``."""
    b = p4.shape[0]
    p4 = torch.cat([p4, torch.zeros(b, n_extra, 4, dtype=p4.dtype)], dim=1)
    mask = torch.cat([mask, torch.zeros(b, n_extra, dtype=torch.bool)], dim=1)
    return torch.where(mask[..., None], p4, torch.full_like(p4, value)), mask

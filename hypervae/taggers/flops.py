"""Counting a tagger's multiply-adds per jet with forward hooks.

:func:`count_flops` runs the model once on one jet of ``n_particles`` real particles and
adds up, from the shapes seen by forward hooks,

* every ``nn.Linear``: ``tokens x in_features x out_features`` multiply-adds,
* every ``nn.Conv1d`` / ``nn.Conv2d``: ``output elements x in_channels / groups x kernel``,
* every :class:`~hypervae.nn.MultiHeadAttention` call: ``Q K^T`` and ``A V``, that is
  ``2 x queries x keys x width`` (padded slots inside patches included, as computed).

One multiply-add (MAC) is **2 FLOPs**; :func:`count_flops` returns FLOPs. Element-wise
work (activations, LayerNorm, softmax, masking, feature computation, sorting) is not
counted: it is a small fraction for these models and is also left out by the usual
hardware-oriented counts.

Example:
    >>> from hypervae.taggers import build_tagger
    >>> flops = count_flops(build_tagger("pointnet-small", num_classes=5), n_particles=150)
    >>> flops == 2 * count_macs(build_tagger("pointnet-small", num_classes=5), 150)
    True
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..nn.attention import MultiHeadAttention

__all__ = ["count_flops", "count_macs", "flop_probe_jet"]


def flop_probe_jet(n_particles: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """One jet of ``n_particles`` massless particles near ``(eta, phi) = (0, 0)``.

    Shapes:
        outputs ``p4 [1, n_particles, 4]`` float64 and ``mask [1, n_particles]`` (all real).
    """
    g = torch.Generator().manual_seed(seed)
    pt = 0.1 + 1000.0 * torch.rand(n_particles, generator=g, dtype=torch.float64) / n_particles
    eta = 0.2 * torch.randn(n_particles, generator=g, dtype=torch.float64)
    phi = 0.2 * torch.randn(n_particles, generator=g, dtype=torch.float64)
    p4 = torch.stack(
        [pt * torch.cosh(eta), pt * torch.cos(phi), pt * torch.sin(phi), pt * torch.sinh(eta)],
        -1,
    )
    return p4[None], torch.ones(1, n_particles, dtype=torch.bool)


def count_macs(model: nn.Module, n_particles: int) -> int:
    """Multiply-adds of one forward pass on one jet of ``n_particles`` particles."""
    total = [0]

    def linear(mod: nn.Module, _inp: Any, out: Tensor) -> None:
        lin = mod if isinstance(mod, nn.Linear) else None
        assert lin is not None
        total[0] += out.numel() // lin.out_features * lin.in_features * lin.out_features

    def conv(mod: nn.Module, _inp: Any, out: Tensor) -> None:
        c = mod if isinstance(mod, (nn.Conv1d, nn.Conv2d)) else None
        assert c is not None
        kernel = 1
        for k in c.kernel_size:
            kernel *= k
        total[0] += out.numel() * c.in_channels // c.groups * kernel

    def attention(_mod: nn.Module, inp: tuple[Tensor, ...], _out: Tensor) -> None:
        query, key_value = inp[0], inp[1]
        b, nq, c = query.shape
        total[0] += 2 * b * nq * key_value.shape[1] * c

    handles = []
    for mod in model.modules():
        if isinstance(mod, nn.Linear):
            handles.append(mod.register_forward_hook(linear))
        elif isinstance(mod, (nn.Conv1d, nn.Conv2d)):
            handles.append(mod.register_forward_hook(conv))
        elif isinstance(mod, MultiHeadAttention):
            handles.append(mod.register_forward_hook(attention))
    p4, mask = flop_probe_jet(n_particles)
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(p4, mask)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total[0]


def count_flops(model: nn.Module, n_particles: int) -> int:
    """FLOPs (``2 x`` :func:`count_macs`) of one forward pass on one jet."""
    return 2 * count_macs(model, n_particles)

r"""Masked conditional flow matching with the linear (rectified) probability path.

For data :math:`x_1`, noise :math:`x_0 \sim \mathcal N(0, 1)` and a time
:math:`t \sim U(0, 1)`, the point :math:`x_t = (1 - t)\,x_0 + t\,x_1` moves with the
conditional velocity :math:`u_t = x_1 - x_0`. A network :math:`v_\theta(x_t, t, c)`
trained to regress :math:`u_t` learns the marginal velocity field whose ODE carries
the noise distribution to the data distribution (Lipman et al. 2022; Liu et al. 2022).
On sets with padding only the real elements count.

References:
    | Lipman et al., Flow Matching for Generative Modeling (2022)
    | https://arxiv.org/abs/2210.02747
    | Liu, Gong, Liu, Flow Straight and Fast: Learning to Generate and Transfer Data
    | with Rectified Flow (2022) https://arxiv.org/abs/2209.03003

Example:
    >>> import torch
    >>> x1 = torch.randn(4, 6, 3)                      # 4 sets of up to 6 points in 3D
    >>> mask = torch.arange(6) < torch.tensor([[6], [3], [1], [5]])
    >>> x0, t = torch.randn_like(x1), torch.rand(4)
    >>> xt = interpolate(x0, x1, t)                    # the network's input
    >>> v_pred = torch.zeros_like(x1, requires_grad=True)  # stands in for v(xt, t, ...)
    >>> loss = flow_matching_loss(v_pred, x0, x1, t, mask)
    >>> loss.backward()
    >>> float(flow_matching_loss(x1 - x0, x0, x1, t, mask))  # the exact velocity
    0.0
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["flow_matching_loss", "interpolate"]


def _time(t: Tensor, like: Tensor, name: str = "t") -> Tensor:
    """Broadcasts per-set times ``[B]`` (or ``[B, 1, 1]``) against ``like [B, P, D]``."""
    if t.dim() == 1 and t.shape[0] == like.shape[0]:
        return t.to(like.dtype)[:, None, None]
    if t.shape == (like.shape[0], 1, 1):
        return t.to(like.dtype)
    msg = f"{name} must have shape [B] or [B, 1, 1] with B={like.shape[0]}, got {tuple(t.shape)}"
    raise ValueError(msg)


def interpolate(x0: Tensor, x1: Tensor, t: Tensor) -> Tensor:
    """The point :math:`x_t = (1 - t)\\,x_0 + t\\,x_1` of the linear path.

    Shapes:
        x0, x1 ``[B, P, D]``, t ``[B]`` -> ``[B, P, D]``.
    """
    tt = _time(t, x1)
    return (1 - tt) * x0 + tt * x1


def flow_matching_loss(
    v_pred: Tensor,
    x0: Tensor,
    x1: Tensor,
    t: Tensor,
    mask: Tensor | None = None,
) -> Tensor:
    """Mean squared error between the predicted and the conditional velocity ``x1 - x0``.

    The target of the linear path does not depend on ``t``; ``t`` is checked for shape
    so that a call with mismatched batches fails loudly. Padded elements (``mask`` false)
    are excluded with ``torch.where`` before any arithmetic, so NaN or infinite values
    there reach neither the loss nor the gradient.

    Arguments:
        v_pred: Predicted velocity at ``interpolate(x0, x1, t)``.
        x0: Noise (the start of the path).
        x1: Data (the end of the path).
        t: Times in ``[0, 1]``, one per set.
        mask: ``True`` for real elements; all real when ``None``.

    Returns:
        A scalar: the squared error summed over the ``D`` components, averaged over the
        real elements of the whole batch (0 when there are none).

    Raises:
        ValueError: Mismatched shapes (naming the argument).

    Shapes:
        v_pred, x0, x1 ``[B, P, D]``, t ``[B]``, mask ``[B, P]`` -> ``[]``.
    """
    for name, value in (("x0", x0), ("x1", x1)):
        if value.shape != v_pred.shape:
            msg = f"{name} has shape {tuple(value.shape)}, expected v_pred's {tuple(v_pred.shape)}"
            raise ValueError(msg)
    if v_pred.dim() != 3:
        msg = f"v_pred must have shape [B, P, D], got {tuple(v_pred.shape)}"
        raise ValueError(msg)
    _time(t, v_pred)
    if mask is None:
        mask = torch.ones(v_pred.shape[:2], dtype=torch.bool, device=v_pred.device)
    if mask.shape != v_pred.shape[:2]:
        msg = f"mask must have shape {tuple(v_pred.shape[:2])}, got {tuple(mask.shape)}"
        raise ValueError(msg)
    keep = mask.to(torch.bool)[..., None]
    # where, not multiplication: 0 * NaN is NaN, and its gradient too
    diff = torch.where(keep, v_pred - (x1 - x0), torch.zeros((), dtype=v_pred.dtype))
    count = keep.sum().clamp(min=1)
    return (diff**2).sum() / count.to(v_pred.dtype)

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

__all__ = ["euler_distillation_loss", "flow_matching_loss", "interpolate"]


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
    keep = _checked_mask(v_pred, mask, {"x0": x0, "x1": x1})
    _time(t, v_pred)
    return _masked_squared_error(v_pred, x1 - x0, keep)


def euler_distillation_loss(
    v_pred: Tensor,
    x_start: Tensor,
    x_end: Tensor,
    dt: float,
    mask: Tensor | None = None,
) -> Tensor:
    r"""Mean squared error of one Euler step against a teacher's ODE segment, in velocity units.

    A student field distilled for ``k`` Euler steps must carry the teacher's state
    :math:`x_{t}` to its state :math:`x_{t + \Delta t}` (``\Delta t = 1/k``) in one step:
    :math:`x_t + \Delta t\, v(x_t, t) = x_{t + \Delta t}`. The loss is
    :math:`\| v - (x_{t+\Delta t} - x_t) / \Delta t \|^2`, masked and averaged like
    :func:`flow_matching_loss` (to which it reduces for ``dt = 1`` with ``x_start`` the
    noise and ``x_end`` the data). Trajectory distillation in the sense of Luhman &
    Luhman (2021) and progressive distillation (Salimans & Ho 2022), with the teacher's
    states on the student's time grid as targets.

    References:
        | Luhman, Luhman, Knowledge Distillation in Iterative Generative Models for
        | Improved Sampling Speed (2021) https://arxiv.org/abs/2101.02388
        | Salimans, Ho, Progressive Distillation for Fast Sampling of Diffusion Models
        | (2022) https://arxiv.org/abs/2202.00512

    Arguments:
        v_pred: The student's velocity at ``(x_start, t)``.
        x_start, x_end: The teacher's states at ``t`` and ``t + dt``.
        dt: The student's step, in ``(0, 1]``.
        mask: ``True`` for real elements; all real when ``None``.

    Shapes:
        v_pred, x_start, x_end ``[B, P, D]``, mask ``[B, P]`` -> ``[]``.

    Example:
        >>> x0, x_half = torch.zeros(1, 2, 3), torch.ones(1, 2, 3)
        >>> float(euler_distillation_loss(2 * torch.ones(1, 2, 3), x0, x_half, 0.5))
        0.0
        >>> float(euler_distillation_loss(torch.ones(1, 2, 3), x0, x_half, 0.5))  # 3 x 1^2
        3.0
    """
    if not 0.0 < float(dt) <= 1.0:
        msg = f"dt must be in (0, 1], got {dt!r}"
        raise ValueError(msg)
    keep = _checked_mask(v_pred, mask, {"x_start": x_start, "x_end": x_end})
    return _masked_squared_error(v_pred, (x_end - x_start) / dt, keep)


def _checked_mask(v_pred: Tensor, mask: Tensor | None, inputs: dict[str, Tensor]) -> Tensor:
    """The boolean mask ``[B, P, 1]`` after checking every shape against ``v_pred``."""
    for name, value in inputs.items():
        if value.shape != v_pred.shape:
            msg = f"{name} has shape {tuple(value.shape)}, expected v_pred's {tuple(v_pred.shape)}"
            raise ValueError(msg)
    if v_pred.dim() != 3:
        msg = f"v_pred must have shape [B, P, D], got {tuple(v_pred.shape)}"
        raise ValueError(msg)
    if mask is None:
        mask = torch.ones(v_pred.shape[:2], dtype=torch.bool, device=v_pred.device)
    if mask.shape != v_pred.shape[:2]:
        msg = f"mask must have shape {tuple(v_pred.shape[:2])}, got {tuple(mask.shape)}"
        raise ValueError(msg)
    return mask.to(torch.bool)[..., None]


def _masked_squared_error(v_pred: Tensor, target: Tensor, keep: Tensor) -> Tensor:
    """Squared error summed over ``D``, averaged over the real elements of ``keep``."""
    # where, not multiplication: 0 * NaN is NaN, and its gradient too
    diff = torch.where(keep, v_pred - target, torch.zeros((), dtype=v_pred.dtype))
    count = keep.sum().clamp(min=1)
    return (diff**2).sum() / count.to(v_pred.dtype)

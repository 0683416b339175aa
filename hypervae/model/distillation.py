r"""Few-step sampling for the flow decoder: trajectory distillation of its velocity field.

The flow decoder's ODE needs about 10 midpoint steps (20 network calls) for faithful
jets. A *student* velocity field, initialised from the teacher's, is trained so that
``k`` Euler steps (``k`` calls) land where the teacher's ODE lands:

1. :func:`teacher_trajectories` samples jets exactly as :meth:`HyperVAE.sample
   <hypervae.model.HyperVAE.sample>` does (type, latent code from the learned prior,
   multiplicity from the head, calibrated jet scalar, per-jet noise) and integrates the
   teacher's ODE finely, keeping its states at ``t = j / k``;
2. :func:`distill_flow_decoder` trains the student with
   :func:`~hypervae.losses.euler_distillation_loss` on every segment ``j -> j + 1``
   (the teacher's state at ``t = j / k`` as input), with EMA weights and a held-out
   part of the trajectories for validation, and returns a model whose decoder is marked
   ``distilled_steps = k`` (it then samples with ``k`` Euler steps and refuses other
   settings).

Everything but the velocity field is the teacher's and stays frozen: encoder, prior,
heads, the jet-scalar head and its calibration, the mass projection and the particle
masses. The noise-to-jet map of a seed is the teacher's, approximated: the same seed
gives nearly the same jets from teacher and student.

References:
    | Luhman, Luhman, Knowledge Distillation in Iterative Generative Models for Improved
    | Sampling Speed (2021) https://arxiv.org/abs/2101.02388
    | Salimans, Ho, Progressive Distillation for Fast Sampling of Diffusion Models (2022)
    | https://arxiv.org/abs/2202.00512

Example:
    >>> import hypervae as hv
    >>> model = hv.HyperVAE(hv.HyperVAEConfig(max_particles=6, latent_dim=4, hidden=16,
    ...     decoder="flow", flow={"width": 16, "layers": 1, "heads": 2}))
    >>> paths = teacher_trajectories(model, 64, steps=2, teacher_steps=4, progress=False)
    >>> paths["states"].shape
    torch.Size([64, 3, 6, 3])
    >>> student, history = distill_flow_decoder(model, paths, epochs=1, batch_size=16,
    ...                                         progress=False)
    >>> student.config.flow.distilled_steps, student.config.flow.solver
    (2, 'euler')
    >>> len(student.sample(5, jet_type="t", seed=0))
    5
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ..losses.flow_matching import _masked_squared_error, euler_distillation_loss

if TYPE_CHECKING:
    from .network import HyperVAE

__all__ = ["distill_flow_decoder", "teacher_trajectories"]

_KEYS = ("z", "jet_type", "multiplicity", "scalar", "states")


def _flow_of(model: HyperVAE) -> Any:
    from .flow import FlowParticleDecoder

    decoder = model.particle_decoder
    if not isinstance(decoder, FlowParticleDecoder):
        msg = f"model: its decoder is {model.config.decoder!r}, not 'flow'"
        raise ValueError(msg)  # noqa: TRY004 - a bad argument value, named
    return decoder.flow


@torch.no_grad()
def teacher_trajectories(
    model: HyperVAE,
    n_jets: int,
    steps: int = 2,
    teacher_steps: int | None = None,
    teacher_solver: str | None = None,
    seed: int = 0,
    batch_size: int = 1000,
    progress: bool = True,
) -> dict[str, Tensor]:
    """The teacher's ODE states at the student's time grid for ``n_jets`` sampled jets.

    The jets are those of ``model.sample(n_jets, seed=seed)`` with types drawn uniformly
    (the same latent codes, multiplicities, jet scalars and noise).

    Arguments:
        model: A flow-decoder HyperVAE (the teacher; not distilled itself).
        n_jets: Jets.
        steps: The student's Euler steps ``k``.
        teacher_steps: The teacher's steps in all (default: its config's, rounded up to
            a multiple of ``steps``).
        teacher_solver: The teacher's solver (default: its config's).
        seed: Seed of the jets (the stream of :meth:`HyperVAE.sample`).
        batch_size: Jets integrated at once.
        progress: Show a progress bar.

    Returns:
        ``z [N, latent_dim]``, ``jet_type [N]``, ``multiplicity [N]``, ``scalar [N]``
        (the calibrated, standardised jet scalar) and ``states [N, k + 1, P, 3]``
        (standardised coordinates, zero on padding), all on the CPU.

    Raises:
        ValueError: Not a flow-decoder model, an already distilled one, or bad counts
            (named).
    """
    from .generation import _draws, _multiplicity, _settings

    flow = _flow_of(model)
    _positive(n_jets=n_jets, steps=steps, batch_size=batch_size)
    if flow.config.distilled_steps:
        msg = (
            f"model: its decoder is already distilled for {flow.config.distilled_steps} "
            "Euler steps; distil from the undistilled (teacher) model"
        )
        raise ValueError(msg)
    total, solver = flow.ode_settings(teacher_steps, teacher_solver)
    if teacher_steps is None:
        total = steps * math.ceil(total / steps)
    elif total % steps:
        msg = f"teacher_steps={total} must be a multiple of steps={steps}"
        raise ValueError(msg)
    settings = _settings(model, None, 1.0, seed, batch_size, "learned", False)
    param = next(model.parameters())
    parts: dict[str, list[Tensor]] = {k: [] for k in _KEYS}
    bar = _progress(n_jets, "teacher trajectories", progress)
    was_training = model.training
    model.eval()
    try:
        for lo in range(0, n_jets, batch_size):
            hi = min(lo + batch_size, n_jets)
            rnd, types, z = _draws(model, settings, lo, hi)
            z = z.to(param.device, param.dtype)
            out = model.decode(z, types.to(param.device))
            mult = _multiplicity(out.mult_logits, rnd["mult"]).to(param.device)
            path = flow.trajectory(
                z, types.to(param.device), mult, rnd["noise"], steps, total, solver
            )
            for key, tensor in (
                ("z", z), ("jet_type", types), ("multiplicity", mult),
                ("scalar", path["scalar"]), ("states", path["states"]),
            ):  # fmt: skip
                parts[key].append(tensor.detach().cpu())
            if bar is not None:
                bar.update(hi - lo)
    finally:
        model.train(was_training)
        if bar is not None:
            bar.close()
    return {k: torch.cat(v) for k, v in parts.items()}


def distill_flow_decoder(
    model: HyperVAE,
    trajectories: dict[str, Tensor],
    epochs: int = 8,
    batch_size: int = 256,
    lr: float = 3e-4,
    ema_decay: float = 0.999,
    val_fraction: float = 0.05,
    seed: int = 0,
    progress: bool = True,
    rollout: bool = False,
) -> tuple[HyperVAE, list[dict[str, float]]]:
    """A copy of ``model`` whose velocity field is distilled for ``k`` Euler steps.

    The student starts from the teacher's velocity field; only the field trains
    (AdamW, linear warm-up over 2 % of the steps, cosine decay to 1 % of ``lr``,
    gradient norm clipped at 1). Each step takes ``batch_size`` jets and all ``k``
    segments of each. The returned model holds the EMA weights of the epoch whose
    validation end point is nearest the teacher's (``val_end``).

    Arguments:
        model: The teacher (a flow-decoder HyperVAE).
        trajectories: :func:`teacher_trajectories` of this teacher.
        epochs: Passes over the training trajectories.
        batch_size: Jets per step.
        lr: Peak learning rate.
        ema_decay: Decay of the weight average (0: none).
        val_fraction: Trajectories held out (the last ones) to validate each epoch.
        seed: Seed of the shuffling.
        progress: Show a progress bar.
        rollout: Start each segment after the first from the student's own Euler state
            (detached) instead of the teacher's, and target the teacher's next state
            from there: the student learns to correct its own drift, so the end point,
            not each segment alone, is what it is trained to hit. ``False`` (teacher
            forcing) trains every segment from the teacher's states.

    Returns:
        The distilled model (``model`` is unchanged) and one record per epoch:
        ``epoch``, ``train`` (mean training loss), ``val`` (EMA weights), ``val_end``
        (mean squared distance, per real particle, of the student's own ``k``-step
        end point from the teacher's: comparable between ``rollout`` settings), plus
        at epoch 0 ``teacher_val`` and ``teacher_val_end``: the same for the undistilled
        field (what a plain ``k``-step Euler integration of the teacher would do).

    Raises:
        ValueError: Not a flow-decoder model, trajectories missing a key or of another
            model's size, or bad settings (named).
    """
    from ..training.ema import ExponentialMovingAverage
    from ..training.schedules import warmup_cosine
    from .flow import _with_flow_settings

    _flow_of(model)
    missing = [k for k in _KEYS if k not in trajectories]
    if missing:
        msg = f"trajectories: missing {missing} (use teacher_trajectories)"
        raise ValueError(msg)
    states = trajectories["states"]
    per_jet = (model.config.max_particles, 3)
    if states.dim() != 4 or states.shape[1] < 2 or tuple(states.shape[2:]) != per_jet:
        msg = (
            f"trajectories['states']: expected [N, k + 1, {model.config.max_particles}, 3], "
            f"got {tuple(states.shape)}"
        )
        raise ValueError(msg)
    _positive(epochs=epochs, batch_size=batch_size)
    if not 0.0 <= val_fraction < 1.0:
        msg = f"val_fraction: expected a number in [0, 1), got {val_fraction!r}"
        raise ValueError(msg)
    k = states.shape[1] - 1
    student, decoder = _with_flow_settings(model, None, distilled_steps=k, steps=k, solver="euler")
    flow = decoder.flow
    for p in student.parameters():
        p.requires_grad_(False)
    field = flow.velocity
    for p in field.parameters():
        p.requires_grad_(True)
    param = next(field.parameters())
    n = states.shape[0]
    n_val = round(n * val_fraction)
    train_idx, val_idx = torch.arange(n - n_val), torch.arange(n - n_val, n)
    if len(train_idx) < 1:
        msg = f"trajectories: {n} jets leave none to train on with val_fraction={val_fraction}"
        raise ValueError(msg)
    optimiser = torch.optim.AdamW(field.parameters(), lr=lr, weight_decay=0.0)
    ema = ExponentialMovingAverage(field, ema_decay) if ema_decay else None
    per_epoch = math.ceil(len(train_idx) / batch_size)
    total = epochs * per_epoch
    warmup = max(1, total // 50)
    gen = torch.Generator().manual_seed(seed)

    def inputs(index: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        z = trajectories["z"][index].to(param.device, param.dtype)
        types = trajectories["jet_type"][index].to(param.device).long()
        mult = trajectories["multiplicity"][index].to(param.device).long()
        scalar = trajectories["scalar"][index].to(param.device, param.dtype)
        x = states[index].to(param.device, param.dtype)
        mask = torch.arange(x.shape[2], device=param.device)[None, :] < mult[:, None]
        with torch.no_grad():
            cond = flow._condition(z, flow.type_embedding(types), scalar, mult)
        return x, cond, mask

    def loss_of(x: Tensor, cond: Tensor, mask: Tensor, own: bool) -> Tensor:
        b = x.shape[0]
        if not own:  # teacher forcing: all k segments in one batch
            starts = x[:, :-1].reshape(b * k, *x.shape[2:])
            ends = x[:, 1:].reshape(b * k, *x.shape[2:])
            t = (torch.arange(k, device=param.device, dtype=param.dtype) / k).repeat(b)
            v = field(starts, t, cond.repeat_interleave(k, 0), mask.repeat_interleave(k, 0))
            return euler_distillation_loss(v, starts, ends, 1.0 / k, mask.repeat_interleave(k, 0))
        state, total = x[:, 0], x.new_zeros(())
        for j in range(k):
            t = torch.full((b,), j / k, device=param.device, dtype=param.dtype)
            v = field(state, t, cond, mask)
            total = total + euler_distillation_loss(v, state, x[:, j + 1], 1.0 / k, mask)
            state = state + v.detach() / k
        return total / k

    @torch.no_grad()
    def end_error(x: Tensor, cond: Tensor, mask: Tensor) -> Tensor:
        """Mean squared distance per real particle of the student's k-step end point."""
        end = flow._integrate(x[:, 0], cond, mask, k, "euler")  # what sampling does
        return _masked_squared_error(end, x[:, -1], mask[..., None])

    @torch.no_grad()
    def validate() -> tuple[float, float]:
        if not n_val:
            return float("nan"), float("nan")
        field.eval()
        loss = end = 0.0
        for i in range(0, n_val, 1024):
            chunk = inputs(val_idx[i : i + 1024])
            size = chunk[0].shape[0]
            loss += float(loss_of(*chunk, rollout)) * size
            end += float(end_error(*chunk)) * size
        return loss / n_val, end / n_val

    history: list[dict[str, float]] = []
    teacher_val, teacher_end = validate()
    best, best_state = math.inf, copy.deepcopy(field.state_dict())
    bar = _progress(total, f"distilling ({k} Euler steps)", progress)
    step = 0
    try:
        for epoch in range(epochs):
            field.train()
            order = train_idx[torch.randperm(len(train_idx), generator=gen)]
            running = 0.0
            for i in range(0, len(order), batch_size):
                for group in optimiser.param_groups:
                    group["lr"] = lr * warmup_cosine(step, warmup, total, 0.01)
                loss = loss_of(*inputs(order[i : i + batch_size]), rollout)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(field.parameters(), 1.0)
                optimiser.step()
                step += 1
                if ema is not None:
                    ema.update(field, step)
                running += float(loss.detach())
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
            record = {"epoch": float(epoch), "train": running / per_epoch}
            if ema is not None:
                with ema.swapped(field):
                    record["val"], record["val_end"] = validate()
                    candidate = copy.deepcopy(field.state_dict())
            else:
                record["val"], record["val_end"] = validate()
                candidate = copy.deepcopy(field.state_dict())
            if epoch == 0:
                record["teacher_val"], record["teacher_val_end"] = teacher_val, teacher_end
            history.append(record)
            if not n_val or record["val_end"] < best:
                best, best_state = record["val_end"], candidate
    finally:
        if bar is not None:
            bar.close()
    field.load_state_dict(best_state)
    for p in student.parameters():
        p.requires_grad_(True)
    return student.eval(), history


def _positive(**values: object) -> None:
    """Refuses a value that is not an int >= 1, naming it."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            msg = f"{name}: expected an int >= 1, got {value!r}"
            raise ValueError(msg)


def _progress(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="it" if "distil" in desc else "jet")

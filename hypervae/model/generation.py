r"""Generation: latent codes to awkward jets in GeV (:func:`sample`, :func:`iter_sample`,
:func:`reconstruct`).

**Seed-stable draws.** Every random number a generated jet needs (its type, its latent
code, its multiplicity and its azimuth) is drawn per jet from a private generator: jets
are grouped in fixed blocks of :data:`BLOCK` by their index in the stream, and block
``b`` of seed ``s`` has its own ``torch.Generator`` seeded from
``numpy.random.SeedSequence(s, spawn_key=(b,))``. The jets of a seed are therefore the
same whatever ``batch_size`` (or chunking) decodes them, and the global torch and numpy
random states are never touched (``seed=None`` takes fresh entropy from the OS).

**Exact massless output.** With ``particle_output="frame"`` the particles are massless
by construction; they are rebuilt in float64 as ``E = |p|`` in the jet frame, moved to
the lab in float64, and stored with ``mass = 0`` exactly.

**Physical frame.** The jet head gives ``(pT, eta, mass)``; the particles, decoded in the
canonical frame (scale pT), are boosted to the jet's rapidity and rotated to an azimuth
drawn uniformly (the model is invariant under rotations about the beam).
"""

from __future__ import annotations

import math
import numbers
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import awkward as ak
import numpy as np
import torch
from torch import Tensor

from ..datasets.jets import JET_TYPES, jet_type_code, make_jets
from ..physics.kinematics import JetFrame, cartesian_to_ptetaphim, from_jet_frame

if TYPE_CHECKING:
    from .network import HyperVAE

__all__ = ["BLOCK", "check_decoder_args", "check_sample_args", "iter_sample", "sample"]

#: Jets per block of random numbers (see the module docstring). Part of the seed contract.
BLOCK = 256
#: Rough bytes an in-memory generated jet takes per particle slot (records + temporaries).
_BYTES_PER_SLOT = 200


@dataclass(frozen=True)
class _Settings:
    codes: Tensor | None  # one type for all jets, or None to draw
    choices: Tensor  # type codes to draw from
    cdf: Tensor  # their cumulative probabilities
    temperature: float
    seed: int
    batch_size: int
    learned: bool
    head: bool
    steps: int | None = None
    solver: str | None = None


def check_sample_args(
    n_jets: Any, temperature: Any, seed: Any, batch_size: Any, prior: Any = "learned"
) -> None:
    """Refuses bad :func:`sample` arguments with a message naming the argument.

    Raises:
        TypeError: ``n_jets``/``batch_size`` not an int, ``seed`` not an int or None,
            ``temperature`` not a number.
        ValueError: ``n_jets``/``batch_size`` < 1, ``temperature`` not finite and > 0,
            ``prior`` not ``"learned"``/``"normal"``.
    """
    _positive_int("n_jets", n_jets)
    _positive_int("batch_size", batch_size)
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        msg = f"temperature: expected a finite number > 0, got {temperature!r}"
        raise TypeError(msg)
    if not (math.isfinite(float(temperature)) and float(temperature) > 0):
        msg = f"temperature: expected a finite number > 0, got {temperature!r}"
        raise ValueError(msg)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        msg = f"seed: expected an int or None, got {seed!r} ({type(seed).__name__})"
        raise TypeError(msg)
    if prior not in ("learned", "normal"):
        msg = f"prior must be 'learned' or 'normal', got {prior!r}"
        raise ValueError(msg)


def check_decoder_args(model: HyperVAE, steps: Any, solver: Any) -> None:
    """Refuses ODE settings the model's particle decoder cannot take, naming the argument.

    Raises:
        ValueError: ``steps``/``solver`` given for the slot decoder, or a bad value for
            the flow decoder (``steps`` < 1, an unknown ``solver``, settings other than
            a distilled decoder's own).
    """
    from .flow import FlowParticleDecoder, check_ode_options
    from .slots import check_no_ode

    if model.config.decoder == "slots":
        check_no_ode(steps, solver)
    else:
        check_ode_options(steps, solver)
        if isinstance(model.particle_decoder, FlowParticleDecoder):  # a distilled one's own
            model.particle_decoder.flow.ode_settings(steps, solver)


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        msg = f"{name}: expected an int >= 1, got {value!r} ({type(value).__name__})"
        raise TypeError(msg)
    if value < 1:
        msg = f"{name}: expected an int >= 1, got {value}"
        raise ValueError(msg)


def _settings(
    model: HyperVAE,
    jet_type: Any,
    temperature: float,
    seed: int | None,
    batch_size: int,
    prior: str,
    head: bool,
    steps: int | None = None,
    solver: str | None = None,
) -> _Settings:
    codes: Tensor | None = None
    choices = torch.arange(len(JET_TYPES))
    probs = torch.full((len(JET_TYPES),), 1.0 / len(JET_TYPES), dtype=torch.float64)
    if isinstance(jet_type, dict):
        names = list(jet_type)
        probs = torch.tensor([float(jet_type[k]) for k in names], dtype=torch.float64)
        if not bool(torch.isfinite(probs).all()) or probs.sum() <= 0 or bool((probs < 0).any()):
            msg = f"jet_type fractions must be non-negative and not all zero, got {jet_type}"
            raise ValueError(msg)
        choices = torch.tensor([jet_type_code(k) for k in names])
    elif jet_type is not None:
        codes = torch.tensor(jet_type_code(jet_type))
    fitted = model.prior is not None and bool(model.prior.fitted.any())
    return _Settings(
        codes=codes,
        choices=choices,
        cdf=(probs / probs.sum()).cumsum(0),
        temperature=float(temperature),
        seed=secrets.randbits(63) if seed is None else int(seed),
        batch_size=int(batch_size),
        learned=prior == "learned" and fitted,
        head=head,
        steps=steps,
        solver=solver,
    )


def _block_generator(seed: int, block: int) -> torch.Generator:
    state = np.random.SeedSequence(seed % 2**128, spawn_key=(block,)).generate_state(2)
    value = (int(state[0]) << 31 ^ int(state[1])) & (2**63 - 1)
    return torch.Generator().manual_seed(value)


def _randomness(
    seed: int,
    start: int,
    stop: int,
    latent_dim: int,
    noise: tuple[int, ...] | None = None,
    max_particles: int = 1,
) -> dict[str, Tensor]:
    """The random numbers of jets ``start..stop-1`` of the stream of ``seed``.

    ``noise``: the per-jet shape of standard normal numbers the particle decoder needs
    (drawn after the others, so a decoder without noise sees the same streams);
    ``species``: ``max_particles`` uniform numbers per jet for the particle masses.
    """
    keys = ("type", "comp", "eps", "mult", "phi") + (("noise",) if noise is not None else ())
    keys += ("species",)
    parts: dict[str, list[Tensor]] = {k: [] for k in keys}
    for block in range(start // BLOCK, (stop - 1) // BLOCK + 1):
        gen = _block_generator(seed, block)
        drawn = {
            "type": torch.rand(BLOCK, generator=gen, dtype=torch.float64),
            "comp": torch.rand(BLOCK, generator=gen, dtype=torch.float64),
            "eps": torch.randn(BLOCK, latent_dim, generator=gen, dtype=torch.float64),
            "mult": torch.rand(BLOCK, generator=gen, dtype=torch.float64),
            "phi": torch.rand(BLOCK, generator=gen, dtype=torch.float64),
        }
        if noise is not None:
            drawn["noise"] = torch.randn(BLOCK, *noise, generator=gen, dtype=torch.float64)
        # last, so that the streams above are those of models without particle masses
        drawn["species"] = torch.rand(BLOCK, max_particles, generator=gen, dtype=torch.float64)
        lo = max(start - block * BLOCK, 0)
        hi = min(stop - block * BLOCK, BLOCK)
        for key, value in drawn.items():
            parts[key].append(value[lo:hi])
    return {k: torch.cat(v) for k, v in parts.items()}


def _draws(
    model: HyperVAE, s: _Settings, lo: int, hi: int
) -> tuple[dict[str, Tensor], Tensor, Tensor]:
    """The random numbers, type codes and latent codes of jets ``lo..hi-1`` of the stream
    of ``s.seed`` (what every consumer of the stream, sampling or distillation, starts from)."""
    shape = model.particle_decoder.noise_shape
    rnd = _randomness(s.seed, lo, hi, model.config.latent_dim, shape, model.config.max_particles)
    if s.codes is not None:
        types = s.codes.expand(hi - lo).clone()
    else:
        index = (s.cdf[None, :] <= rnd["type"][:, None]).sum(-1)
        types = s.choices[index.clamp(max=len(s.choices) - 1)]
    return rnd, types, _latent(model, types, rnd, s)


def _latent(model: HyperVAE, types: Tensor, rnd: dict[str, Tensor], s: _Settings) -> Tensor:
    if s.learned:
        assert model.prior is not None
        z = model.prior.transform(types, rnd["comp"], rnd["eps"])
        if s.temperature != 1.0:  # scale the spread around the nearest component mean
            means = model.prior.means.detach().cpu().double()[types]  # [B, K, D]
            nearest = (z[:, None, :] - means).pow(2).sum(-1).argmin(-1)
            centre = means[torch.arange(len(types)), nearest]
            z = centre + s.temperature * (z - centre)
        return z
    return rnd["eps"] * s.temperature


def _to_jets(
    p4: np.ndarray,
    mask: np.ndarray,
    types: np.ndarray,
    massless: bool,
    heads: np.ndarray | None,
    masses: np.ndarray | None = None,
) -> ak.Array:
    """Awkward jets of padded lab particles; ``masses [B, P]`` (GeV, by pT rank) replace
    the particles' masses at fixed ``(pt, eta, phi)`` when given."""
    pt, eta, phi, mass = cartesian_to_ptetaphim(p4[mask])
    if massless:
        mass = np.zeros_like(pt)
    counts = mask.sum(axis=1).astype(np.int64)
    flat = ak.zip({"pt": pt, "eta": eta, "phi": phi, "mass": mass}, with_name="Momentum4D")
    particles = ak.unflatten(flat, counts)
    particles = particles[ak.argsort(particles.pt, axis=1, ascending=False)]
    if masses is not None:  # by rank: the sorted particles fill ranks 0..n-1
        ranked = np.arange(masses.shape[1])[None, :] < counts[:, None]
        by_rank = ak.unflatten(masses[ranked].astype(np.float64), counts)
        particles = ak.zip(
            {"pt": particles.pt, "eta": particles.eta, "phi": particles.phi, "mass": by_rank},
            with_name="Momentum4D",
        )
    jets = make_jets(particles, types)
    if heads is not None:
        for k, name in enumerate(("head_pt", "head_eta", "head_mass")):
            jets = ak.with_field(jets, heads[:, k], name)
    return jets


def _multiplicity(logits: Tensor, uniform: Tensor | None) -> Tensor:
    """Multiplicities ``1..P`` of the head's ``logits [B, P]``: the inverse CDF of the
    per-jet uniform numbers, or the most likely one where ``uniform`` is None."""
    probs = logits.softmax(-1).cpu().double()
    if uniform is None:
        return probs.argmax(-1) + 1
    cdf = probs.cumsum(-1)
    return (cdf <= uniform[:, None] * cdf[:, -1:]).sum(-1).clamp(max=probs.shape[1] - 1) + 1


@torch.no_grad()
def _decode_batch(
    model: HyperVAE,
    z: Tensor,
    types: Tensor,
    mult_u: Tensor | None,
    phi: Tensor,
    first: int,
    noise: Tensor | None = None,
    ode: dict[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Physical particles ``[B, P, 4]`` float64, their mask and the head's jets ``[B, 3]``."""
    param = next(model.parameters())
    out = model.decode(z.to(param.device, param.dtype), types.to(param.device))
    jet = model.denormalize(out.jet).cpu().double()
    mult = _multiplicity(out.mult_logits, mult_u)
    options = {k: v for k, v in (ode or {}).items() if v is not None}  # checked up front
    p4, mask = model.particle_decoder.sample(out, mult, noise, **options)
    pt, eta, mass = jet.unbind(-1)
    with torch.no_grad():
        rap = torch.asinh(pt * torch.sinh(eta) / torch.sqrt(pt**2 + mass**2))
    valid = torch.where(mask[..., None], p4, torch.zeros_like(p4))
    good = torch.isfinite(valid).all(-1).all(-1) & torch.isfinite(jet).all(-1) & (pt > 0)
    good &= torch.isfinite(rap)
    if bool(good.all()):
        frame = JetFrame(rapidity=rap.numpy(), phi=phi.numpy(), scale=pt.numpy())
        with np.errstate(over="ignore", invalid="ignore"):
            lab = from_jet_frame(p4.numpy(), mask.numpy(), frame)
        good &= torch.from_numpy(np.isfinite(lab).all(axis=(1, 2)))
    if not bool(good.all()):
        bad = int(torch.argmin(good.to(torch.int8)))
        msg = (
            f"sample: the model produced non-finite or zero-pT values for jet {first + bad} "
            f"(head pT, eta, mass = {jet[bad].tolist()}); nothing was returned. A very "
            "large temperature, an overflowing latent code or a broken normalisation does "
            "this: lower the temperature or check the model"
        )
        raise ValueError(msg)
    return lab, mask.numpy(), jet.numpy()


def _generate(model: HyperVAE, start: int, stop: int, s: _Settings) -> ak.Array:
    """The jets ``start..stop-1`` of the stream of ``s.seed``."""
    was_training = model.training
    model.eval()
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Tensor | None]] = []
    try:
        for lo in range(start, stop, s.batch_size):
            hi = min(lo + s.batch_size, stop)
            rnd, types, z = _draws(model, s, lo, hi)
            phi = (rnd["phi"] * 2 - 1) * torch.pi
            noise = rnd.get("noise")
            ode = {"steps": s.steps, "solver": s.solver}
            p4, mask, heads = _decode_batch(model, z, types, rnd["mult"], phi, lo, noise, ode)
            masses = model.particle_decoder.particle_masses(rnd["species"], types)
            parts.append((p4, mask, types.numpy(), heads, masses))
    finally:
        model.train(was_training)
    return _to_jets(
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        model.particle_decoder.massless,
        np.concatenate([p[3] for p in parts]) if s.head else None,
        _masses([p[4] for p in parts]),
    )


def _masses(parts: list[Tensor | None]) -> np.ndarray | None:
    if any(m is None for m in parts):
        return None
    return torch.cat([m for m in parts if m is not None]).cpu().double().numpy()


def _memory_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def sample(
    model: HyperVAE,
    n_jets: int,
    jet_type: str | int | dict[str, float] | None = "g",
    temperature: float = 1.0,
    seed: int | None = None,
    batch_size: int = 4096,
    prior: str = "learned",
    head: bool = False,
    steps: int | None = None,
    solver: str | None = None,
) -> ak.Array:
    """Generates ``n_jets`` jets in physical units (GeV) as an awkward jets array.

    Arguments:
        model: The model.
        n_jets: Number of jets (an int >= 1).
        jet_type: One type, ``None`` (uniform over types) or a dict of fractions.
        temperature: Scale of the latent prior's spread (finite, > 0).
        seed: Seed of the private per-jet generators; the same seed gives the same jets
            whatever ``batch_size``. ``None``: fresh entropy. The global RNGs are untouched.
        batch_size: Jets decoded at once (memory, not results).
        prior: ``"learned"`` draws latent codes from the fitted mixture prior (the
            standard normal where none is fitted), ``"normal"`` from the standard normal.
        head: Also return the jet head's ``head_pt``, ``head_eta``, ``head_mass`` (GeV),
            which set the frame the particles were decoded in; the jet's own ``pt``,
            ``eta``, ``mass`` are always the sums of its particles.
        steps, solver: ODE steps (an int >= 1) and solver (``"euler"``, ``"midpoint"``,
            ``"heun"``) of the flow decoder; its config's by default. The slot decoder
            refuses them.

    Returns:
        Jets as :func:`hypervae.datasets.make_jets` builds them, particles sorted by pT.

    Raises:
        TypeError, ValueError: A bad argument (named), non-finite output (the jet index),
            or more jets than fit in this machine's memory (use :func:`iter_sample`).
    """
    check_sample_args(n_jets, temperature, seed, batch_size, prior)
    check_decoder_args(model, steps, solver)
    need = int(n_jets) * model.config.max_particles * _BYTES_PER_SLOT
    have = _memory_bytes()
    if have is not None and need > have:
        msg = (
            f"n_jets={n_jets}: the jets would need about {need / 1e9:.1f} GB in memory, more "
            f"than this machine's {have / 1e9:.1f} GB; use iter_sample (or 'hypervae "
            "generate', which streams to its output file)"
        )
        raise ValueError(msg)
    s = _settings(model, jet_type, temperature, seed, batch_size, prior, head, steps, solver)
    return _generate(model, 0, int(n_jets), s)


def iter_sample(
    model: HyperVAE,
    n_jets: int,
    jet_type: str | int | dict[str, float] | None = "g",
    temperature: float = 1.0,
    seed: int | None = None,
    batch_size: int = 4096,
    prior: str = "learned",
    head: bool = False,
    chunk_size: int = 65536,
    steps: int | None = None,
    solver: str | None = None,
) -> Iterator[ak.Array]:
    """The jets of :func:`sample` in chunks of ``chunk_size`` (bounded memory).

    The concatenated chunks equal ``sample(...)`` with the same arguments and seed.
    Arguments are checked before the first chunk is generated.
    """
    check_sample_args(n_jets, temperature, seed, batch_size, prior)
    check_decoder_args(model, steps, solver)
    _positive_int("chunk_size", chunk_size)
    s = _settings(model, jet_type, temperature, seed, batch_size, prior, head, steps, solver)

    def chunks() -> Iterator[ak.Array]:
        for lo in range(0, int(n_jets), int(chunk_size)):
            yield _generate(model, lo, min(lo + int(chunk_size), int(n_jets)), s)

    return chunks()

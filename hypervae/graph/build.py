r"""Jets -> hypergraphs, vectorised over padded chunks of jets.

Each jet becomes a :class:`~hypervae.graph.data.HypergraphData` with

- ``x [n, 4]`` float32: particle ``(E, px, py, pz)`` in the canonical jet frame
  (:func:`hypervae.physics.to_jet_frame`: a longitudinal boost and an azimuthal rotation,
  then division by one scale per jet, the jet :math:`p_T` by default);
  ``frame [1, 3]`` float64 ``(rapidity, phi, scale)`` undoes it (:func:`to_physical`);
- ``edge_index [2, M]`` (row 0 source, row 1 target) and ``edge_attr [M, 5]`` float32:
  :data:`~hypervae.graph.data.EDGE_FEATURES` = ``w_i w_j`` (the 2-point energy weight,
  ``w = p_T / sum p_T``), ``ln ΔR``, ``ln kT``, ``ln z``, ``ln m²`` (GeV², lab units; see
  :mod:`hypervae.physics.pairwise`). ``edges="all"`` stores both directions of every pair
  ``i != j`` ordered by source then target; ``edges="knn"`` stores, for each target, edges
  from its ``edge_k`` nearest neighbours in (y, phi), nearest first;
- ``hyperedge_index [2, K n]`` (row 0 particle, row 1 hyperedge) and ``hyperedge_attr
  [K, 4]`` float32: :data:`~hypervae.graph.data.HYPEREDGE_FEATURES` = the N-point weight
  :math:`N! \prod_a w_{i_a}` (as :func:`hypervae.physics.tuple_values`), :math:`\ln R_L`
  (largest ΔR in the tuple) and the shape variables :math:`\ln(R_S/R_L)` and
  :math:`\ln(R_M/R_L)` with :math:`R_S` the smallest and :math:`R_M` the second largest
  ΔR of the tuple (for triplets, the sorted sides of the triangle; 0 for pairs). ΔR is
  clamped below at ``1e-8`` before logarithms. The tuples come from the configured budget
  (:func:`~hypervae.graph.budget.select_tuples`), members ascending, tuples in
  lexicographic order;
- ``y [1, 4]`` float32: :data:`~hypervae.graph.data.Y_FEATURES` = jet type code,
  ``ln pT``, ``eta``, ``ln max(mass, 1e-3 GeV)`` of the jet (its stored jet-level fields
  when present, else the sum of its particles);
- ``eec_hist [1, len(eec_n) * eec_bins]`` float32: the per-jet projected N-point EEC
  histograms (:func:`hypervae.physics.eec`, unnormalised weights per bin), one block per
  ``eec_n``;
- ``n_particles [1]`` int64.

Every feature is computed in float64 from the stored particle coordinates, whatever
their storage dtype (:func:`hypervae.physics.to_padded`), and only then stored as
float32: float32 and float64 copies of the same jets give identical graphs.

Particles keep the input order (unless ``max_particles`` is set: then the leading ones
by :math:`p_T`, hardest first). All edge and hyperedge features are invariant under
longitudinal boosts and rotations about the beam axis.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import awkward as ak
import numpy as np
import torch
from tqdm.auto import tqdm

from ..datasets.checks import check_jets
from ..datasets.jets import jet_type_code
from ..physics import (
    JetFrame,
    cartesian_to_ptetaphim,
    eec,
    from_jet_frame,
    jet_p4,
    pairwise_features,
    to_jet_frame,
    to_padded,
)
from .budget import select_tuples
from .config import HypergraphConfig
from .data import HypergraphData

__all__ = [
    "MASS_FLOOR",
    "build_from_arrays",
    "build_hypergraph",
    "build_hypergraphs",
    "iter_hypergraphs",
    "jet_arrays",
    "to_physical",
]

MASS_FLOOR = 1e-3
_LN_EPS = float(np.log(1e-8))


def jet_arrays(
    jets: ak.Array, max_particles: int | None = None, jet_type: int | str | None = None
) -> dict[str, np.ndarray]:
    """Padded numpy arrays of jets: the input of :func:`build_from_arrays`.

    Arguments:
        jets: Jets (records with ``particles``, ``jet_type`` and optionally ``pt``, ``eta``,
            ``mass``) or bare particles (then ``jet_type`` is required); validated with
            :func:`hypervae.datasets.check_jets` (bad input raises, naming the jet).
        max_particles: Keep the leading particles by pT (hardest first).
        jet_type: Type for all jets (``"g"``... or a code 0-4), overriding a ``jet_type``
            field.

    Returns:
        ``{"p4": [N, P, 4] float64, "mask": [N, P], "type", "pt", "eta", "mass": [N]}``.
    """
    if isinstance(jets, ak.Record):
        layout = jets.layout
        jets = ak.Array(layout.array[layout.at : layout.at + 1], behavior=jets.behavior)
    jets = check_jets(jets)
    fields = ak.fields(jets)
    p4, mask = to_padded(jets["particles"] if "particles" in fields else jets)
    if max_particles is not None and p4.shape[1] > max_particles:
        pt = np.where(mask, np.hypot(p4[..., 1], p4[..., 2]), -np.inf)
        order = np.argsort(-pt, axis=1, kind="stable")[:, :max_particles]
        p4 = np.take_along_axis(p4, order[..., None], axis=1)
        mask = np.take_along_axis(mask, order, axis=1)
    if jet_type is not None:
        codes = np.full(len(jets), jet_type_code(jet_type), dtype=np.int64)
    elif "jet_type" in fields or "type" in fields:
        name = "jet_type" if "jet_type" in fields else "type"
        codes = ak.to_numpy(jets[name]).astype(np.int64)
    else:
        msg = "jets: no 'jet_type' field (bare particles?); pass jet_type=<code 0-4>"
        raise ValueError(msg)
    if {"particles", "pt", "eta", "mass"} <= set(fields):
        pt, eta, mass = (ak.to_numpy(jets[f]).astype(np.float64) for f in ("pt", "eta", "mass"))
    else:
        pt, eta, _, mass = cartesian_to_ptetaphim(jet_p4(jets))
    return {"p4": p4, "mask": mask, "type": codes, "pt": pt, "eta": eta, "mass": mass}


def _edges(
    feats: np.ndarray, w2: np.ndarray, ln_dr: np.ndarray, mask: np.ndarray, config: HypergraphConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flat ``jet, src, dst, attr`` of a chunk, grouped by jet."""
    size = mask.shape[1]
    eye = np.eye(size, dtype=bool)
    pair = mask[:, :, None] & mask[:, None, :] & ~eye
    if config.edges == "all":
        jet, src, dst = np.nonzero(pair)
    else:
        dist = np.where(pair, ln_dr, np.inf)
        kk = min(config.edge_k, max(size - 1, 1))
        nb = np.argsort(dist, axis=1, kind="stable")[:, :kk, :]  # sources per target column
        ok = np.isfinite(np.take_along_axis(dist, nb, axis=1)) & mask[:, None, :]
        jet, dst, rank = np.nonzero(np.swapaxes(ok, 1, 2))  # by jet, target, rank
        src = nb[jet, rank, dst]
    attr = np.concatenate([w2[jet, src, dst][:, None], feats[jet, src, dst]], axis=1)
    return jet, src, dst, attr


def _hyperedge_attr(
    ln_dr: np.ndarray, w: np.ndarray, jet: np.ndarray, tuples: np.ndarray
) -> np.ndarray:
    n = tuples.shape[1]
    a, b = np.triu_indices(n, k=1)
    sides = np.sort(ln_dr[jet[:, None], tuples[:, a], tuples[:, b]], axis=1)  # [T, m]
    ln_rl = sides[:, -1]
    ln_rs = sides[:, 0] - ln_rl
    ln_rm = sides[:, -2] - ln_rl if sides.shape[1] > 1 else np.zeros_like(ln_rl)
    weight = np.prod(w[jet[:, None], tuples], axis=1) * float(np.prod(np.arange(1, n + 1)))
    return np.stack([weight, ln_rl, ln_rs, ln_rm], axis=1)


def _chunk(
    arrays: dict[str, np.ndarray], config: HypergraphConfig, offset: int
) -> list[HypergraphData]:
    mask = arrays["mask"]
    counts = mask.sum(axis=1)
    size = max(int(counts.max(initial=0)), 1)
    p4, mask = arrays["p4"][:, :size], mask[:, :size]
    bad = counts < 1
    if np.any(bad):
        msg = f"jet {offset + int(np.argmax(bad))}: has no particles; expected at least 1"
        raise ValueError(msg)
    x, frame = to_jet_frame(p4, mask, scale=config.scale)
    feats, w2 = pairwise_features(p4, mask)
    ln_dr = np.maximum(feats[..., 0], _LN_EPS)
    pt = np.where(mask, np.hypot(p4[..., 1], p4[..., 2]), 0.0)
    w = pt / pt.sum(axis=1, keepdims=True)
    e_jet, e_src, e_dst, e_attr = _edges(feats, w2, ln_dr, mask, config)
    h_jet, tuples = select_tuples(
        ln_dr, w, counts, config.n_points, config.budget, config.k,
        config.max_all_particles, jet_offset=offset,
    )  # fmt: skip
    h_attr = _hyperedge_attr(ln_dr, w, h_jet, tuples)
    hists = [
        eec((p4, mask), n=n, bins=config.eec_bins, rl_range=config.eec_range, max_tuples=2**20)
        for n in config.eec_n
        if not (n == 4 and size > 50)
    ]
    if len(hists) != len(config.eec_n):
        msg = f"jets {offset}..: eec_n contains 4, limited to jets of at most 50 particles"
        raise ValueError(msg)
    hist = np.concatenate(hists, axis=1) if hists else np.zeros((len(counts), 0))
    y = np.stack(
        [
            arrays["type"].astype(np.float64),
            np.log(arrays["pt"]),
            arrays["eta"],
            np.log(np.maximum(arrays["mass"], MASS_FLOOR)),
        ],
        axis=1,
    )
    frames = np.stack([frame.rapidity, frame.phi, frame.scale], axis=1)
    # flat torch tensors, then per-jet views
    tx = torch.from_numpy(x[mask].astype(np.float32))
    t_ei = torch.from_numpy(np.stack([e_src, e_dst]).astype(np.int64))
    t_ea = torch.from_numpy(e_attr.astype(np.float32))
    n = config.n_points
    t_hi = torch.from_numpy(tuples.reshape(-1).astype(np.int64))
    t_ha = torch.from_numpy(h_attr.astype(np.float32))
    t_y = torch.from_numpy(y.astype(np.float32))
    t_hist = torch.from_numpy(hist.astype(np.float32))
    t_frame = torch.from_numpy(frames)
    x_off = np.concatenate([[0], np.cumsum(counts)])
    e_off = np.searchsorted(e_jet, np.arange(len(counts) + 1))
    h_off = np.searchsorted(h_jet, np.arange(len(counts) + 1))
    graphs = []
    for j in range(len(counts)):
        n_h = int(h_off[j + 1] - h_off[j])
        hyper = torch.stack(
            [t_hi[h_off[j] * n : h_off[j + 1] * n], torch.arange(n_h).repeat_interleave(n)]
        )
        graphs.append(
            HypergraphData(
                x=tx[x_off[j] : x_off[j + 1]],
                edge_index=t_ei[:, e_off[j] : e_off[j + 1]],
                edge_attr=t_ea[e_off[j] : e_off[j + 1]],
                hyperedge_index=hyper,
                hyperedge_attr=t_ha[h_off[j] : h_off[j + 1]],
                y=t_y[j : j + 1],
                eec_hist=t_hist[j : j + 1],
                frame=t_frame[j : j + 1],
                n_particles=torch.tensor([int(counts[j])]),
            )
        )
    return graphs


def _take(arrays: dict[str, np.ndarray], sel: slice) -> dict[str, np.ndarray]:
    return {key: value[sel] for key, value in arrays.items()}


def iter_hypergraphs(
    arrays: dict[str, np.ndarray], config: HypergraphConfig | dict[str, Any] | None = None,
    offset: int = 0,
) -> Iterator[list[HypergraphData]]:  # fmt: skip
    """Yields the graphs of :func:`build_from_arrays` one chunk of jets at a time."""
    config = HypergraphConfig.from_dict(config or {})
    n_jets = len(arrays["type"])
    for start in range(0, n_jets, config.chunk_size):
        sel = slice(start, min(start + config.chunk_size, n_jets))
        yield _chunk(_take(arrays, sel), config, offset + start)


def build_from_arrays(
    arrays: dict[str, np.ndarray],
    config: HypergraphConfig | dict[str, Any] | None = None,
    offset: int = 0,
    progress: bool = False,
) -> list[HypergraphData]:
    """Hypergraphs of jets given as :func:`jet_arrays` (chunked, vectorised)."""
    config = HypergraphConfig.from_dict(config or {})
    graphs: list[HypergraphData] = []
    with tqdm(total=len(arrays["type"]), disable=not progress, unit="jet") as bar:
        for chunk in iter_hypergraphs(arrays, config, offset):
            graphs.extend(chunk)
            bar.update(len(chunk))
    return graphs


def build_hypergraphs(
    jets: ak.Array,
    config: HypergraphConfig | dict[str, Any] | None = None,
    jet_type: int | str | None = None,
    progress: bool = False,
) -> list[HypergraphData]:
    """Builds one hypergraph per jet.

    Arguments:
        jets: Jets array (:func:`hypervae.datasets.make_jets`) or bare particles with
            ``jet_type``, checked with :func:`hypervae.datasets.check_jets` (NaN, empty
            jets, unknown types... raise a ``ValueError`` naming the field and the jet).
            ``config.max_particles`` keeps the leading particles, as documented there.
        config: A :class:`HypergraphConfig` or a dict of its fields.
        jet_type: Type for all jets (required for bare particles), a name or a code.
        progress: Show a progress bar.

    Returns:
        A list of :class:`HypergraphData` (see the module docstring for the fields).

    Examples:
        >>> import numpy as np
        >>> from hypervae.physics import from_padded, ptetaphim_to_cartesian
        >>> from hypervae.datasets import make_jets
        >>> p4 = ptetaphim_to_cartesian([[50.0, 30.0, 20.0]], [[0.0, 0.1, 0.0]], [[0.0, 0.0, 0.1]])
        >>> jets = make_jets(from_padded(p4, np.ones((1, 3), bool)), "q")
        >>> g = build_hypergraphs(jets, {"budget": "all"})[0]
        >>> g.x.shape, g.edge_index.shape, g.hyperedge_index.tolist()
        (torch.Size([3, 4]), torch.Size([2, 6]), [[0, 1, 2], [0, 0, 0]])

    Shapes:
        per graph: ``x [n, 4]``, ``edge_index [2, M]``, ``edge_attr [M, 5]``,
        ``hyperedge_index [2, K n_points]``, ``hyperedge_attr [K, 4]``, ``y [1, 4]``,
        ``eec_hist [1, len(eec_n) eec_bins]``, ``frame [1, 3]``, ``n_particles [1]``.
    """
    config = HypergraphConfig.from_dict(config or {})
    arrays = jet_arrays(jets, config.max_particles, jet_type)
    return build_from_arrays(arrays, config, progress=progress)


def build_hypergraph(
    jet: ak.Array | ak.Record,
    config: HypergraphConfig | dict[str, Any] | None = None,
    jet_type: int | str | None = None,
) -> HypergraphData:
    """The hypergraph of a single jet (an ``ak.Record`` or an array of length 1)."""
    graphs = build_hypergraphs(jet, config, jet_type)
    if len(graphs) != 1:
        msg = f"build_hypergraph: expected one jet, got {len(graphs)}"
        raise ValueError(msg)
    return graphs[0]


def to_physical(data: HypergraphData | Sequence[HypergraphData]) -> np.ndarray | list[np.ndarray]:
    """Particle 4-momenta ``(E, px, py, pz)`` in GeV in the lab frame, from ``x`` and ``frame``.

    Shapes:
        output: ``[n, 4]`` float64 per graph.
    """
    if isinstance(data, Sequence):
        return [to_physical(g) for g in data]  # type: ignore[misc]
    x = data.x.detach().cpu().double().numpy()[None]
    f = data.frame.detach().cpu().double().numpy()
    frame = JetFrame(rapidity=f[:, 0], phi=f[:, 1], scale=f[:, 2])
    p4: np.ndarray = from_jet_frame(x, np.ones(x.shape[:2], bool), frame)[0]
    return p4

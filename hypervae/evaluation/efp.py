r"""Energy Flow Polynomials (EFPs) of jets, vectorised over jets with ``numpy.einsum``.

An EFP is indexed by a loopless multigraph :math:`G` with vertices :math:`1..n` and
edges :math:`E` (repeated edges allowed):

.. math::

    \mathrm{EFP}_G = \sum_{i_1=1}^{M} \cdots \sum_{i_n=1}^{M} z_{i_1} \cdots z_{i_n}
    \prod_{(k, l) \in E} \theta_{i_k i_l},

with the hadronic measure (energyflow ``measure="hadr"``): :math:`z_i = p_{T,i}` (the
JetNet feature ``pt_rel``; optionally divided by :math:`\sum_j p_{T,j}`) and
:math:`\theta_{ij} = (\Delta\eta_{ij}^2 + \Delta\phi_{ij}^2)^{\beta/2}` with
:math:`\Delta\phi` wrapped into :math:`[0, \pi]`. The EFP of a disconnected graph is the
product of the EFPs of its components; the graph with no edge is a single vertex,
:math:`\sum_i z_i`.

The graph sets are enumerated here by brute force (canonical form over vertex
permutations), not read from a file:

* :func:`efp_graphs` with ``max_degree=4`` gives the 36 multigraphs without isolated
  vertices and with at most 4 edges (1 empty + 20 connected + 15 disconnected), the set
  of energyflow's ``EFPSet("d<=4")`` that JetNet uses for FPD and KPD;
* :data:`W1EFP_GRAPHS` are the 5 connected graphs with 4 vertices and 4 edges, JetNet's
  default W1-EFP set ``("n==", 4), ("d==", 4), ("p==", 1)``.

Padded particles (``mask`` false or ``pt == 0``) carry :math:`z = 0` and drop out.

References:
    | Komiske, Metodiev, Thaler, Energy Flow Polynomials: A complete linear basis for
    | jet substructure, JHEP 04 (2018) 013, https://arxiv.org/abs/1712.07124
    | Kansal et al., Particle Cloud Generation with Message Passing GANs (JetNet
    | metrics), NeurIPS 2021, https://arxiv.org/abs/2106.11535
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "FPD_GRAPHS",
    "W1EFP_GRAPHS",
    "Graph",
    "connected_graphs",
    "efp_graphs",
    "efps",
    "graph_components",
]

#: A multigraph as a sorted tuple of edges ``(a, b)`` with ``a < b``, vertices ``0..n-1``.
Graph = tuple[tuple[int, int], ...]

_LETTERS = "abcdefghijklm"


def _canonical(edges: Sequence[tuple[int, int]], n: int) -> Graph:
    best: Graph | None = None
    for perm in itertools.permutations(range(n)):
        relabelled = tuple(sorted((min(perm[a], perm[b]), max(perm[a], perm[b])) for a, b in edges))
        if best is None or relabelled < best:
            best = relabelled
    assert best is not None
    return best


def _n_vertices(graph: Graph) -> int:
    return 1 + max((b for _, b in graph), default=0)


def _is_connected(edges: Sequence[tuple[int, int]], n: int) -> bool:
    seen, todo = {0}, [0]
    while todo:
        v = todo.pop()
        for a, b in edges:
            for x, y in ((a, b), (b, a)):
                if x == v and y not in seen:
                    seen.add(y)
                    todo.append(y)
    return len(seen) == n


@lru_cache(maxsize=16)
def connected_graphs(degree: int) -> tuple[Graph, ...]:
    """All non-isomorphic connected loopless multigraphs with ``degree`` edges.

    ``degree=0`` gives the single vertex ``()``. Sorted by (vertices, edges).

    Examples:
        >>> [len(connected_graphs(d)) for d in range(5)]
        [1, 1, 2, 5, 12]
    """
    if degree < 0:
        msg = f"degree must be >= 0, got {degree}"
        raise ValueError(msg)
    if degree == 0:
        return ((),)
    found: set[Graph] = set()
    for n in range(2, degree + 2):
        pairs = list(itertools.combinations(range(n), 2))
        for edges in itertools.combinations_with_replacement(pairs, degree):
            used = {v for e in edges for v in e}
            if len(used) == n and _is_connected(edges, n):
                found.add(_canonical(edges, n))
    return tuple(sorted(found, key=lambda g: (_n_vertices(g), g)))


@lru_cache(maxsize=16)
def efp_graphs(max_degree: int = 4) -> tuple[Graph, ...]:
    """All multigraphs without isolated vertices with at most ``max_degree`` edges.

    The empty graph (one vertex) comes first, then connected graphs by degree, then
    disconnected ones (vertex-disjoint unions of connected graphs with >= 1 edge),
    as energyflow's ``EFPSet("d<=max_degree")`` selects them (in its own order).

    Examples:
        >>> len(efp_graphs(4)), len(efp_graphs(2))
        (36, 5)
    """
    connected = [g for d in range(max_degree + 1) for g in connected_graphs(d)]
    components = [g for g in connected if g]
    disconnected: list[Graph] = []
    for k in range(2, max_degree + 1):
        for combo in itertools.combinations_with_replacement(range(len(components)), k):
            if sum(len(components[i]) for i in combo) <= max_degree:
                disconnected.append(_union([components[i] for i in combo]))
    disconnected.sort(key=lambda g: (len(g), _n_vertices(g), g))
    return (*connected, *disconnected)


def _union(parts: Sequence[Graph]) -> Graph:
    edges: list[tuple[int, int]] = []
    offset = 0
    for part in parts:
        edges.extend((a + offset, b + offset) for a, b in part)
        offset += _n_vertices(part)
    return tuple(sorted(edges))


def graph_components(graph: Graph) -> tuple[Graph, ...]:
    """Connected components of ``graph``, each relabelled canonically.

    Examples:
        >>> graph_components(((0, 1), (2, 3), (2, 3)))
        (((0, 1),), ((0, 1), (0, 1)))
    """
    n = _n_vertices(graph)
    label = list(range(n))

    def find(v: int) -> int:
        while label[v] != v:
            v = label[v]
        return v

    for a, b in graph:
        label[find(a)] = find(b)
    groups: dict[int, list[int]] = {}
    for v in range(n):
        groups.setdefault(find(v), []).append(v)
    out = []
    for vertices in groups.values():
        index = {v: i for i, v in enumerate(vertices)}
        edges = [(index[a], index[b]) for a, b in graph if a in index]
        out.append(_canonical(edges, len(vertices)))
    return tuple(sorted(out, key=lambda g: (len(g), g)))


FPD_GRAPHS: tuple[Graph, ...] = efp_graphs(4)
W1EFP_GRAPHS: tuple[Graph, ...] = tuple(g for g in connected_graphs(4) if _n_vertices(g) == 4)


def _einsum_spec(graph: Graph) -> tuple[str, list[int]]:
    n = _n_vertices(graph)
    multiplicity = Counter(graph)
    terms = [f"z{_LETTERS[v]}" for v in range(n)]
    weights = []
    for (a, b), w in sorted(multiplicity.items()):
        terms.append(f"z{_LETTERS[a]}{_LETTERS[b]}")
        weights.append(w)
    return ",".join(terms) + "->z", weights


def efps(
    features: Any,
    mask: Any = None,
    graphs: Sequence[Graph] = FPD_GRAPHS,
    beta: float = 1.0,
    normed: bool = False,
    chunk_size: int = 4096,
) -> np.ndarray:
    r"""EFPs of jets in JetNet format, vectorised over jets.

    Arguments:
        features: ``[N, P, 3]`` particle features ``(eta_rel, phi_rel, pt_rel)``
            (JetNet order), zero-padded.
        mask: Optional ``[N, P]`` boolean mask of real particles; padded particles
            (mask false) get :math:`z = 0`, as do particles with ``pt_rel == 0``.
        graphs: Multigraphs (see :data:`Graph`), e.g. :data:`FPD_GRAPHS` (36) or
            :data:`W1EFP_GRAPHS` (5).
        beta: Angular exponent :math:`\beta`.
        normed: Divide :math:`z_i` by :math:`\sum_j z_j` in each jet. JetNet's
            ``utils.efps`` passes ``normed=None`` to energyflow, which does not normalise,
            so the default ``False`` reproduces it (``pt_rel`` already sums to about 1).
        chunk_size: Jets per vectorised block (bounds the ``[chunk, P, P]`` temporaries).

    Returns:
        ``[N, len(graphs)]`` float64.

    Examples:
        >>> x = np.array([[[0.0, 0.0, 0.5], [0.3, 0.4, 0.5]]])  # dR = 0.5
        >>> efps(x, graphs=[((0, 1),), ()]).round(6).tolist()  # 2 z1 z2 dR, z1 + z2
        [[0.25, 1.0]]
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] < 3:
        msg = f"features must have shape [N, P, 3] (eta_rel, phi_rel, pt_rel), got {x.shape}"
        raise ValueError(msg)
    z_all = x[..., 2].copy()
    if mask is not None:
        m = np.asarray(mask, dtype=bool).reshape(x.shape[:2])
        z_all = np.where(m, z_all, 0.0)
    if normed:
        total = z_all.sum(axis=1, keepdims=True)
        if np.any(total <= 0):
            bad = int(np.argmax(total[:, 0] <= 0))
            msg = f"jet {bad} has no particle with positive pt_rel; cannot normalise its EFPs"
            raise ValueError(msg)
        z_all = z_all / total
    graphs = [tuple((int(a), int(b)) for a, b in g) for g in graphs]
    # connected components are computed once and multiplied for disconnected graphs
    parts = {g: graph_components(g) if g else ((),) for g in graphs}
    needed = sorted({c for comps in parts.values() for c in comps}, key=lambda g: (len(g), g))
    specs = {c: _einsum_spec(c) for c in needed}
    powers = sorted({w for spec in specs.values() for w in spec[1]})
    out = np.empty((x.shape[0], len(graphs)))
    for lo in range(0, x.shape[0], chunk_size):
        sl = slice(lo, lo + chunk_size)
        z = z_all[sl]
        values: dict[Graph, np.ndarray] = {(): z.sum(axis=1)}
        if any(c for c in needed):
            deta = x[sl, :, None, 0] - x[sl, None, :, 0]
            dphi = np.pi - np.abs(np.abs(x[sl, :, None, 1] - x[sl, None, :, 1]) - np.pi)
            theta = (deta**2 + dphi**2) ** (beta / 2)
            theta_pow = {w: theta**w for w in powers}
            for c in needed:
                if c:
                    subscripts, weights = specs[c]
                    operands = [z] * _n_vertices(c) + [theta_pow[w] for w in weights]
                    values[c] = np.einsum(subscripts, *operands, optimize="greedy")
        for k, g in enumerate(graphs):
            out[sl, k] = np.prod([values[c] for c in parts[g]], axis=0)
    return out

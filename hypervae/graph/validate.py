"""Checks of hypergraphs and datasets on disk: structure, dtypes, indices, values.

Each problem found is an :class:`Issue` naming where (shard and graph index), which
check class failed and what was expected. Check classes:

- ``structure``: a missing attribute or a wrong shape;
- ``dtype``: a tensor of the wrong dtype;
- ``index``: ``edge_index`` / ``hyperedge_index`` outside their bounds, self loops,
  hyperedges with repeated or fewer than two members;
- ``finite``: NaN or infinity in a floating tensor;
- ``range``: values outside their physical range (negative energies, weights outside
  ``[0, 1]`` or ``[0, N!]``, ``ln z > ln 1/2``, shape variables above 0, unknown jet
  type, negative histogram bins, non-positive frame scale);
- ``consistency``: ``x`` not in the jet frame (non-zero total ``py`` or ``pz``), or
  edge / hyperedge features that disagree with those recomputed from ``x`` (weights,
  ``ln ΔR``, ``ln z``, ``ln R_L``), within float32 tolerances;
- ``manifest``: counts or SHA-256 checksums that disagree with the shards, an empty
  split, or a dataset (or shard) with no graph at all (nothing to train on).

Graphs are checked as stored (physical units), not after normalisation.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .data import HypergraphData
from .storage import file_sha256, read_manifest, read_shard

__all__ = [
    "CHECKS",
    "Issue",
    "ValidationReport",
    "validate_graph",
    "validate_graphs",
    "validate_path",
]

CHECKS = ("structure", "dtype", "index", "finite", "range", "consistency", "manifest")

_SPEC: dict[str, tuple[torch.dtype, tuple[int | str, ...]]] = {
    "x": (torch.float32, ("n", 4)),
    "edge_index": (torch.int64, (2, "m")),
    "edge_attr": (torch.float32, ("m", 5)),
    "hyperedge_index": (torch.int64, (2, "l")),
    "hyperedge_attr": (torch.float32, ("k", 4)),
    "y": (torch.float32, (1, 4)),
    "eec_hist": (torch.float32, (1, "h")),
    "frame": (torch.float64, (1, 3)),
    "n_particles": (torch.int64, (1,)),
}


@dataclass(frozen=True)
class Issue:
    """One problem: where, which check class, what."""

    where: str
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.check}: {self.message}"


@dataclass
class ValidationReport:
    """Result of a validation.

    Attributes:
        n_graphs: Graphs checked.
        issues: Problems found.
        source: What was checked (a path or ``"graphs"``).
    """

    n_graphs: int = 0
    issues: list[Issue] = field(default_factory=list)
    source: str = "graphs"

    @property
    def ok(self) -> bool:
        """Whether no issue was found."""
        return not self.issues

    def format(self, max_issues: int = 20) -> str:
        """A human-readable report."""
        lines = [f"validate {self.source}: {self.n_graphs} graphs"]
        for check in CHECKS:
            n = sum(1 for i in self.issues if i.check == check)
            lines.append(f"  {check:<12} {'ok' if n == 0 else f'FAILED ({n})'}")
        for issue in self.issues[:max_issues]:
            lines.append(f"  - {issue}")
        if len(self.issues) > max_issues:
            lines.append(f"  ... and {len(self.issues) - max_issues} more")
        lines.append("OK" if self.ok else f"FAILED: {len(self.issues)} issue(s)")
        return "\n".join(lines)


def _structure(graph: HypergraphData, where: str) -> list[Issue]:
    issues: list[Issue] = []
    sizes: dict[str, int] = {}
    for key, (dtype, shape) in _SPEC.items():
        if key not in graph or not isinstance(graph[key], torch.Tensor):
            issues.append(Issue(where, "structure", f"missing tensor '{key}'"))
            continue
        value = graph[key]
        if value.dtype != dtype:
            issues.append(Issue(where, "dtype", f"'{key}' is {value.dtype}, expected {dtype}"))
        ok = value.dim() == len(shape)
        for dim, want in zip(value.shape, shape, strict=False):
            if isinstance(want, str):
                ok &= sizes.setdefault(want, dim) == dim
            else:
                ok &= dim == want
        if not ok:
            expected = "[" + ", ".join(str(s) for s in shape) + "]"
            issues.append(
                Issue(
                    where,
                    "structure",
                    f"'{key}' has shape {list(value.shape)}, expected {expected}",
                )
            )
    return issues


def _finite(graph: HypergraphData, where: str) -> list[Issue]:
    out = []
    for key in _SPEC:
        value = graph[key]
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            out.append(Issue(where, "finite", f"'{key}' has {bad} NaN/inf value(s)"))
    return out


def _index(graph: HypergraphData, where: str) -> list[Issue]:
    out = []
    n = graph.x.shape[0]
    k = graph.hyperedge_attr.shape[0]
    ei, hi = graph.edge_index, graph.hyperedge_index
    if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n):
        out.append(
            Issue(
                where, "index", f"edge_index outside [0, {n}): [{int(ei.min())}, {int(ei.max())}]"
            )
        )
    elif ei.numel() and bool((ei[0] == ei[1]).any()):
        out.append(Issue(where, "index", "edge_index has self loops (expected i != j)"))
    if hi.numel() and (int(hi[0].min()) < 0 or int(hi[0].max()) >= n):
        out.append(Issue(where, "index", f"hyperedge_index[0] outside [0, {n}) particles"))
        return out
    if hi.numel() and (int(hi[1].min()) < 0 or int(hi[1].max()) >= k):
        out.append(Issue(where, "index", f"hyperedge_index[1] outside [0, {k}) hyperedges"))
        return out
    members = torch.bincount(hi[1], minlength=k) if k else torch.zeros(0, dtype=torch.long)
    if k and int(members.min()) < 2:
        out.append(Issue(where, "index", "a hyperedge has fewer than 2 particles"))
    pairs = hi[1] * max(n, 1) + hi[0]
    if torch.unique(pairs).numel() != pairs.numel():
        out.append(Issue(where, "index", "a hyperedge lists the same particle twice"))
    return out


def _kinematics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    energy, px, py, pz = x.T
    pt = np.hypot(px, py)
    mt = np.sqrt(np.maximum((energy - pz) * (energy + pz), 1e-300))
    return pt, np.arcsinh(pz / mt), np.arctan2(py, px)


def _ln_dr(y: np.ndarray, phi: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    dphi = np.remainder(phi[a] - phi[b] + np.pi, 2 * np.pi) - np.pi
    ln_dr: np.ndarray = np.log(np.maximum(np.hypot(y[a] - y[b], dphi), 1e-8))
    return ln_dr


def _range_and_consistency(graph: HypergraphData, where: str) -> list[Issue]:
    out = []
    x = graph.x.double().numpy()
    ea = graph.edge_attr.double().numpy()
    ha = graph.hyperedge_attr.double().numpy()
    hi = graph.hyperedge_index.numpy()
    k = ha.shape[0]
    n_members = hi.shape[1] // k if k else 2
    checks = [
        (bool((x[:, 0] >= 0).all()), "x energy is negative"),
        (bool(((ea[:, 0] >= 0) & (ea[:, 0] <= 1 + 1e-5)).all()), "edge weight outside [0, 1]"),
        (bool((ea[:, 3] <= math.log(0.5) + 1e-4).all()), "edge ln z above ln(1/2)"),
        (
            bool(((ha[:, 0] >= 0) & (ha[:, 0] <= math.factorial(n_members) + 1e-4)).all()),
            f"hyperedge weight outside [0, {n_members}!]",
        ),
        (bool((ha[:, 2:] <= 1e-5).all()), "hyperedge shape variable above 0"),
        (graph.y[0, 0].item() in (0, 1, 2, 3, 4), f"jet type {graph.y[0, 0].item()} not in 0-4"),
        (bool((graph.eec_hist >= 0).all()), "eec_hist has negative bins"),
        (bool((graph.frame[:, 2] > 0).all()), "frame scale is not positive"),
    ]
    out += [Issue(where, "range", msg) for ok, msg in checks if not ok]
    if x.shape[0] == 0:
        return out
    pt, y, phi = _kinematics(x)
    w = pt / max(pt.sum(), 1e-300)
    total = x.sum(axis=0)
    if abs(total[2]) > 1e-4 * pt.sum() or abs(total[3]) > 1e-4 * pt.sum():
        out.append(Issue(where, "consistency", "x is not in the jet frame (total py or pz not 0)"))
    src, dst = graph.edge_index.numpy()
    if src.size:
        if not np.allclose(ea[:, 0], w[src] * w[dst], rtol=1e-3, atol=1e-7):
            out.append(Issue(where, "consistency", "edge weight != w_i w_j of x"))
        ln_dr = _ln_dr(y, phi, src, dst)
        far = ln_dr > math.log(1e-3)
        if not np.allclose(ea[far, 1], ln_dr[far], atol=1e-2):
            out.append(Issue(where, "consistency", "edge ln dR differs from x"))
        ln_z = np.log(np.maximum(np.minimum(pt[src], pt[dst]) / (pt[src] + pt[dst]), 1e-8))
        if not np.allclose(ea[:, 3], ln_z, atol=1e-3):
            out.append(Issue(where, "consistency", "edge ln z differs from x"))
    if k and hi.shape[1] == k * n_members:
        order = np.argsort(hi[1], kind="stable")
        members = hi[0][order].reshape(k, n_members)
        weight = np.prod(w[members], axis=1) * math.factorial(n_members)
        if not np.allclose(ha[:, 0], weight, rtol=1e-3, atol=1e-8):
            out.append(Issue(where, "consistency", "hyperedge weight != N! prod w of x"))
        a, b = np.triu_indices(n_members, k=1)
        ln_rl = _ln_dr(y, phi, members[:, a].ravel(), members[:, b].ravel())
        ln_rl = ln_rl.reshape(k, -1).max(axis=1)
        far = ln_rl > math.log(1e-3)
        if not np.allclose(ha[far, 1], ln_rl[far], atol=1e-2):
            out.append(Issue(where, "consistency", "hyperedge ln R_L differs from x"))
    return out


def validate_graph(graph: HypergraphData, where: str = "graph 0") -> list[Issue]:
    """All issues of one graph (stops after structural problems).

    Examples:
        >>> import torch
        >>> [i.check for i in validate_graph(HypergraphData(x=torch.zeros(2, 4)))][:2]
        ['structure', 'structure']
    """
    issues = _structure(graph, where)
    if issues:
        return issues
    if graph.n_particles.item() != graph.x.shape[0]:
        return [
            Issue(
                where,
                "structure",
                f"n_particles={graph.n_particles.item()} != {graph.x.shape[0]} rows of x",
            )
        ]
    issues = _finite(graph, where) + _index(graph, where)
    if issues:
        return issues
    return _range_and_consistency(graph, where)


def validate_graphs(graphs: list[HypergraphData], source: str = "graphs") -> ValidationReport:
    """Validates graphs in memory."""
    report = ValidationReport(n_graphs=len(graphs), source=source)
    for j, graph in enumerate(graphs):
        report.issues += validate_graph(graph, f"graph {j}")
    return report


def validate_path(path: str | os.PathLike[str]) -> ValidationReport:
    """Validates a dataset directory (manifest, checksums, every graph) or one shard file."""
    path = Path(path)
    if not path.exists():
        msg = f"{path}: no such file or directory"
        raise FileNotFoundError(msg)
    if path.is_file():
        graphs = read_shard(path)
        report = validate_graphs(graphs, source=str(path))
        for issue in report.issues:
            object.__setattr__(issue, "where", f"{path.name} {issue.where}")
        if not graphs:
            report.issues.append(Issue(path.name, "manifest", "shard holds no graphs"))
        return report
    manifest = read_manifest(path)
    report = ValidationReport(source=str(path))
    for split, info in manifest["splits"].items():
        total = 0
        for shard in info["shards"]:
            file = path / shard["file"]
            if not file.exists():
                report.issues.append(Issue(shard["file"], "manifest", "shard file is missing"))
                continue
            if file_sha256(file) != shard["sha256"]:
                report.issues.append(
                    Issue(shard["file"], "manifest", "SHA-256 differs from manifest")
                )
            graphs = read_shard(file)
            if len(graphs) != int(shard["count"]):
                report.issues.append(
                    Issue(
                        shard["file"],
                        "manifest",
                        f"{len(graphs)} graphs, manifest says {shard['count']}",
                    )
                )
            total += len(graphs)
            report.n_graphs += len(graphs)
            for j, graph in enumerate(graphs):
                report.issues += validate_graph(graph, f"{shard['file']} graph {j}")
        if total != int(info["count"]):
            report.issues.append(
                Issue(split, "manifest", f"{total} graphs, manifest says {info['count']}")
            )
        if total == 0:
            report.issues.append(Issue(split, "manifest", "split holds no graphs"))
    norm = manifest.get("normalization")
    if isinstance(norm, dict) and not (path / norm["file"]).is_file():
        report.issues.append(Issue(norm["file"], "manifest", "normalisation file is missing"))
    if report.n_graphs == 0:
        reason = "dataset holds no graphs (built from 0 jets?); nothing to train on"
        report.issues.append(Issue(str(path), "manifest", reason))
    return report

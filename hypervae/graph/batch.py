r"""The one definition of the batch layout: :class:`JetBatch`.

A hypergraph (:class:`~hypervae.graph.HypergraphData`) or a PyG batch of them carries
the jet-level target in ``y`` with the columns :data:`~hypervae.graph.Y_FEATURES` =
``(type, ln pT, eta, ln mass)`` in physical units (GeV; never standardised), one row per
jet. Alternatively a batch may carry ``jet_type [B]`` and ``jet_features [B, 3]``
(``pT, eta, mass`` in GeV) directly. :class:`JetBatch` reads either form once, so no
other module decodes ``y`` by hand; :func:`y_row` writes it.

Example:
    >>> import torch
    >>> y = y_row(jet_type=2, pt=1000.0, eta=0.5, mass=170.0)
    >>> y.tolist()[0][0], round(float(y[0, 1].exp()), 3)
    (2.0, 1000.0)
    >>> from torch_geometric.data import Data
    >>> jb = JetBatch.from_data(Data(x=torch.zeros(3, 4), y=y))
    >>> jb.num_jets, jb.jet_type.tolist(), [round(v, 3) for v in jb.jet_features[0].tolist()]
    (1, [2], [1000.0, 0.5, 170.0])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .data import Y_FEATURES

__all__ = ["JetBatch", "y_row"]

#: Column of each jet-level quantity in ``y`` (see :data:`~hypervae.graph.Y_FEATURES`).
_COLUMNS = {name: i for i, name in enumerate(Y_FEATURES)}


def y_row(jet_type: int, pt: float, eta: float, mass: float) -> Tensor:
    """The ``y`` of one jet: ``[[type, ln pT, eta, ln mass]]`` (float32, ``[1, 4]``).

    ``mass`` must be positive (graphs floor it, see :data:`hypervae.graph.MASS_FLOOR`).
    """
    values = [0.0] * len(Y_FEATURES)
    values[_COLUMNS["type"]] = float(jet_type)
    values[_COLUMNS["ln_pt"]] = float(torch.tensor(pt, dtype=torch.float64).log())
    values[_COLUMNS["eta"]] = float(eta)
    values[_COLUMNS["ln_mass"]] = float(torch.tensor(mass, dtype=torch.float64).log())
    return torch.tensor([values], dtype=torch.float32)


@dataclass(frozen=True)
class JetBatch:
    """A typed view of a batch of jet hypergraphs.

    Attributes:
        x: Particle 4-momenta ``[n, 4]`` (in the canonical jet frame for graphs).
        batch: Jet index of each particle ``[n]``.
        jet_type: Type codes ``[B]`` (long).
        jet_features: ``(pT, eta, mass)`` in GeV ``[B, 3]``.
        edge_index: ``[2, M]`` or None; edge_attr: ``[M, F]`` or None.
        hyperedge_index: ``[2, I]`` (particle, hyperedge) or None; hyperedge_attr:
            ``[K, F]`` or None.

    Shapes:
        as listed above; ``B`` is :attr:`num_jets`.
    """

    x: Tensor
    batch: Tensor
    jet_type: Tensor
    jet_features: Tensor
    edge_index: Tensor | None = None
    edge_attr: Tensor | None = None
    hyperedge_index: Tensor | None = None
    hyperedge_attr: Tensor | None = None

    @property
    def num_jets(self) -> int:
        """Number of jets ``B``."""
        return int(self.jet_type.shape[0])

    @classmethod
    def from_data(cls, data: Any) -> JetBatch:
        """Reads a PyG ``Data``/``Batch`` (or returns a :class:`JetBatch` as it is).

        ``jet_type`` and ``jet_features`` are read when both are present, else ``y``.

        Raises:
            ValueError: Neither ``y`` nor ``jet_type`` + ``jet_features``, or a ``y`` of
                the wrong width.
        """
        if isinstance(data, JetBatch):
            return data
        jet_type, jet_features = cls.jet_info(data)
        x = data.x
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        return cls(
            x=x,
            batch=batch,
            jet_type=jet_type,
            jet_features=jet_features,
            edge_index=getattr(data, "edge_index", None),
            edge_attr=getattr(data, "edge_attr", None),
            hyperedge_index=getattr(data, "hyperedge_index", None),
            hyperedge_attr=getattr(data, "hyperedge_attr", None),
        )

    @staticmethod
    def jet_info(data: Any) -> tuple[Tensor, Tensor]:
        """Jet types ``[B]`` and ``(pT, eta, mass)`` in GeV ``[B, 3]`` of a batch."""
        if isinstance(data, JetBatch):
            return data.jet_type, data.jet_features
        jet_type = getattr(data, "jet_type", None)
        features = getattr(data, "jet_features", None)
        if jet_type is not None and features is not None:
            return jet_type.long().view(-1), features.view(-1, 3)
        y = getattr(data, "y", None)
        if y is None:
            msg = (
                "batch: no jet-level target; expected y = (type, ln pT, eta, ln mass) per jet "
                "or jet_type and jet_features"
            )
            raise ValueError(msg)
        if y.shape[-1] != len(Y_FEATURES):
            msg = f"batch.y: expected {len(Y_FEATURES)} columns {Y_FEATURES}, got shape {tuple(y.shape)}"
            raise ValueError(msg)
        y = y.view(-1, len(Y_FEATURES))
        c = _COLUMNS
        features = torch.stack(
            [y[:, c["ln_pt"]].exp(), y[:, c["eta"]], y[:, c["ln_mass"]].exp()], -1
        )
        return y[:, c["type"]].long(), features

    def check_finite(self) -> None:
        """Refuses NaN or infinite inputs, naming the field and the first bad jet.

        Raises:
            ValueError: ``x``, ``jet_features``, ``edge_attr`` or ``hyperedge_attr`` holds
                a non-finite value.
        """
        bad_x = ~torch.isfinite(self.x).all(-1)
        if bool(bad_x.any()):
            jet = int(self.batch[bad_x.nonzero()[0, 0]])
            msg = f"batch.x: non-finite particle 4-momentum in jet {jet} of the batch"
            raise ValueError(msg)
        bad_jet = ~torch.isfinite(self.jet_features).all(-1)
        if bool(bad_jet.any()):
            jet = int(bad_jet.nonzero()[0, 0])
            msg = f"batch: non-finite jet (pT, eta, mass) = {self.jet_features[jet].tolist()} in jet {jet}"
            raise ValueError(msg)
        for name in ("edge_attr", "hyperedge_attr"):
            value = getattr(self, name)
            if value is not None and not bool(torch.isfinite(value).all()):
                msg = f"batch.{name}: non-finite features"
                raise ValueError(msg)

    def to_dense(
        self, max_particles: int, dtype: torch.dtype | None = None
    ) -> tuple[Tensor, Tensor]:
        """Padded particles ``[B, max_particles, 4]`` and their mask ``[B, max_particles]``.

        Raises:
            ValueError: A jet has more than ``max_particles`` particles (names the jet).
        """
        from torch_geometric.utils import to_dense_batch

        counts = torch.bincount(self.batch, minlength=self.num_jets)
        if counts.numel() and int(counts.max()) > max_particles:
            bad = int(torch.argmax((counts > max_particles).to(torch.int8)))
            msg = (
                f"jet {bad} of the batch has {int(counts[bad])} particles, more than the "
                f"model's max_particles={max_particles}; refused (truncate the input, e.g. "
                "HypergraphConfig(max_particles=...), or check_jets(..., overflow='truncate'))"
            )
            raise ValueError(msg)
        x = self.x if dtype is None else self.x.to(dtype)
        dense, mask = to_dense_batch(
            x, self.batch, max_num_nodes=max_particles, batch_size=self.num_jets
        )
        return dense, mask

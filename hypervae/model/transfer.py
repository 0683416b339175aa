"""Starting a model from another one's weights (``hypervae train --init-from``).

:func:`with_decoder` turns a trained HyperVAE into one with another particle decoder:
every weight whose name and shape both models share is copied, the new decoder is
freshly initialised (from the global torch RNG: seed it first), and the report names
what was copied, initialised and dropped. Stage 2 of the flow-decoder training starts
this way from the slot model: encoder, heads and prior copied, the flow decoder new.

Example:
    >>> from hypervae.model import HyperVAE
    >>> slots = HyperVAE({"max_particles": 4, "latent_dim": 2, "hidden": 8,
    ...                   "decoder": "slots"})
    >>> flow, report = with_decoder(slots, "flow", {"width": 8, "heads": 2, "layers": 1})
    >>> flow.config.decoder, report.initialised
    ('flow', ['particle_decoder.'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .flow_decoder import FlowDecoderConfig
    from .network import HyperVAE

__all__ = ["TransferReport", "with_decoder"]


@dataclass(frozen=True)
class TransferReport:
    """What :func:`with_decoder` did, by top-level module prefix (``"particle_decoder."``).

    Attributes:
        copied: Number of tensors copied from the source.
        initialised: Prefixes of the tensors the source has not (fresh values).
        dropped: Prefixes of the source's tensors the new model has not.
    """

    copied: int
    initialised: list[str]
    dropped: list[str]

    def __str__(self) -> str:
        return (
            f"copied {self.copied} tensors; freshly initialised: {self.initialised or 'none'}; "
            f"dropped from the source: {self.dropped or 'none'}"
        )


def _prefixes(names: set[str]) -> list[str]:
    return sorted({n.split(".")[0] + "." for n in names})


def with_decoder(
    source: HyperVAE, decoder: str, flow: FlowDecoderConfig | dict[str, Any] | None = None
) -> tuple[HyperVAE, TransferReport]:
    """A HyperVAE like ``source`` with ``decoder`` (``"slots"``/``"flow"``) as its particle decoder.

    Arguments:
        source: The trained model (its architecture, jet normalisation and prior are kept).
        decoder: The new model's ``config.decoder``.
        flow: The flow decoder's settings (``latent_dim`` and ``max_particles`` are the
            source's; given ones must agree); the source's ``flow`` section by default.

    Returns:
        The new model (on the source's device and dtype, in train mode) and a report.

    Raises:
        ValueError: A tensor both have with different shapes (named), or a bad
            ``decoder``/``flow`` (the config's error, naming the field).
    """
    from .._config import ConfigError
    from .network import HyperVAE

    changes: dict[str, Any] = {"decoder": decoder}
    if flow is not None:
        values = dict(flow) if isinstance(flow, dict) else flow.to_dict()
        for name in ("latent_dim", "max_particles"):
            values.setdefault(name, getattr(source.config, name))
        changes["flow"] = values
    try:
        config = source.config.replace(**changes)
    except ConfigError as error:
        raise ValueError(str(error)) from None
    param = next(source.parameters())
    model = HyperVAE(config).to(device=param.device, dtype=param.dtype)
    old, new = source.state_dict(), model.state_dict()
    bad = sorted(k for k in old.keys() & new.keys() if old[k].shape != new[k].shape)
    if bad:
        k = bad[0]
        msg = (
            f"with_decoder: {len(bad)} tensors differ in shape, e.g. {k}: "
            f"{tuple(old[k].shape)} in the source, {tuple(new[k].shape)} in the new model"
        )
        raise ValueError(msg)
    shared = old.keys() & new.keys()
    model.load_state_dict({**new, **{k: old[k] for k in shared}}, strict=True)
    model.graph_config = source.graph_config
    model.edge_normalization = source.edge_normalization
    report = TransferReport(
        copied=len(shared),
        initialised=_prefixes(set(new) - shared),
        dropped=_prefixes(set(old) - shared),
    )
    return model.train(), report

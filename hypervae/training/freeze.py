"""Freezing parameters for a run (``TrainingConfig.freeze``).

Example:
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    >>> freeze_parameters(net, ("*", "!1."))
    ['0.bias', '0.weight']
    >>> [n for n, p in net.named_parameters() if p.requires_grad]
    ['1.weight', '1.bias']
"""

from __future__ import annotations

from torch import nn

__all__ = ["freeze_parameters", "frozen_names"]


def frozen_names(model: nn.Module, freeze: tuple[str, ...]) -> list[str]:
    """The sorted names of the parameters ``freeze`` selects.

    A parameter is selected when some plain entry is a prefix of its name (``"*"``
    matches every name) and no ``"!prefix"`` entry is.

    Raises:
        ValueError: An entry matches no parameter (names ``freeze[i]`` and the entry).
    """
    names = [n for n, _ in model.named_parameters()]
    for i, entry in enumerate(freeze):
        prefix = entry.removeprefix("!")
        if prefix != "*" and not any(n.startswith(prefix) for n in names):
            tops = sorted({n.split(".")[0] + "." for n in names})
            msg = (
                f"TrainingConfig.freeze[{i}]: {entry!r} matches no parameter of the model; "
                f"its parameters start with {tops}"
            )
            raise ValueError(msg)
    keep = [e[1:] for e in freeze if e.startswith("!")]
    plain = [e for e in freeze if not e.startswith("!")]

    def selected(name: str) -> bool:
        hit = any(p == "*" or name.startswith(p) for p in plain)
        return hit and not any(k == "*" or name.startswith(k) for k in keep)

    return sorted(n for n in names if selected(n))


def freeze_parameters(model: nn.Module, freeze: tuple[str, ...]) -> list[str]:
    """Sets ``requires_grad=False`` on the parameters ``freeze`` selects; returns their names.

    Raises:
        ValueError: An entry matches nothing, or every parameter would be frozen.
    """
    if not freeze:
        return []
    names = frozen_names(model, freeze)
    params = dict(model.named_parameters())
    if len(names) == len(params):
        msg = f"TrainingConfig.freeze={list(freeze)} freezes every parameter: nothing to train"
        raise ValueError(msg)
    for name in names:
        params[name].requires_grad_(False)
    return names

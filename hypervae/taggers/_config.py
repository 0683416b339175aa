"""Deprecated: the taggers' first config mixin; use :class:`hypervae._config.Config`.

The tagger configs (:class:`~hypervae.taggers.PHATJeTConfig`,
:class:`~hypervae.taggers.ParticleTransformerConfig` and the baselines') derive from the
package's one frozen config base. This mixin stays for one release for code that
subclassed it; subclassing it warns.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["ConfigMixin"]


class ConfigMixin:
    """Mixin for ``@dataclass`` configs: ``from_dict``, ``to_dict``, JSON, ``coerce``.

    Examples:
        >>> from dataclasses import dataclass
        >>> @dataclass
        ... class Demo(ConfigMixin):
        ...     width: int = 2
        >>> Demo.from_json(Demo(width=3).to_json())
        Demo(width=3)
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        warnings.warn(
            f"{cls.__name__}: hypervae.taggers._config.ConfigMixin is deprecated; derive "
            "configs from hypervae._config.Config",
            DeprecationWarning,
            stacklevel=2,
        )

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Self:
        """Builds the config from a dict; unknown keys are refused by name."""
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - names)
        if unknown:
            msg = f"{cls.__name__}: unknown field(s) {unknown}; expected some of {sorted(names)}"
            raise ValueError(msg)
        fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**fixed)

    @classmethod
    def coerce(cls, value: Self | dict[str, Any] | None) -> Self:
        """Returns ``value`` as a config: a config, a dict of fields, or ``None`` (defaults)."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            return cls.from_dict(value)
        msg = f"expected a {cls.__name__} or a dict, got {type(value).__name__}"
        raise TypeError(msg)

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON-compatible values (tuples become lists)."""
        values: dict[str, Any] = json.loads(self.to_json())
        return values

    def to_json(self) -> str:
        """The config as a JSON string."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)  # type: ignore[call-overload]

    @classmethod
    def from_json(cls, text: str) -> Self:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

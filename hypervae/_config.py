"""The one config base of hypervae: frozen dataclasses that accept dicts and check values.

Every config-like class of the package derives from :class:`Config`::

    @dataclass(frozen=True)
    class Demo(Config):
        width: int = bounded(8, ge=1)
        mode: Literal["a", "b"] = "a"
        inner: OtherConfig = dataclasses.field(default_factory=OtherConfig)

At construction (directly, through :meth:`Config.from_dict` or :meth:`Config.coerce`)
each field is checked against its type hint: ``int`` (not ``bool``), ``float`` (finite
unless declared otherwise; ints are widened), ``bool``, ``str``, ``Literal`` choices,
``tuple``/``list``/``dict`` element types, ``X | None`` and nested configs (a dict is
built into the nested config). Bounds declared with :func:`bounded` are checked too.
A nested dict is built into its config, a list into a tuple where the hint says tuple.
Every error is a :class:`ConfigError` whose message starts with the dotted path of the
field (``HyperVAEConfig.encoder.num_blocks: ...``), says what was expected and what was
given. Nothing is allocated from a config before it has been checked.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Demo(Config):
    ...     width: int = bounded(8, ge=1)
    >>> Demo.from_dict({"width": 3}).to_dict()
    {'width': 3}
    >>> Demo.from_json(Demo(width=4).to_json()) == Demo(width=4)
    True
    >>> Demo(width=0)
    Traceback (most recent call last):
        ...
    hypervae._config.ConfigError: Demo.width: must be >= 1, got 0
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import types
import typing
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal, Union

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Config", "ConfigError", "bounded"]

_MISSING = dataclasses.MISSING
#: The dotted path of the config being built by ``from_dict`` (for error messages).
_PATH: ContextVar[str | None] = ContextVar("hypervae_config_path", default=None)


class ConfigError(ValueError):
    """A config value was refused; the message starts with the field's dotted path.

    Attributes:
        path: The dotted path, starting with the config class name.
        reason: What was expected and what was given.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def bounded(
    default: Any = _MISSING,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    allow_nonfinite: bool = False,
    default_factory: Any = _MISSING,
) -> Any:
    """A dataclass field with bounds checked at construction.

    Arguments:
        default: The default value.
        ge, gt, le, lt: Inclusive / exclusive lower and upper bounds.
        allow_nonfinite: Accept NaN and infinities for a float field.
        default_factory: A factory instead of ``default`` (for mutable defaults).
    """
    metadata = {"ge": ge, "gt": gt, "le": le, "lt": lt, "allow_nonfinite": allow_nonfinite}
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _type_name(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "")


def _check(value: Any, hint: Any, path: str, meta: dict[str, Any]) -> Any:
    """Checks ``value`` against ``hint``; returns the (converted) value."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin is Union or origin is types.UnionType:
        args = typing.get_args(hint)
        if value is None:
            if type(None) in args:
                return None
            raise ConfigError(path, f"expected {_type_name(hint)}, got None")
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check(value, arg, path, meta)
            except ConfigError as error:
                errors.append(error)
        if len(errors) == 1:
            raise errors[0]
        raise ConfigError(path, f"expected {_type_name(hint)}, got {_describe(value)}")
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices or type(value) not in {type(c) for c in choices}:
            raise ConfigError(path, f"must be one of {list(choices)}, got {_describe(value)}")
        return value
    if isinstance(hint, type) and issubclass(hint, Config):
        if isinstance(value, hint):
            return value
        if isinstance(value, dict):
            return hint._from_dict(value, path)
        raise ConfigError(path, f"expected a {hint.__name__} or a dict, got {_describe(value)}")
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"expected a bool, got {_describe(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ConfigError(path, f"expected an int, got {_describe(value)}")
        value = int(value)
        _bounds(value, path, meta)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ConfigError(path, f"expected a float, got {_describe(value)}")
        value = float(value)
        if not math.isfinite(value) and not meta.get("allow_nonfinite", False):
            raise ConfigError(path, f"must be finite, got {value}")
        _bounds(value, path, meta)
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(path, f"expected a str, got {_describe(value)}")
        return value
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(path, f"expected a list or tuple, got {_describe(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_check(v, args[0], f"{path}[{i}]", meta) for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(path, f"expected {len(args)} values, got {len(value)}")
        return tuple(
            _check(v, a, f"{path}[{i}]", meta)
            for i, (v, a) in enumerate(zip(value, args, strict=True))
        )
    if origin is list:
        (arg,) = typing.get_args(hint) or (Any,)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(path, f"expected a list, got {_describe(value)}")
        return [_check(v, arg, f"{path}[{i}]", meta) for i, v in enumerate(value)]
    if origin is dict:
        key_hint, value_hint = typing.get_args(hint) or (Any, Any)
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected a dict, got {_describe(value)}")
        return {
            _check(k, key_hint, f"{path}", {}): _check(v, value_hint, f"{path}.{k}", meta)
            for k, v in value.items()
        }
    if isinstance(hint, type):
        if not isinstance(value, hint):
            raise ConfigError(path, f"expected {hint.__name__}, got {_describe(value)}")
        return value
    return value  # pragma: no cover - hints the base does not know are not checked


def _bounds(value: float, path: str, meta: dict[str, Any]) -> None:
    if meta.get("ge") is not None and not value >= meta["ge"]:
        raise ConfigError(path, f"must be >= {meta['ge']}, got {value}")
    if meta.get("gt") is not None and not value > meta["gt"]:
        raise ConfigError(path, f"must be > {meta['gt']}, got {value}")
    if meta.get("le") is not None and not value <= meta["le"]:
        raise ConfigError(path, f"must be <= {meta['le']}, got {value}")
    if meta.get("lt") is not None and not value < meta["lt"]:
        raise ConfigError(path, f"must be < {meta['lt']}, got {value}")


def _plain(value: Any) -> Any:
    if isinstance(value, Config):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclasses.dataclass(frozen=True)
class Config:
    """Base of every config: frozen, checked at construction, dicts in, JSON round trip.

    Subclasses are ``@dataclass(frozen=True)``. Override :meth:`validate` for checks
    that involve several fields (raise :class:`ConfigError` via :meth:`error`).
    """

    def __post_init__(self) -> None:
        path = _PATH.get() or type(self).__name__
        token = _PATH.set(None)  # configs built while checking this one start afresh
        try:
            self._check_fields(path)
        finally:
            _PATH.reset(token)

    def _check_fields(self, path: str) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            checked = _check(value, hints[f.name], f"{path}.{f.name}", dict(f.metadata))
            if checked is not value:
                object.__setattr__(self, f.name, checked)
        try:
            self.validate()
        except ConfigError as error:
            if error.path.startswith(type(self).__name__) and path != type(self).__name__:
                raise ConfigError(
                    path + error.path[len(type(self).__name__) :], error.reason
                ) from None
            raise

    def validate(self) -> None:
        """Cross-field checks; called after every field was checked. Default: none."""

    def error(self, name: str, reason: str) -> ConfigError:
        """A :class:`ConfigError` for field ``name`` of this config (to raise)."""
        return ConfigError(f"{type(self).__name__}.{name}", reason)

    @classmethod
    def _from_dict(cls, values: Any, path: str) -> Self:
        if not isinstance(values, dict):
            raise ConfigError(path, f"expected a dict, got {_describe(values)}")
        names = [f.name for f in dataclasses.fields(cls) if f.init]
        unknown = sorted(str(k) for k in set(values) - set(names))
        if unknown:
            raise ConfigError(
                f"{path}.{unknown[0]}",
                f"unknown key (unknown: {unknown}); expected some of {sorted(names)}",
            )
        for f in dataclasses.fields(cls):
            if (
                f.init
                and f.name not in values
                and f.default is _MISSING
                and f.default_factory is _MISSING
            ):
                raise ConfigError(f"{path}.{f.name}", "required key is missing")
        token = _PATH.set(path)
        try:
            return cls(**values)
        except RecursionError:
            raise ConfigError(path, "nested too deeply") from None
        finally:
            _PATH.reset(token)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | Self) -> Self:
        """Builds the config from a dict (nested configs from nested dicts).

        Unknown keys are refused with their dotted path. A config instance is returned
        as it is.
        """
        if isinstance(values, cls):
            return values
        return cls._from_dict(values, cls.__name__)

    @classmethod
    def coerce(cls, value: Self | dict[str, Any] | None) -> Self:
        """``None`` (the defaults), a dict of fields or a config -> a config."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            return cls.from_dict(value)
        raise ConfigError(
            cls.__name__, f"expected a {cls.__name__}, a dict or None, got {_describe(value)}"
        )

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied (checked like a new config)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        unknown = sorted(set(changes) - set(values))
        if unknown:
            raise ConfigError(
                f"{type(self).__name__}.{unknown[0]}", f"unknown key (unknown: {unknown})"
            )
        values.update(changes)
        return type(self)._from_dict(values, type(self).__name__)

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON-compatible values (nested configs as dicts)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_json(self, indent: int | None = None) -> str:
        """The config as JSON (keys sorted)."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Self:
        """Inverse of :meth:`to_json`; invalid JSON is a :class:`ConfigError`."""
        try:
            values = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise ConfigError(cls.__name__, f"not valid JSON ({error})") from None
        return cls._from_dict(values, cls.__name__)

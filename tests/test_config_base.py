"""The one config base (hypervae._config)."""

from __future__ import annotations

import dataclasses
from typing import Literal

import pytest

from hypervae._config import Config, ConfigError, bounded


@dataclasses.dataclass(frozen=True)
class Inner(Config):
    blocks: int = bounded(2, ge=1, le=64)
    kind: Literal["slim", "full"] = "slim"


@dataclasses.dataclass(frozen=True)
class Outer(Config):
    width: int = bounded(8, ge=1)
    rate: float = bounded(0.1, gt=0.0)
    dims: tuple[int, ...] = (1, 2)
    weights: dict[str, float] = dataclasses.field(default_factory=lambda: {"a": 1.0})
    name: str | None = None
    flag: bool = False
    inner: Inner = dataclasses.field(default_factory=Inner)


def test_round_trip_json_and_dict():
    cfg = Outer.from_dict({"width": 3, "dims": [4, 5], "inner": {"blocks": 3, "kind": "full"}})
    assert cfg.dims == (4, 5)
    assert isinstance(cfg.inner, Inner)
    assert Outer.from_json(cfg.to_json()) == cfg
    assert Outer.from_dict(cfg.to_dict()) == cfg
    assert cfg.to_dict()["inner"] == {"blocks": 3, "kind": "full"}


def test_unknown_keys_named_with_dotted_path():
    with pytest.raises(ConfigError, match=r"^Outer\.inner\.blockz: unknown key"):
        Outer.from_dict({"inner": {"blockz": 1}})
    with pytest.raises(ConfigError, match=r"^Outer\.nope: unknown key"):
        Outer.from_dict({"nope": 1})


@pytest.mark.parametrize(
    ("values", "pattern"),
    [
        ({"width": 0}, r"^Outer\.width: must be >= 1, got 0"),
        ({"width": "30"}, r"^Outer\.width: expected an int, got '30' \(str\)"),
        ({"width": True}, r"^Outer\.width: expected an int"),
        ({"width": 2.5}, r"^Outer\.width: expected an int"),
        ({"rate": float("nan")}, r"^Outer\.rate: must be finite"),
        ({"rate": 0.0}, r"^Outer\.rate: must be > 0.0"),
        ({"dims": [1, "x"]}, r"^Outer\.dims\[1\]: expected an int"),
        ({"inner": {"kind": "nope"}}, r"^Outer\.inner\.kind: must be one of \['slim', 'full'\]"),
        ({"inner": {"blocks": 10**9}}, r"^Outer\.inner\.blocks: must be <= 64"),
        ({"inner": 3}, r"^Outer\.inner: expected a Inner or a dict"),
        ({"weights": {"a": "x"}}, r"^Outer\.weights\.a: expected a float"),
        ({"flag": 1}, r"^Outer\.flag: expected a bool"),
    ],
)
def test_bad_values_refused_at_construction(values, pattern):
    with pytest.raises(ConfigError, match=pattern):
        Outer.from_dict(values)


def test_direct_construction_checks_and_converts():
    with pytest.raises(ConfigError, match=r"^Inner\.blocks: must be >= 1, got -1"):
        Inner(blocks=-1)
    cfg = Outer(inner={"blocks": 4})  # type: ignore[arg-type]
    assert cfg.inner == Inner(blocks=4)
    with pytest.raises(ConfigError, match=r"^Outer\.inner\.blocks"):
        Outer(inner={"blocks": 0})  # type: ignore[arg-type]


def test_frozen_coerce_replace():
    cfg = Outer()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.width = 3  # type: ignore[misc]
    assert Outer.coerce(None) == Outer()
    assert Outer.coerce(cfg) is cfg
    assert Outer.from_dict(cfg) is cfg
    assert Outer.coerce({"width": 5}).width == 5
    with pytest.raises(ConfigError, match="expected a Outer, a dict or None"):
        Outer.coerce(3)  # type: ignore[arg-type]
    assert cfg.replace(width=9).width == 9
    assert cfg.width == 8
    with pytest.raises(ConfigError, match=r"^Outer\.width: must be >= 1"):
        cfg.replace(width=0)


def test_invalid_and_deep_json():
    with pytest.raises(ConfigError, match="not valid JSON"):
        Outer.from_json("{")
    deep = "[" * 100000 + "]" * 100000
    with pytest.raises(ConfigError):
        Outer.from_json(deep)
    with pytest.raises(ConfigError, match=r"^Outer: expected a dict"):
        Outer.from_json("[1]")


@dataclasses.dataclass(frozen=True)
class Pair(Config):
    span: tuple[float, int] = (0.5, 2)


def test_fixed_length_tuple_checked_per_position():
    assert Pair.from_dict({"span": [1, 3]}).span == (1.0, 3)
    with pytest.raises(ConfigError, match=r"^Pair\.span\[1\]: expected an int"):
        Pair.from_dict({"span": [1.0, 2.5]})
    with pytest.raises(ConfigError, match=r"^Pair\.span: expected 2 values, got 3"):
        Pair.from_dict({"span": [1.0, 2, 3]})

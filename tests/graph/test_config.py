import dataclasses
import json

import pytest

from hypervae._config import ConfigError
from hypervae.graph import HypergraphConfig


def test_dict_and_json_round_trip():
    cfg = HypergraphConfig.from_dict(
        {"budget": "top_weight", "k": 3, "n_points": 4, "eec_n": [2], "eec_range": [0.01, 1]}
    )
    assert cfg.eec_n == (2,)
    assert cfg.eec_range == (0.01, 1.0)
    assert all(type(v) is float for v in cfg.eec_range)
    assert HypergraphConfig.from_json(cfg.to_json()) == cfg
    assert json.loads(cfg.to_json())["budget"] == "top_weight"
    assert json.loads(cfg.to_json())["eec_range"] == [0.01, 1.0]
    assert HypergraphConfig.from_dict(cfg) is cfg


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"budget": "everything"}, "budget", "must be one of"),
        ({"n_points": 5}, "n_points", "must be one of"),
        ({"k": 0}, "k", "must be >= 1, got 0"),
        ({"budget": "knn", "k": 1, "n_points": 3}, "k", "must be >= n_points - 1"),
        ({"edges": "dense"}, "edges", "must be one of"),
        ({"scale": -1.0}, "scale", "must be 'pt', 'energy' or > 0"),
        ({"scale": "banana"}, "scale", "expected"),
        ({"eec_range": (1.0, 0.1)}, "eec_range", "must satisfy 0 < R_min < R_max"),
        ({"eec_range": (0.1,)}, "eec_range", "expected 2 values"),
        ({"eec_n": [2, 5]}, r"eec_n\[1\]", "must be one of"),
        ({"max_particles": 0}, "max_particles", "must be >= 1"),
        ({"max_particles": "30"}, "max_particles", "expected an int"),
        ({"max_all_particles": 2, "n_points": 3}, "max_all_particles", "must be >= n_points"),
        ({"chunk_size": 0}, "chunk_size", "must be >= 1"),
    ],
)
def test_bad_values_name_the_field(values, field, reason):
    with pytest.raises(ConfigError, match=rf"^HypergraphConfig\.{field}: {reason}"):
        HypergraphConfig.from_dict(values)


def test_unknown_field_is_refused():
    with pytest.raises(ConfigError, match=r"^HypergraphConfig\.budjet: unknown key"):
        HypergraphConfig.from_dict({"budjet": "knn"})


def test_frozen_and_replace_is_checked():
    cfg = HypergraphConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.k = 3  # type: ignore[misc]
    assert cfg.replace(k=3).k == 3
    assert cfg.k == 8
    with pytest.raises(ConfigError, match=r"^HypergraphConfig\.k: must be >= 1"):
        cfg.replace(k=0)

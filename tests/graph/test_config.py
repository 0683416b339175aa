import json

import pytest

from hypervae.graph import HypergraphConfig


def test_dict_and_json_round_trip():
    cfg = HypergraphConfig.from_dict(
        {"budget": "top_weight", "k": 3, "n_points": 4, "eec_n": [2], "eec_range": [0.01, 1]}
    )
    assert cfg.eec_n == (2,)
    assert cfg.eec_range == (0.01, 1.0)
    assert HypergraphConfig.from_json(cfg.to_json()) == cfg
    assert json.loads(cfg.to_json())["budget"] == "top_weight"
    assert HypergraphConfig.from_dict(cfg) is cfg


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"budget": "everything"}, "budget"),
        ({"n_points": 5}, "n_points"),
        ({"k": 0}, "k"),
        ({"budget": "knn", "k": 1, "n_points": 3}, "k"),
        ({"edges": "dense"}, "edges"),
        ({"scale": -1.0}, "scale"),
        ({"eec_range": (1.0, 0.1)}, "eec_range"),
    ],
)
def test_bad_values_name_the_field(values, field):
    with pytest.raises(ValueError, match=rf"HypergraphConfig\.{field} must be"):
        HypergraphConfig.from_dict(values)


def test_unknown_field_is_refused():
    with pytest.raises(ValueError, match="unknown fields \\['budjet'\\]"):
        HypergraphConfig.from_dict({"budjet": "knn"})

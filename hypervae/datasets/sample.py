"""Real Pythia 8 jets shipped inside the package.

For each jet type g, q, t, w, z the package holds jets of 1 TeV (900 < pT < 1100 GeV,
anti-kT R = 0.8, 13 TeV, see :mod:`hypervae.datasets.pythia`) with their 30 leading
constituents, in ``hypervae/datasets/data/<type>.parquet`` with fixed train/val/test
splits (70/15/15, the order of the file). ``scripts/make_sample.py`` regenerates them
with :func:`hypervae.datasets.generate_pythia`; ``sample.json`` records the settings.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import awkward as ak

from .jets import jet_type_name, load_parquet

__all__ = ["SPLITS", "load_jets", "load_sample", "sample_info"]

SPLITS = ("train", "val", "test")


@lru_cache(maxsize=1)
def sample_info() -> dict[str, Any]:
    """The generator settings and split sizes of the shipped sample (``sample.json``)."""
    text = resources.files(__package__).joinpath("data").joinpath("sample.json").read_text()
    info: dict[str, Any] = json.loads(text)
    return info


@lru_cache(maxsize=8)
def _load(name: str) -> ak.Array:
    data = resources.files(__package__).joinpath("data")
    with resources.as_file(data.joinpath(f"{name}.parquet")) as p:
        return load_parquet(p)


def load_sample(jet_type: str | int, split: str = "all") -> ak.Array:
    """Loads the shipped real jets of one type.

    Arguments:
        jet_type: ``"g"``, ``"q"``, ``"t"``, ``"w"`` or ``"z"`` (or a code 0-4).
        split: ``"all"``, ``"train"``, ``"val"`` or ``"test"``.

    Returns:
        Jets in the layout of :func:`hypervae.datasets.make_jets`.

    Examples:
        >>> jets = load_sample("t", split="val")
        >>> len(jets) == sample_info()["splits"]["t"]["val"]
        True
    """
    name = jet_type_name(jet_type)
    if split != "all" and split not in SPLITS:
        msg = f"unknown split {split!r}; expected 'all' or one of {SPLITS}"
        raise ValueError(msg)
    jets = _load(name)
    if split == "all":
        return jets
    sizes = sample_info()["splits"][name]
    start = 0
    for key in SPLITS:
        if key == split:
            return jets[start : start + sizes[key]]
        start += sizes[key]
    raise AssertionError  # pragma: no cover


def load_jets(spec: str, default_split: str = "all") -> ak.Array:
    """Jets from a parquet file or a shipped-sample spec ``sample:TYPE[:SPLIT]``.

    The one parser of jet sources that the command-line tools share.

    Arguments:
        spec: A path written by :func:`hypervae.datasets.save_parquet`, or
            ``sample:TYPE`` / ``sample:TYPE:SPLIT`` (TYPE in g, q, t, w, z; SPLIT in
            all, train, val, test).
        default_split: Split of ``sample:TYPE`` specs without one.

    Examples:
        >>> len(load_jets("sample:t:test")) == sample_info()["splits"]["t"]["test"]
        True
        >>> load_jets("sample:t:x:y")
        Traceback (most recent call last):
        ...
        ValueError: 'sample:t:x:y': expected 'sample:TYPE[:SPLIT]'
    """
    if spec.startswith("sample:"):
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            msg = f"{spec!r}: expected 'sample:TYPE[:SPLIT]'"
            raise ValueError(msg)
        return load_sample(parts[1], split=parts[2] if len(parts) == 3 else default_split)
    return load_parquet(Path(spec))

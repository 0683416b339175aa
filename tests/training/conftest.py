"""Fixtures of the training tests: a dozen synthetic jets and a tiny HyperVAE."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hypervae as hv
from hypervae.training import edge_normalization, jet_norm_from_graphs

GRAPH_CONFIG = {"budget": "knn", "k": 2, "edges": "knn", "edge_k": 3, "max_particles": 8}


def synthetic_jets(n: int = 12, seed: int = 0, jet_type: str = "t"):
    """``n`` jets of 3 to 8 particles around a common axis, pT about 1 TeV."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(3, 9, size=n)
    mask = np.arange(8)[None, :] < counts[:, None]
    pt = rng.exponential(100.0, size=(n, 8)) + 5.0
    eta = rng.normal(0, 0.3, size=(n, 1)) + rng.normal(0, 0.1, size=(n, 8))
    phi = rng.uniform(-np.pi, np.pi, size=(n, 1)) + rng.normal(0, 0.1, size=(n, 8))
    p4 = hv.physics.ptetaphim_to_cartesian(pt, eta, phi, np.zeros_like(pt))
    p4 = np.where(mask[..., None], p4, 0.0)
    return hv.datasets.make_jets(hv.physics.from_padded(p4, mask), jet_type)


def tiny_model_config(graphs, **overrides) -> dict:
    """max_particles 8, hidden 16, one L-GATr block, norm fitted on ``graphs``."""
    norm = jet_norm_from_graphs(graphs)
    block = {"num_blocks": 1, "hidden_v_channels": 4, "hidden_s_channels": 8, "num_heads": 2}
    cfg = {
        "max_particles": 8,
        "latent_dim": 4,
        "hidden": 16,
        "num_heads": 2,
        "encoder": block,
        "decoder": block,
        "norm": {"mean": norm.mean, "std": norm.std},
    }
    cfg.update(overrides)
    return cfg


def deterministic_overrides() -> dict:
    """Makes the loss a per-jet mean with (numerically) no sampling noise.

    The posterior standard deviation is clamped to e^-20, and the pooled EEC term and the
    existence term (its Gumbel-sampled slot count is random) are switched off: losses
    of split batches then average to the loss of the whole batch.
    """
    weights = {"chamfer": 1.0, "eec": 0.0, "jet": 1.0, "consistency": 1.0, "kl": 1.0,
               "multiplicity": 0.1, "existence": 0.0}  # fmt: skip
    return {"logvar_min": -40.0, "logvar_max": -40.0, "loss_weights": weights}


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: tiny models on a busy machine run far faster (and repeatably)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_graphs():
    """(train graphs [12], val graphs [4], normalisation); y physical, edges standardised."""
    train = hv.graph.build_hypergraphs(synthetic_jets(12, seed=1), GRAPH_CONFIG)
    val = hv.graph.build_hypergraphs(synthetic_jets(4, seed=2), GRAPH_CONFIG)
    norm = hv.graph.GraphNormalization.fit(train)
    edge = edge_normalization(norm)
    return [edge.transform(g) for g in train], [edge.transform(g) for g in val], norm


@pytest.fixture
def make_model(tiny_graphs):
    """Builds a tiny HyperVAE with a fixed initialisation."""

    def make(seed: int = 0, **overrides) -> hv.HyperVAE:
        torch.manual_seed(seed)
        return hv.HyperVAE(tiny_model_config(tiny_graphs[0], **overrides))

    return make


BASE = {"batch_size": 4, "max_epochs": 3, "lr": 1e-3, "warmup_steps": 2, "progress": False,
        "tensorboard": False, "log_every": 1, "kl_warmup_epochs": 2, "checkpoint_every": 1,
        "patience": 0}  # fmt: skip

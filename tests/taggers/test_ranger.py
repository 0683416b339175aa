from __future__ import annotations

import copy

import pytest
import torch

from hypervae.taggers import Ranger


def _loss(w):
    return ((w - torch.tensor([1.0, -2.0, 0.5])) ** 2 * torch.tensor([1.0, 3.0, 0.2])).sum()


def _run(opt, w, steps):
    for _ in range(steps):
        opt.zero_grad()
        _loss(w).backward()
        opt.step()


def test_k1_alpha1_is_radam():
    w1 = torch.nn.Parameter(torch.zeros(3))
    w2 = torch.nn.Parameter(torch.zeros(3))
    _run(Ranger([w1], lr=0.1, k=1, alpha=1.0), w1, 8)
    _run(torch.optim.RAdam([w2], lr=0.1, betas=(0.95, 0.999), eps=1e-5), w2, 8)
    torch.testing.assert_close(w1, w2, rtol=0, atol=0)


def test_lookahead_interpolates_towards_fast_weights():
    w0 = torch.tensor([0.3, 0.3, 0.3])
    fast = torch.nn.Parameter(w0.clone())
    _run(torch.optim.RAdam([fast], lr=0.1, betas=(0.95, 0.999), eps=1e-5), fast, 3)
    w = torch.nn.Parameter(w0.clone())
    opt = Ranger([w], lr=0.1, k=3, alpha=0.4)
    _run(opt, w, 2)
    assert not torch.allclose(w, w0)  # fast weights move between synchronisations
    _run(opt, w, 1)
    torch.testing.assert_close(w.detach(), w0 + 0.4 * (fast.detach() - w0))
    torch.testing.assert_close(opt.state[w]["slow"], w.detach())


def test_state_dict_resumes_identically():
    w = torch.nn.Parameter(torch.zeros(3))
    opt = Ranger([w], lr=0.05, k=4)
    _run(opt, w, 5)
    w2 = torch.nn.Parameter(w.detach().clone())
    opt2 = Ranger([w2], lr=0.05, k=4)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))  # as if saved to disk
    _run(opt, w, 6)
    _run(opt2, w2, 6)
    torch.testing.assert_close(w, w2, rtol=0, atol=0)


def test_invalid_arguments():
    w = torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(ValueError, match="k must be >= 1"):
        Ranger([w], k=0)
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\]"):
        Ranger([w], alpha=1.5)

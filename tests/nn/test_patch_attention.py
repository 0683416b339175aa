from __future__ import annotations

import torch

from hypervae.nn import PatchAttention, pad_to_multiple


def test_pad_to_multiple():
    x, m = pad_to_multiple(torch.ones(2, 5, 3), torch.ones(2, 5, dtype=torch.bool), 4)
    assert x.shape == (2, 8, 3)
    assert m.sum().item() == 10
    assert torch.all(x[:, 5:] == 0)


def test_local_attention_stays_within_patches_without_global_branch():
    torch.manual_seed(0)
    attn = PatchAttention(8, 2, patch_size=4).eval()
    x = torch.randn(1, 8, 8)
    mask = torch.ones(1, 8, dtype=torch.bool)
    other = x.clone()
    other[:, 4:] = torch.randn(1, 4, 8)  # change the second patch only
    with_global = attn(x, mask), attn(other, mask)
    assert not torch.allclose(with_global[0][:, :4], with_global[1][:, :4])
    with torch.no_grad():
        attn.broadcast.weight.zero_()
        attn.broadcast.bias.zero_()
    torch.testing.assert_close(attn(x, mask)[:, :4], attn(other, mask)[:, :4])


def test_padding_and_empty_patches_are_ignored():
    torch.manual_seed(0)
    attn = PatchAttention(8, 2, patch_size=4).eval()
    x = torch.randn(2, 6, 8)
    mask = torch.tensor([[True] * 6, [True] * 2 + [False] * 4])
    ref = attn(x, mask)
    assert ref.shape == (2, 6, 8)
    assert torch.all(ref[1, 2:] == 0)
    big = torch.cat([x, torch.full((2, 9, 8), 1e4)], dim=1)
    big[1, 2:6] = -1e4
    big_mask = torch.cat([mask, torch.zeros(2, 9, dtype=torch.bool)], dim=1)
    out = attn(big, big_mask)
    torch.testing.assert_close(out[:, :6], ref, atol=1e-6, rtol=0)
    assert torch.all(out[:, 6:] == 0)

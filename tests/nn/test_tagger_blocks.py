"""The taggers' blocks in hypervae.nn on tiny hand-built inputs: exact shapes and values."""

from __future__ import annotations

import math

import pytest
import torch

from hypervae.nn import (
    AttentionBlock,
    ClassAttentionBlock,
    ConditionalPositionalEncoding,
    FeedForward,
    MultiHeadAttention,
    PairEmbedding,
    SequencePool,
    masked_max,
    masked_mean,
    masked_pool,
)


def test_masked_reductions_ignore_padding_whatever_it_holds():
    x = torch.tensor([[[1.0, -2.0], [3.0, -4.0], [math.nan, 100.0]], [[5.0, 6.0], [0, 0], [0, 0]]])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    assert masked_mean(x, mask).tolist() == [[2.0, -3.0], [5.0, 6.0]]
    assert masked_max(x, mask).tolist() == [[3.0, -2.0], [5.0, 6.0]]
    assert masked_pool(x, mask, "max").tolist() == [[3.0, -2.0], [5.0, 6.0]]
    none = torch.zeros(1, 3, dtype=torch.bool)
    assert masked_max(x[:1], none).tolist() == [[0.0, 0.0]]
    with pytest.raises(ValueError, match="how: expected 'mean' or 'max', got 'sum'"):
        masked_pool(x, mask, "sum")  # type: ignore[arg-type]


def _identity_attention(dim: int, heads: int) -> MultiHeadAttention:
    attn = MultiHeadAttention(dim, heads)
    with torch.no_grad():
        for lin in (attn.q, attn.out):
            lin.weight.copy_(torch.eye(dim))
            lin.bias.zero_()
        attn.kv.weight.copy_(torch.cat([torch.zeros(dim, dim), torch.eye(dim)]))  # k = 0, v = x
        attn.kv.bias.zero_()
    return attn


def test_pair_bias_sets_the_attention_weights():
    # keys are zero, so the logits are the bias alone: weights = softmax(bias) over real keys
    attn = _identity_attention(2, 1)
    x = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [7.0, 7.0]]])
    mask = torch.tensor([[True, True, False]])
    bias = torch.zeros(1, 1, 3, 3)
    bias[0, 0, 0, 1] = math.log(3.0)  # query 0 weighs key 1 three times key 0
    out = attn(x, x, mask, bias)
    torch.testing.assert_close(out[0, 0], torch.tensor([0.25, 0.75]))
    torch.testing.assert_close(out[0, 1], torch.tensor([0.5, 0.5]))  # padded key 2 excluded
    with pytest.raises(ValueError, match="dim=6 must be divisible by heads=4"):
        MultiHeadAttention(6, 4)


def test_feedforward_and_attention_block_shapes_and_padding():
    torch.manual_seed(0)
    assert FeedForward(4, 8)(torch.randn(2, 3, 4)).shape == (2, 3, 4)
    block = AttentionBlock(4, 2, 8).eval()
    x = torch.randn(2, 5, 4)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    out = block(x, mask)
    assert out.shape == (2, 5, 4)
    assert torch.all(out[1, 2:] == 0)
    garbage = x.clone()
    garbage[1, 2:] = 1e4
    torch.testing.assert_close(block(garbage, mask), out)


def test_class_attention_reads_only_real_tokens():
    torch.manual_seed(0)
    block = ClassAttentionBlock(4, 2, 8).eval()
    cls = torch.zeros(1, 1, 4)
    x = torch.randn(1, 4, 4)
    mask = torch.tensor([[True, True, False, False]])
    ref = block(cls, x, mask)
    assert ref.shape == (1, 1, 4)
    torch.testing.assert_close(block(cls, x[:, [1, 0, 3, 2]], mask[:, [1, 0, 3, 2]]), ref)
    x2 = x.clone()
    x2[0, 2:] = -50.0
    torch.testing.assert_close(block(cls, x2, mask), ref)


def test_conditional_positional_encoding_exact_values():
    cpe = ConditionalPositionalEncoding(1, kernel_size=3)
    with torch.no_grad():
        cpe.conv.weight.copy_(torch.tensor([[[1.0, 10.0, 100.0]]]))  # left, centre, right
        cpe.conv.bias.zero_()
    x = torch.tensor([[[1.0], [2.0], [3.0], [99.0]]])
    mask = torch.tensor([[True, True, True, False]])
    out = cpe(x, mask)[0, :, 0].tolist()
    # token i: 1 * x[i-1] + 10 * x[i] + 100 * x[i+1], padded x = 0, padded outputs 0
    assert out == [210.0, 321.0, 32.0, 0.0]
    with pytest.raises(ValueError, match="kernel_size must be a positive odd number, got 2"):
        ConditionalPositionalEncoding(4, kernel_size=2)


def test_sequence_pool_exact_group_means():
    pool = SequencePool(1, 1, stride=2)
    with torch.no_grad():
        pool.norm = torch.nn.Identity()  # type: ignore[assignment]
        pool.proj.weight.fill_(1.0)
        pool.proj.bias.zero_()
    x = torch.tensor([[[1.0], [3.0], [5.0], [7.0], [9.0]]])
    coords = torch.tensor([[[0.0, 0.0], [2.0, 2.0], [4.0, 0.0], [8.0, 0.0], [1.0, 1.0]]])
    mask = torch.tensor([[True, True, True, False, False]])
    y, c, m = pool(x, coords, mask)
    assert y[0, :, 0].tolist() == [2.0, 5.0, 0.0]  # (1+3)/2, 5 alone, empty group
    assert c[0].tolist() == [[1.0, 1.0], [4.0, 0.0], [0.0, 0.0]]
    assert m.tolist() == [[True, True, False]]
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        SequencePool(2, 2, stride=0)


def test_pair_embedding_is_zero_on_padded_pairs_and_symmetric():
    torch.manual_seed(0)
    embed = PairEmbedding((8,), heads=2)
    p4 = torch.tensor(
        [[[50.0, 30, 0, 40], [20.0, 0, 20, 1], [30.0, 10, 10, 20], [0, 0, 0, 0]]],
        dtype=torch.float64,
    )
    mask = torch.tensor([[True, True, True, False]])
    bias = embed(p4, mask)
    assert bias.shape == (1, 2, 4, 4)
    assert torch.all(bias[0, :, 3] == 0)
    assert torch.all(bias[0, :, :, 3] == 0)
    torch.testing.assert_close(bias, bias.transpose(-1, -2))  # the pair features are symmetric

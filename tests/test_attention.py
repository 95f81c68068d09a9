"""The self-attention block: the paper's maths, and the fused path agreeing with the explicit one."""

import pytest
import torch
import torch.nn.functional as F

from sagan_hf import SelfAttention2d


@pytest.fixture
def block():
    torch.manual_seed(0)
    module = SelfAttention2d(32).eval()
    with torch.no_grad():
        module.gamma.fill_(0.7)
    return module


def test_channel_sizes_follow_the_paper(block):
    assert block.query.weight.shape == (4, 32, 1, 1)
    assert block.key.weight.shape == (4, 32, 1, 1)
    assert block.value.weight.shape == (16, 32, 1, 1)
    assert block.out.weight.shape == (32, 16, 1, 1)


def test_rows_of_the_map_sum_to_one_over_the_pooled_positions(block):
    x = torch.randn(3, 32, 16, 16)
    _, attention = block(x, output_attentions=True)
    assert attention.shape == (3, 256, 64)
    assert torch.allclose(attention.sum(-1), torch.ones(3, 256), atol=1e-5)
    assert (attention >= 0).all()


def test_gamma_zero_is_the_identity():
    module = SelfAttention2d(16)
    assert module.gamma.item() == 0.0  # initialised to 0
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(module(x), x)


def test_fused_and_explicit_paths_agree_in_fp32(block):
    x = torch.randn(4, 32, 16, 16)
    fused = block(x)
    explicit, _ = block(x, output_attentions=True)
    assert torch.allclose(fused, explicit, atol=1e-5, rtol=0)


def test_the_map_is_unscaled_softmax_of_query_times_pooled_key(block):
    x = torch.randn(1, 32, 8, 8)
    _, attention = block(x, output_attentions=True)
    with torch.no_grad():
        q = block.query(x).flatten(2)[0].T  # (64, 4)
        k = F.max_pool2d(block.key(x), 2).flatten(2)[0]  # (4, 16)
        v = F.max_pool2d(block.value(x), 2).flatten(2)[0]  # (16, 16)
        beta = torch.softmax(q @ k, dim=-1)  # no 1/sqrt(d)
        o = block.out((beta @ v.T).T.reshape(1, 16, 8, 8))
    assert torch.allclose(attention[0], beta, atol=1e-6)
    assert torch.allclose(block(x), x + 0.7 * o, atol=1e-5)


def test_gradients_flow_through_the_fused_path(block):
    block.train()
    x = torch.randn(2, 32, 8, 8, requires_grad=True)
    block(x).square().sum().backward()
    assert block.gamma.grad is not None and block.gamma.grad.abs() > 0
    assert x.grad.abs().sum() > 0


def test_odd_maps_and_bad_widths_are_refused():
    with pytest.raises(ValueError, match="divisible by 8"):
        SelfAttention2d(12)
    with pytest.raises(ValueError, match="even"):
        SelfAttention2d(16)(torch.randn(1, 16, 7, 7))


def test_the_explicit_implementation_switch_gives_the_same_outputs(block):
    from sagan_hf.models import set_attention_implementation

    x = torch.randn(2, 32, 8, 8)
    fused = block(x)
    set_attention_implementation(block, "explicit")
    assert block.implementation == "explicit"
    assert torch.allclose(block(x), fused, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="fused' or 'explicit"):
        set_attention_implementation(block, "flash")

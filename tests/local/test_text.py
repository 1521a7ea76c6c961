"""JinaBERT v2 text tower: ALiBi slopes, chunked attention bias, SDPA vs manual, key map."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from jinaclip.local import text
from jinaclip.local.config import TextConfig

SMALL = TextConfig(
    vocab_size=64, hidden_size=24, num_hidden_layers=2, num_attention_heads=6, intermediate_size=40
)


def _tower(seed: int = 0, config: TextConfig = SMALL) -> text.JinaBertModel:
    torch.manual_seed(seed)
    model = text.JinaBertModel(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    return model


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.tensor([[1, 5, 9, 13, 2, 0, 0], [1, 7, 8, 9, 10, 11, 2], [1, 2, 0, 0, 0, 0, 0]])
    return ids, (ids != 0).long()


def test_alibi_slopes_for_12_heads_follow_press_et_al(expected: dict[str, Any]) -> None:
    slopes = torch.tensor(text.alibi_slopes(12), dtype=torch.float32)
    golden = torch.tensor(expected["text"]["alibi_slopes"], dtype=torch.float32)
    torch.testing.assert_close(slopes, golden, rtol=0, atol=0)


def test_alibi_slopes_for_a_power_of_two_are_a_geometric_series() -> None:
    assert text.alibi_slopes(8) == [2.0 ** -(i + 1) for i in range(8)]


def test_attention_bias_is_symmetric_alibi_with_pad_keys_masked() -> None:
    mask = torch.tensor([[1, 1, 1, 0]])
    bias = text.attention_bias(torch.tensor([0.5]), mask, 0, 4, torch.float32)[0, 0]
    torch.testing.assert_close(
        bias[:, :3], -0.5 * torch.tensor([[0.0, 1, 2], [1, 0, 1], [2, 1, 0], [3, 2, 1]])
    )
    assert bool((bias[:, 3] < -1e30).all())


def test_sdpa_and_manual_attention_agree() -> None:
    model = _tower()
    ids, mask = _batch()
    with torch.no_grad():
        fused = model.encode(ids, mask)
        model.set_fused_attn(False)
        manual = model.encode(ids, mask)
    torch.testing.assert_close(fused, manual, rtol=0, atol=1e-5)


@pytest.mark.parametrize("fused", [True, False])
def test_query_chunking_gives_the_same_states_as_one_chunk(
    monkeypatch: pytest.MonkeyPatch, fused: bool
) -> None:
    model = _tower()
    model.set_fused_attn(fused)
    ids, mask = _batch()
    with torch.no_grad():
        whole = model(ids, mask)
        budget = 3 * SMALL.num_attention_heads * 7 * 2
        monkeypatch.setattr(text, "_BIAS_BUDGET_CPU", budget)
        assert text.AttentionBias(model.slopes, mask, torch.float32, budget).num_chunks == 4
        chunked = model(ids, mask)
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-6)


def test_an_unpadded_batch_counts_one_broadcast_bias_against_the_budget() -> None:
    slopes = text.alibi_slopes(SMALL.num_attention_heads)
    budget = SMALL.num_attention_heads * 7 * 7
    unpadded = torch.ones(3, 7, dtype=torch.long)
    padded = unpadded.clone()
    padded[0, -1] = 0

    assert text.AttentionBias(slopes, unpadded, torch.float32, budget).num_chunks == 1
    assert text.AttentionBias(slopes, padded, torch.float32, budget).num_chunks == 4


def test_padding_does_not_change_a_texts_embedding() -> None:
    model = _tower()
    ids, mask = _batch()
    with torch.no_grad():
        batched = model.encode(ids, mask)
        alone = model.encode(ids[:1, :5], mask[:1, :5])
    torch.testing.assert_close(batched[:1], alone, rtol=0, atol=1e-5)


def test_checkpoint_filter_strips_the_prefix_and_ignores_other_towers() -> None:
    state = {
        "text_model.transformer.emb_ln.weight": torch.ones(2),
        "text_model.transformer.embeddings.position_ids": torch.arange(4),
        "text_model.transformer.encoder.layers.0.mixer.Wqkv.bias": torch.zeros(6),
        "vision_model.norm.weight": torch.ones(2),
        "logit_scale": torch.tensor(1.0),
    }
    filtered = text.checkpoint_filter_fn(state)
    assert sorted(filtered) == ["emb_ln.weight", "encoder.layers.0.mixer.Wqkv.bias"]
    assert sorted(text.to_checkpoint_keys(filtered)) == [
        "text_model.transformer.emb_ln.weight",
        "text_model.transformer.encoder.layers.0.mixer.Wqkv.bias",
    ]


def test_tower_state_dict_keys_equal_the_checkpoint_names() -> None:
    keys = set(text.JinaBertModel(SMALL).state_dict())
    assert "encoder.layers.1.mlp.gated_layers.weight" in keys
    assert "encoder.layers.1.mlp.gated_layers.bias" not in keys
    assert "embeddings.token_type_embeddings.weight" in keys
    assert not [k for k in keys if "position" in k]


def test_a_head_count_that_does_not_divide_the_width_is_refused() -> None:
    with pytest.raises(ValueError, match="not a multiple"):
        text.JinaBertModel(TextConfig(hidden_size=30, num_attention_heads=4))

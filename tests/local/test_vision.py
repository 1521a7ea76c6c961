"""EVA02 vision tower on timm: key map to and from the checkpoint, RoPE grid, attention paths."""

from __future__ import annotations

from typing import Any

import torch

from jinaclip.local import vision
from jinaclip.local.config import VisionConfig
from jinaclip.local.model import load_model
from tests.support.paths import TINY_FIXTURE_DIR

SMALL = VisionConfig(width=32, layers=1, head_width=16, image_size=64, pt_hw_seq_len=4)


def _checkpoint_block(prefix: str = "vision_model.blocks.0.") -> dict[str, torch.Tensor]:
    names = [
        "attn.q_proj.weight",
        "attn.k_proj.weight",
        "attn.v_proj.weight",
        "attn.q_bias",
        "attn.v_bias",
        "attn.inner_attn_ln.weight",
        "attn.proj.bias",
        "mlp.w1.weight",
        "mlp.w2.bias",
        "mlp.ffn_ln.weight",
        "mlp.w3.weight",
        "norm1.weight",
    ]
    return {prefix + name: torch.full((2,), float(i)) for i, name in enumerate(names)}


def test_checkpoint_filter_maps_original_eva_names_to_timm() -> None:
    state = _checkpoint_block()
    filtered = vision.checkpoint_filter_fn(state)
    assert sorted(filtered) == sorted(
        "blocks.0." + name
        for name in [
            "attn.q_proj.weight",
            "attn.k_proj.weight",
            "attn.v_proj.weight",
            "attn.q_proj.bias",
            "attn.v_proj.bias",
            "attn.norm.weight",
            "attn.proj.bias",
            "mlp.fc1_g.weight",
            "mlp.fc1_x.bias",
            "mlp.norm.weight",
            "mlp.fc2.weight",
            "norm1.weight",
        ]
    )
    torch.testing.assert_close(
        filtered["blocks.0.attn.q_proj.bias"], state["vision_model.blocks.0.attn.q_bias"]
    )
    torch.testing.assert_close(
        filtered["blocks.0.mlp.fc1_g.weight"], state["vision_model.blocks.0.mlp.w1.weight"]
    )


def test_checkpoint_filter_drops_rope_buffers_and_other_towers() -> None:
    with_rope = {
        **_checkpoint_block(),
        "vision_model.rope.freqs_cos": torch.zeros(4, 2),
        "vision_model.rope.freqs_sin": torch.zeros(4, 2),
        "vision_model.blocks.0.attn.rope.freqs_cos": torch.zeros(4, 2),
        "text_model.transformer.emb_ln.weight": torch.ones(2),
        "logit_scale": torch.tensor(0.0),
    }
    assert (
        vision.checkpoint_filter_fn(with_rope).keys()
        == vision.checkpoint_filter_fn(_checkpoint_block()).keys()
    )


def test_saving_names_invert_the_filter() -> None:
    state = _checkpoint_block()
    assert vision.to_checkpoint_keys(vision.checkpoint_filter_fn(state)).keys() == state.keys()


def test_built_tower_accepts_exactly_the_filtered_fixture_weights() -> None:
    from safetensors.torch import load_file

    _, config = load_model(TINY_FIXTURE_DIR)
    tower = vision.build_vision_tower(config.vision)
    filtered = vision.checkpoint_filter_fn(load_file(str(TINY_FIXTURE_DIR / "model.safetensors")))
    result = tower.load_state_dict(filtered, strict=True)
    assert not result.missing_keys
    assert not result.unexpected_keys


def test_rope_grid_is_the_reference_grid_not_timms_16(expected: dict[str, Any]) -> None:
    model, _ = load_model(TINY_FIXTURE_DIR)
    rope = model.vision_model.rope.get_embed()
    sin, cos = rope.chunk(2, dim=-1)
    debug = expected["debug"]["image0"]
    torch.testing.assert_close(
        cos[29, :8], torch.tensor(debug["rope_cos_row29_first8"]), rtol=0, atol=1e-6
    )
    torch.testing.assert_close(
        sin[29, :8], torch.tensor(debug["rope_sin_row29_first8"]), rtol=0, atol=1e-6
    )
    half = cos.shape[-1] // 2
    torch.testing.assert_close(
        cos[29, half : half + 8],
        torch.tensor(debug["rope_cos_row29_second_half_first8"]),
        rtol=0,
        atol=1e-6,
    )


def test_sdpa_and_manual_attention_agree() -> None:
    torch.manual_seed(0)
    tower = vision.build_vision_tower(SMALL).eval()
    pixels = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        fused = tower(pixels)
        vision.set_fused_attn(tower, False)
        manual = tower(pixels)
    assert fused.shape == (2, 32)
    torch.testing.assert_close(fused, manual, rtol=0, atol=1e-5)

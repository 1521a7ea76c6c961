"""EVA02 vision tower on timm's `Eva`, plus the key map between it and the jina-clip checkpoint.

timm's `eva02_base_patch16_clip_224` computes exactly the reference EVA-CLIP tower once RoPE
uses the reference grid (`ref_feat_shape=(14, 14)` for v1; timm's preset of 16 is wrong
here) and the head is removed (`num_classes=0`, CLS token after the final norm). RoPE
tables are recomputed from the config, so checkpoints with or without `rope.*` buffers load.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from jinaclip.local.config import VisionConfig

CHECKPOINT_PREFIX = "vision_model."

#: Checkpoint name fragment -> timm name fragment; applied in order, reversed for saving.
_RENAMES: tuple[tuple[str, str], ...] = (
    (".attn.q_bias", ".attn.q_proj.bias"),
    (".attn.v_bias", ".attn.v_proj.bias"),
    (".attn.inner_attn_ln.", ".attn.norm."),
    (".mlp.ffn_ln.", ".mlp.norm."),
    (".mlp.w1.", ".mlp.fc1_g."),
    (".mlp.w2.", ".mlp.fc1_x."),
    (".mlp.w3.", ".mlp.fc2."),
)


def build_vision_tower(config: VisionConfig, **overrides: Any) -> nn.Module:
    """timm's EVA02-CLIP-B/16 sized and configured from `config`, random weights, no head."""
    import timm

    grid = config.grid_size
    ref = config.pt_hw_seq_len if config.intp_freq else grid
    kwargs: dict[str, Any] = {
        "pretrained": False,
        "num_classes": 0,
        "img_size": config.image_size,
        "patch_size": config.patch_size,
        "embed_dim": config.width,
        "depth": config.layers,
        "num_heads": config.num_heads,
        "mlp_ratio": config.mlp_ratio,
        "qkv_bias": config.qkv_bias,
        "use_rot_pos_emb": config.rope_embeddings,
        "ref_feat_shape": (ref, ref),
        "scale_mlp": config.subln,
        "scale_attn_inner": config.subln,
        "init_values": config.ls_init_value,
    }
    kwargs.update(overrides)
    model: nn.Module = timm.create_model("eva02_base_patch16_clip_224", **kwargs)
    return model


def set_fused_attn(model: nn.Module, enabled: bool) -> None:
    """SDPA (True) or timm's manual softmax path (False) in every block."""
    for block in getattr(model, "blocks", []):
        block.attn.fused_attn = enabled


def checkpoint_filter_fn(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Checkpoint keys `vision_model.*` -> timm `Eva` keys.

    `q_bias`/`v_bias` become the q/v Linear biases, `inner_attn_ln` -> `attn.norm`,
    `w1`/`w2`/`w3`/`ffn_ln` -> `fc1_g`/`fc1_x`/`fc2`/`mlp.norm`; `rope.*` buffers are
    dropped (recomputed). Keys of other towers are ignored; unknown names pass through
    renamed by the same rules, so the loader can report them.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if not key.startswith(CHECKPOINT_PREFIX):
            continue
        name = key[len(CHECKPOINT_PREFIX) :]
        if name.startswith("rope.") or ".rope." in name:
            continue
        for old, new in _RENAMES:
            name = name.replace(old, new)
        out[name] = value
    return out


def to_checkpoint_keys(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """timm `Eva` keys -> the checkpoint's `vision_model.*` names (for saving)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        name = key
        for old, new in _RENAMES:
            name = name.replace(new, old)
        out[CHECKPOINT_PREFIX + name] = value
    return out

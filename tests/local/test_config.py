"""config.json -> dataclasses: JinaBERT v2 defaults overlaid, sizes never hard-coded, bad switches refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jinaclip.local.config import (
    CLIP_MEAN,
    CheckpointError,
    JinaClipConfig,
    TextConfig,
    VisionConfig,
    load_config,
    load_preprocess_config,
)
from tests.support.paths import TINY_FIXTURE_DIR


def _fixture_raw() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((TINY_FIXTURE_DIR / "config.json").read_text())
    return raw


def test_fixture_config_overlays_hf_model_config_kwargs() -> None:
    config = load_config(TINY_FIXTURE_DIR)
    assert config.text == TextConfig(
        vocab_size=576,
        hidden_size=96,
        num_hidden_layers=2,
        num_attention_heads=12,
        intermediate_size=384,
    )
    assert config.vision.num_heads == 3
    assert config.vision.grid_size == 14
    assert config.vision.mlp_ratio == pytest.approx(2.6667)
    assert config.dim == 96
    assert config.name == "jina-clip-v1-tiny"


def test_real_style_config_without_text_sizes_gets_jina_bert_v2_base() -> None:
    raw = _fixture_raw()
    raw["text_config"]["hf_model_config_kwargs"] = {"use_flash_attn": False}
    raw["vision_config"].update(width=768, embed_dim=768, layers=12, head_width=64)
    raw["projection_dim"] = 768
    config = JinaClipConfig.from_dict(raw, name="jinaai/jina-clip-v1")
    assert config.text == TextConfig()
    assert (config.text.vocab_size, config.text.hidden_size, config.text.num_hidden_layers) == (
        30528,
        768,
        12,
    )
    assert (config.text.num_attention_heads, config.text.intermediate_size) == (12, 3072)
    assert config.text.layer_norm_eps == 1e-12
    assert config.vision.num_heads == 12
    assert config.name == "jina-clip-v1"


def test_to_dict_round_trips() -> None:
    config = load_config(TINY_FIXTURE_DIR)
    assert JinaClipConfig.from_dict(config.to_dict()) == config
    assert "auto_map" not in config.to_dict()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("add_projections",), True, "add_projections"),
        (("text_config", "hf_model_config_kwargs", "mlp_type"), "mlp", "mlp_type"),
        (("text_config", "hf_model_config_kwargs", "use_qk_norm"), True, "use_qk_norm"),
        (("text_config", "pooler_type"), "cls_pooler", "pooler_type"),
        (("vision_config", "post_norm"), True, "post_norm"),
        (("vision_config", "proj_type"), "linear", "proj_type"),
        (("vision_config", "pt_hw_seq_len"), 16, "pt_hw_seq_len"),
        (("projection_dim",), 64, "projection_dim"),
        (("model_type",), "clip", "model_type"),
    ],
)
def test_unsupported_architecture_switches_are_refused(
    path: tuple[str, ...], value: object, message: str
) -> None:
    raw = _fixture_raw()
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(CheckpointError, match=message):
        JinaClipConfig.from_dict(raw)


def test_missing_or_broken_config_json_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"config\.json is missing"):
        load_config(tmp_path)
    (tmp_path / "config.json").write_text("{nope")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_config(tmp_path)


def test_preprocessor_config_gives_size_and_clip_mean_std(tmp_path: Path) -> None:
    fixture = load_preprocess_config(TINY_FIXTURE_DIR, 999)
    assert fixture.size == 224
    assert fixture.mean == CLIP_MEAN
    assert load_preprocess_config(tmp_path, 64).size == 64


def test_vision_heads_come_from_width_and_head_width() -> None:
    assert VisionConfig(width=1024, head_width=64).num_heads == 16

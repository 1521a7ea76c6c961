"""JinaClipModel: checkpoint round trip in the real key layout, strict key checks, autograd."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from jinaclip.local.config import CheckpointError, load_config
from jinaclip.local.model import build_model, load_model, save_checkpoint
from tests.local.conftest import TINY_CONFIG, build_random_checkpoint
from tests.support.paths import TINY_FIXTURE_DIR


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    ids = torch.tensor([[101, 146, 396, 102, 0], [101, 225, 327, 117, 102]])
    return (
        ids,
        (ids != 0).long(),
        torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1)),
    )


def test_saved_checkpoint_uses_the_real_jina_clip_key_names(random_checkpoint_dir: Path) -> None:
    keys = set(load_file(str(random_checkpoint_dir / "model.safetensors")))
    assert "logit_scale" in keys
    assert "text_model.transformer.encoder.layers.1.mixer.Wqkv.weight" in keys
    assert "text_model.transformer.encoder.layers.0.mlp.gated_layers.weight" in keys
    for name in (
        "attn.q_bias",
        "attn.v_bias",
        "attn.inner_attn_ln.weight",
        "mlp.w1.weight",
        "mlp.w2.bias",
        "mlp.w3.weight",
        "mlp.ffn_ln.bias",
    ):
        assert f"vision_model.blocks.0.{name}" in keys
    assert not [k for k in keys if "q_proj.bias" in k or "fc1_g" in k or ".attn.norm." in k]
    for name in ("config.json", "preprocessor_config.json", "tokenizer.json", "vocab.txt"):
        assert (random_checkpoint_dir / name).is_file()


def test_save_then_load_round_trips_weights_config_and_outputs(tmp_path: Path) -> None:
    torch.manual_seed(3)
    model = build_model(TINY_CONFIG)
    save_checkpoint(model, TINY_CONFIG, tmp_path, TINY_FIXTURE_DIR)
    loaded, config = load_model(tmp_path)
    assert config == TINY_CONFIG
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=0)
    model.eval()
    ids, mask, pixels = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode_text(ids, mask), model.encode_text(ids, mask))
        torch.testing.assert_close(loaded.encode_image(pixels), model.encode_image(pixels))


def test_logit_scale_is_stored_as_a_0d_tensor_and_loaded_from_the_checkpoint(
    tmp_path: Path,
) -> None:
    model = build_model(TINY_CONFIG)
    with torch.no_grad():
        model.logit_scale.fill_(3.25)
    save_checkpoint(model, TINY_CONFIG, tmp_path, TINY_FIXTURE_DIR)
    assert load_file(str(tmp_path / "model.safetensors"))["logit_scale"].shape == ()
    assert float(load_model(tmp_path)[0].logit_scale.detach()) == pytest.approx(3.25)


def test_fixture_checkpoint_loads_with_its_rope_buffers_present() -> None:
    keys = load_file(str(TINY_FIXTURE_DIR / "model.safetensors"))
    assert "vision_model.rope.freqs_cos" in keys
    model, _ = load_model(TINY_FIXTURE_DIR)
    assert model.config.vision.width == 96


def _rewrite(directory: Path, edit: dict[str, torch.Tensor | None]) -> None:
    path = directory / "model.safetensors"
    tensors = load_file(str(path))
    for key, value in edit.items():
        if value is None:
            tensors.pop(key)
        else:
            tensors[key] = value
    save_file(tensors, str(path))


def test_missing_and_unexpected_keys_are_all_listed_by_checkpoint_name(tmp_path: Path) -> None:
    build_random_checkpoint(tmp_path)
    _rewrite(
        tmp_path,
        {
            "vision_model.blocks.0.attn.q_bias": None,
            "text_model.transformer.emb_ln.bias": None,
            "text_model.transformer.pooler.dense.weight": torch.zeros(2),
            "text_projection.weight": torch.zeros(2),
        },
    )
    with pytest.raises(CheckpointError) as info:
        load_model(tmp_path)
    message = str(info.value)
    for key in (
        "vision_model.blocks.0.attn.q_bias",
        "text_model.transformer.emb_ln.bias",
        "text_model.transformer.pooler.dense.weight",
        "text_projection.weight",
    ):
        assert key in message
    assert "missing keys (2)" in message
    assert "unexpected keys (2)" in message


def test_a_tensor_of_the_wrong_shape_is_named_with_both_shapes(tmp_path: Path) -> None:
    build_random_checkpoint(tmp_path)
    _rewrite(tmp_path, {"text_model.transformer.encoder.layers.0.mlp.wo.bias": torch.zeros(7)})
    with pytest.raises(
        CheckpointError, match=r"layers\.0\.mlp\.wo\.bias \(7,\) \(model expects \(32,\)\)"
    ):
        load_model(tmp_path)


def test_weights_are_never_read_from_pickle(tmp_path: Path) -> None:
    build_random_checkpoint(tmp_path)
    (tmp_path / "model.safetensors").rename(tmp_path / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="only safetensors"):
        load_model(tmp_path)


def test_both_towers_train_with_autograd() -> None:
    torch.manual_seed(0)
    model = build_model(TINY_CONFIG)
    ids, mask, pixels = _inputs()
    text = torch.nn.functional.normalize(model.encode_text(ids, mask), dim=-1)
    image = torch.nn.functional.normalize(model.encode_image(pixels), dim=-1)
    logits = model.logit_scale.exp() * text @ image.T
    loss = torch.nn.functional.cross_entropy(logits, torch.arange(2))
    loss.backward()
    assert model.logit_scale.grad is not None
    word = model.text_model.embeddings.word_embeddings.weight.grad
    patch = model.vision_model.patch_embed.proj.weight.grad
    assert word is not None
    assert word.abs().sum() > 0
    assert patch is not None
    assert patch.abs().sum() > 0


def test_config_written_by_save_parses_back_to_the_same_config(random_checkpoint_dir: Path) -> None:
    assert load_config(random_checkpoint_dir) == TINY_CONFIG

"""The committed demo checkpoint: loads like any checkpoint and visibly knows its world.

Measured on a held-out gallery (a seed never used in training): one picture per
(colour, shape) pair with one to three shapes, so a caption has exactly one right picture.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

import jinaclip
from jinaclip.demo import DEMO_MODEL_DIR, synthetic

HELD_OUT_SEEDS = (20_241_101, 99)


@pytest.fixture(scope="module")
def demo_encoder() -> Iterator[jinaclip.LocalEncoder]:
    encoder = jinaclip.LocalEncoder.from_pretrained(str(DEMO_MODEL_DIR), device="cpu")
    yield encoder
    encoder.close()


def _recall_at_1(queries: np.ndarray, targets: np.ndarray) -> float:
    return float(np.mean((queries @ targets.T).argmax(axis=1) == np.arange(len(queries))))


@pytest.fixture(scope="module", params=HELD_OUT_SEEDS)
def held_out(
    request: pytest.FixtureRequest, demo_encoder: jinaclip.LocalEncoder
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gallery = synthetic.gallery(request.param, counts=synthetic.COUNTS)
    images = demo_encoder.embed_images([example.image for example in gallery])
    captions = demo_encoder.embed_texts([example.caption for example in gallery])
    paraphrases = demo_encoder.embed_texts([example.paraphrase for example in gallery])
    return images, captions, paraphrases


def test_text_to_image_recall_at_1_is_at_least_0_8(held_out: tuple[np.ndarray, ...]) -> None:
    images, captions, _ = held_out
    assert _recall_at_1(captions, images) >= 0.8


def test_image_to_text_recall_at_1_is_at_least_0_8(held_out: tuple[np.ndarray, ...]) -> None:
    images, captions, _ = held_out
    assert _recall_at_1(images, captions) >= 0.8


def test_paraphrased_captions_find_each_other(held_out: tuple[np.ndarray, ...]) -> None:
    _, captions, paraphrases = held_out
    assert _recall_at_1(paraphrases, captions) >= 0.8


def test_checkpoint_is_small_and_in_the_real_jina_clip_layout() -> None:
    files = {path.name: path for path in DEMO_MODEL_DIR.iterdir()}
    assert set(files) == {
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
    }
    assert sum(path.stat().st_size for path in files.values()) <= 10 * 1024 * 1024
    config = json.loads(files["config.json"].read_text())
    assert config["model_type"] == "jina_clip"
    assert "auto_map" not in config
    from safetensors import safe_open

    with safe_open(str(files["model.safetensors"]), framework="pt") as weights:
        keys = set(weights.keys())
    assert "logit_scale" in keys
    assert "text_model.transformer.encoder.layers.0.mixer.Wqkv.weight" in keys
    assert "vision_model.blocks.0.attn.q_bias" in keys


def test_tokenizer_has_the_bert_special_ids_and_lowercases() -> None:
    vocab = (DEMO_MODEL_DIR / "vocab.txt").read_text().splitlines()
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(DEMO_MODEL_DIR / "tokenizer.json"))
    encoding = tokenizer.encode("A Violet RHOMBUS")
    assert encoding.tokens == ["[CLS]", "a", "violet", "rhombus", "[SEP]"]
    assert encoding.ids == [2, vocab.index("a"), vocab.index("violet"), vocab.index("rhombus"), 3]


def test_logit_scale_was_learned(demo_encoder: jinaclip.LocalEncoder) -> None:
    assert demo_encoder.logit_scale > 20.0
    assert demo_encoder.model_name == "jina-clip-v1-demo"

"""Parity proof: the golden jina-clip-v1-tiny fixture loads and reproduces its reference outputs.

Preprocessing parity (pixel-exact crops, normalised samples) is in test_preprocess.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jinaclip.local.encoder import LocalEncoder


def _image_items(expected: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = expected["images"]["items"]
    return items


@pytest.fixture(params=["sdpa", "manual"])
def encoder(
    request: pytest.FixtureRequest, fixture_encoder: LocalEncoder
) -> Iterator[LocalEncoder]:
    fixture_encoder.model.set_fused_attn(request.param == "sdpa")
    yield fixture_encoder
    fixture_encoder.model.set_fused_attn(True)


def test_token_ids_match_the_reference_tokenizer_exactly(
    fixture_encoder: LocalEncoder, fixture_texts: list[str], expected_arrays: dict[str, np.ndarray]
) -> None:
    ids = fixture_encoder.tokenizer.encode(fixture_texts)
    padded = np.zeros((len(ids), max(map(len, ids))), dtype=np.int64)
    for row, token_ids in enumerate(ids):
        padded[row, : len(token_ids)] = token_ids
    np.testing.assert_array_equal(padded, expected_arrays["text_input_ids_padded"])


def test_text_embeddings_match_the_golden_values(
    encoder: LocalEncoder, fixture_texts: list[str], expected_arrays: dict[str, np.ndarray]
) -> None:
    raw = encoder.embed_texts(fixture_texts, normalize=False)
    np.testing.assert_allclose(raw, expected_arrays["text_embeddings"], atol=1e-4, rtol=0)
    normalized = encoder.embed_texts(fixture_texts)
    np.testing.assert_allclose(
        normalized, expected_arrays["text_embeddings_normalized"], atol=1e-5, rtol=0
    )


def test_image_embeddings_match_the_golden_values(
    encoder: LocalEncoder,
    tiny_fixture_dir: Path,
    expected: dict[str, Any],
    expected_arrays: dict[str, np.ndarray],
) -> None:
    paths = [str(tiny_fixture_dir / item["file"]) for item in _image_items(expected)]
    raw = encoder.embed_images(paths, normalize=False)
    np.testing.assert_allclose(raw, expected_arrays["image_embeddings"], atol=1e-4, rtol=0)
    normalized = encoder.embed_images(paths)
    np.testing.assert_allclose(
        normalized, expected_arrays["image_embeddings_normalized"], atol=1e-5, rtol=0
    )


def test_cosines_and_logits_match_the_golden_values(
    encoder: LocalEncoder,
    fixture_texts: list[str],
    tiny_fixture_dir: Path,
    expected: dict[str, Any],
    expected_arrays: dict[str, np.ndarray],
) -> None:
    texts = encoder.embed_texts(fixture_texts)
    images = encoder.embed_images(
        [(tiny_fixture_dir / item["file"]).read_bytes() for item in _image_items(expected)]
    )
    cosine = texts @ images.T
    np.testing.assert_allclose(cosine, expected_arrays["cosine_text_x_image"], atol=1e-5, rtol=0)
    assert encoder.logit_scale == pytest.approx(expected["logit_scale"]["exp"], rel=1e-6)
    logits = encoder.logit_scale * cosine
    np.testing.assert_allclose(logits, expected_arrays["logits_per_text"], atol=5e-4, rtol=0)


def test_long_text_untruncated_matches_the_reference_at_8192_tokens(
    tiny_fixture_dir: Path, fixture_texts: list[str], expected: dict[str, Any]
) -> None:
    long_item = expected["text"]["items"][5]
    with LocalEncoder.from_pretrained(tiny_fixture_dir, device="cpu", max_length=8192) as encoder:
        assert (
            len(encoder.tokenizer.encode([fixture_texts[5]])[0])
            == long_item["num_tokens_untruncated"]
        )
        vector = encoder.embed_texts([fixture_texts[5]])[0]
    golden = np.float32(long_item["embedding_normalized_untruncated"])
    np.testing.assert_allclose(vector, golden, atol=1e-5, rtol=0)

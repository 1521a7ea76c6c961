"""Fixture parity on CUDA: float32 at the CPU tolerances, bfloat16 at a looser one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from jinaclip.local.encoder import LocalEncoder

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

#: (dtype, atol on normalised embeddings, atol on cosines)
CASES = [("float32", 1e-5, 1e-5), ("bfloat16", 3e-2, 3e-2)]


@pytest.mark.parametrize(("dtype", "atol", "cosine_atol"), CASES)
@pytest.mark.parametrize("fused", [True, False])
def test_fixture_parity_on_cuda(
    tiny_fixture_dir: Path,
    fixture_texts: list[str],
    expected: dict[str, Any],
    expected_arrays: dict[str, np.ndarray],
    dtype: str,
    atol: float,
    cosine_atol: float,
    fused: bool,
) -> None:
    with LocalEncoder.from_pretrained(tiny_fixture_dir, device="cuda", dtype=dtype) as encoder:
        assert encoder.model.logit_scale.device.type == "cuda"
        encoder.model.set_fused_attn(fused)
        texts = encoder.embed_texts(fixture_texts)
        images = encoder.embed_images(
            [str(tiny_fixture_dir / item["file"]) for item in expected["images"]["items"]]
        )
    np.testing.assert_allclose(
        texts, expected_arrays["text_embeddings_normalized"], atol=atol, rtol=0
    )
    np.testing.assert_allclose(
        images, expected_arrays["image_embeddings_normalized"], atol=atol, rtol=0
    )
    np.testing.assert_allclose(
        texts @ images.T, expected_arrays["cosine_text_x_image"], atol=cosine_atol, rtol=0
    )


def test_cuda_is_the_default_device_with_bfloat16(tiny_fixture_dir: Path) -> None:
    with LocalEncoder.from_pretrained(tiny_fixture_dir) as encoder:
        assert encoder.device.type == "cuda"
        assert encoder.dtype == torch.bfloat16
        assert encoder.embed_texts(["hello"]).dtype == np.float32


def test_compiled_towers_on_cuda_match_the_fixture(
    tiny_fixture_dir: Path,
    fixture_texts: list[str],
    expected: dict[str, Any],
    expected_arrays: dict[str, np.ndarray],
) -> None:
    with LocalEncoder.from_pretrained(
        tiny_fixture_dir, device="cuda", dtype="float32", compile=True
    ) as encoder:
        texts = encoder.embed_texts(fixture_texts)
        images = encoder.embed_images(
            [str(tiny_fixture_dir / item["file"]) for item in expected["images"]["items"]]
        )
    np.testing.assert_allclose(texts, expected_arrays["text_embeddings_normalized"], atol=1e-4)
    np.testing.assert_allclose(images, expected_arrays["image_embeddings_normalized"], atol=1e-4)


def test_many_cuda_batches_come_back_in_input_order(tiny_fixture_dir: Path) -> None:
    texts = [f"text number {i} " + "word " * (i % 11) for i in range(300)]
    with LocalEncoder.from_pretrained(tiny_fixture_dir, device="cuda", dtype="float32") as encoder:
        one_batch = encoder.embed_texts(texts)
        encoder.batch_size = 3
        many_batches = encoder.embed_texts(texts)
        alone = np.stack([encoder.embed_texts([text])[0] for text in texts[::37]])
    np.testing.assert_allclose(many_batches, one_batch, atol=1e-5, rtol=0)
    np.testing.assert_allclose(alone, one_batch[::37], atol=1e-5, rtol=0)

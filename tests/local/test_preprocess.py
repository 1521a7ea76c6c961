"""Preprocessing: pixel-exact crops and normalised values against the golden fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from jinaclip.images import decode_image
from jinaclip.local.config import load_preprocess_config
from jinaclip.local.preprocess import ImagePreprocessor


@pytest.fixture(scope="module")
def preprocessor(tiny_fixture_dir: Path) -> ImagePreprocessor:
    return ImagePreprocessor(load_preprocess_config(tiny_fixture_dir, 224))


def _items(expected: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = expected["images"]["items"]
    return items


def test_preprocessed_crops_are_pixel_exact(
    preprocessor: ImagePreprocessor, tiny_fixture_dir: Path, expected: dict[str, Any]
) -> None:
    for item in _items(expected):
        rgb = decode_image((tiny_fixture_dir / item["file"]).read_bytes())
        crop = np.asarray(preprocessor.crop(rgb))
        golden = np.asarray(Image.open(tiny_fixture_dir / item["preprocessed_png"]).convert("RGB"))
        np.testing.assert_array_equal(crop, golden, err_msg=item["file"])


def test_normalised_pixel_values_match_the_reference_samples(
    preprocessor: ImagePreprocessor, tiny_fixture_dir: Path, expected: dict[str, Any]
) -> None:
    positions = expected["images"]["pixel_sample_positions_chw"]
    for item in _items(expected):
        pixels = preprocessor(decode_image((tiny_fixture_dir / item["file"]).read_bytes()))
        assert pixels.shape == tuple(item["pixel_values_shape"])
        assert pixels.dtype == np.float32
        samples = [pixels[c, y, x] for c, y, x in positions]
        np.testing.assert_allclose(samples, np.float32(item["pixel_samples"]), atol=1e-6)
        np.testing.assert_allclose(pixels.mean(), item["pixel_mean"], atol=1e-5)


def test_non_rgb_images_are_converted_before_the_crop(preprocessor: ImagePreprocessor) -> None:
    gray = Image.new("L", (300, 200), 128)
    assert preprocessor.crop(gray).mode == "RGB"
    assert preprocessor(gray).shape == (3, 224, 224)


def test_batch_normalisation_is_the_reference_float32_arithmetic_bit_for_bit(
    preprocessor: ImagePreprocessor,
) -> None:
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)
    mean = np.float32(preprocessor.config.mean).reshape(3, 1, 1)
    std = np.float32(preprocessor.config.std).reshape(3, 1, 1)
    reference = [
        (c.transpose(2, 0, 1).astype(np.float32) / np.float32(255) - mean) / std for c in crops
    ]

    batch = preprocessor.normalize(torch.from_numpy(crops)).numpy()

    assert batch.dtype == np.float32
    np.testing.assert_array_equal(batch, np.stack(reference))
    np.testing.assert_array_equal(batch[1], preprocessor(Image.fromarray(crops[1])))

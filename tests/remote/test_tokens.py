"""Token estimates follow the published rules; usage sums over requests."""

from __future__ import annotations

import pytest

from jinaclip.models import get_model_info
from jinaclip.remote.tokens import (
    ImageSize,
    TokenEstimate,
    Usage,
    UsageMeter,
    estimate_image_tokens,
    estimate_text_tokens,
    estimate_tokens,
    image_tiles,
)


@pytest.mark.parametrize(
    ("text", "tokens"), [("", 2), ("bridge", 4), ("a red bridge at night", 8), ("a  b\nc", 6)]
)
def test_text_estimate_is_1_1_tokens_per_word_plus_two_specials(text: str, tokens: int) -> None:
    assert estimate_text_tokens(text) == tokens


@pytest.mark.parametrize(
    ("width", "height", "tiles"),
    [(224, 224, 1), (225, 224, 2), (750, 500, 12), (1, 1, 1), (448, 449, 6)],
)
def test_clip_v1_images_cost_one_thousand_tokens_per_224_tile(
    width: int, height: int, tiles: int
) -> None:
    clip = get_model_info("jina-clip-v1")
    assert image_tiles(ImageSize(width, height), 224) == tiles
    assert estimate_image_tokens(ImageSize(width, height), clip) == tiles * 1000


def test_url_image_of_unknown_size_counts_as_one_tile() -> None:
    assert estimate_image_tokens(None, get_model_info("jina-clip-v1")) == 1000


def test_estimate_tokens_sums_texts_and_images() -> None:
    inputs: list[str | ImageSize | None] = ["a red bridge at night", ImageSize(750, 500), None]
    assert estimate_tokens(inputs, "jina-clip-v1") == 8 + 12_000 + 1000


def test_model_without_image_tiling_bills_no_image_tokens() -> None:
    assert estimate_tokens([ImageSize(750, 500)], "jina-embeddings-v4") == 0


def test_estimate_reports_the_saving() -> None:
    assert TokenEstimate(tokens=1000, tokens_without_downscale=12_000).saved == 11_000


def test_usage_meter_sums_requests() -> None:
    meter = UsageMeter()
    meter.add(Usage(10, 10, 1))
    meter.add(Usage(5, 0, 1))
    assert meter.usage == Usage(total_tokens=15, prompt_tokens=10, requests=2)

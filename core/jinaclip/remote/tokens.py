"""Token accounting: estimate before sending (for batching and cost), sum what was billed.

Estimates follow the API's published rules: about 1.1 tokens per English word plus the two
special tokens for a text, and for tiled models one `tokens_per_tile` charge per tile needed
to cover an image (clip-v1: ceil(w/224) * ceil(h/224) * 1000). The server's `usage` is always
the authority; estimates only size batches and show what downscaling saves.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from jinaclip.models import ModelInfo, get_model_info

TOKENS_PER_WORD = 1.1
SPECIAL_TOKENS = 2


@dataclass(frozen=True, slots=True)
class ImageSize:
    """Pixel size of an image as sent (or as it would be sent)."""

    width: int
    height: int


def estimate_text_tokens(text: str) -> int:
    """About 1.1 tokens per whitespace-separated word, plus [CLS] and [SEP]."""
    return math.ceil(len(text.split()) * TOKENS_PER_WORD) + SPECIAL_TOKENS


def image_tiles(size: ImageSize, tile_px: int) -> int:
    """Tiles of `tile_px` squared needed to cover the image."""
    return math.ceil(size.width / tile_px) * math.ceil(size.height / tile_px)


def estimate_image_tokens(size: ImageSize | None, model: ModelInfo) -> int:
    """Billed tokens for one image; an image of unknown size (a URL) counts as one tile."""
    tiling = model.image_tiling
    if tiling is None:
        return 0
    if size is None:
        return tiling.tokens_per_tile
    return image_tiles(size, tiling.tile_px) * tiling.tokens_per_tile


def estimate_tokens(inputs: Iterable[str | ImageSize | None], model: str | ModelInfo) -> int:
    """Estimated tokens for a request: `str` is a text, `ImageSize` an image, None a URL image."""
    info = get_model_info(model) if isinstance(model, str) else model
    total = 0
    for item in inputs:
        if isinstance(item, str):
            total += estimate_text_tokens(item)
        else:
            total += estimate_image_tokens(item, info)
    return total


@dataclass(frozen=True, slots=True)
class TokenEstimate:
    """What a call would cost: as it would be sent, and without client-side downscaling."""

    tokens: int
    tokens_without_downscale: int

    @property
    def saved(self) -> int:
        return self.tokens_without_downscale - self.tokens


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens the server billed, summed over requests."""

    total_tokens: int = 0
    prompt_tokens: int = 0
    requests: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.total_tokens + other.total_tokens,
            self.prompt_tokens + other.prompt_tokens,
            self.requests + other.requests,
        )


class UsageMeter:
    """Thread-safe running sum of billed usage (batches finish on several threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage = Usage()

    def add(self, usage: Usage) -> None:
        with self._lock:
            self._usage = self._usage + usage

    @property
    def usage(self) -> Usage:
        with self._lock:
            return self._usage

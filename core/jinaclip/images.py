"""Decode and validate images the way jina-clip's reference code sees them.

Both backends go through `decode_image`, so a picture that embeds locally also embeds
remotely and vice versa. The pixel limit is ours and is checked from the header, before a
single pixel is decoded, so a decompression bomb costs a few hundred bytes of reading.
`resize_and_center_crop` is the reference geometry (shortest side, truncated long side,
bicubic, half-to-even centre crop); it needs only Pillow so the remote client can use it to
send exactly the 224 px crop clip-v1 would look at.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

#: Default cap on width*height, checked before decoding. Override with JINACLIP_MAX_IMAGE_PIXELS.
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000
#: Default cap on encoded bytes read from a file or URL. Override with JINACLIP_MAX_IMAGE_BYTES.
DEFAULT_MAX_IMAGE_BYTES = 32 * 1024 * 1024


class UnusableImageError(ValueError):
    """An image that cannot be embedded; callers attach the input's position."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not an integer") from exc
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be positive")
    return value


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """Bounds applied to every image before it is decoded or fetched."""

    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    max_bytes: int = DEFAULT_MAX_IMAGE_BYTES

    @classmethod
    def from_env(cls) -> ImageLimits:
        return cls(
            max_pixels=_env_int("JINACLIP_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS),
            max_bytes=_env_int("JINACLIP_MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES),
        )


def _check_size(width: int, height: int, limits: ImageLimits) -> None:
    if width <= 0 or height <= 0:
        raise UnusableImageError(f"image has no pixels ({width}x{height})")
    if width * height > limits.max_pixels:
        raise UnusableImageError(
            f"image is {width}x{height} = {width * height:,} pixels, over the limit of "
            f"{limits.max_pixels:,} (raise JINACLIP_MAX_IMAGE_PIXELS if this is intended)"
        )


def open_image_header(data: bytes, limits: ImageLimits) -> Image.Image:
    """Open encoded bytes lazily and enforce the size limits; no pixel is decoded yet."""
    if not data:
        raise UnusableImageError("image data is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise UnusableImageError(
            f"image data is {len(data):,} bytes, over the limit of {limits.max_bytes:,} "
            "(raise JINACLIP_MAX_IMAGE_BYTES if this is intended)"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise UnusableImageError(
            f"image is over the limit of {limits.max_pixels:,} pixels (Pillow: {exc})"
        ) from exc
    except UnidentifiedImageError as exc:
        raise UnusableImageError(
            "not a readable image (Pillow cannot identify the format)"
        ) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise UnusableImageError(f"not a readable image: {exc}") from exc
    _check_size(image.width, image.height, limits)
    return image


def to_model_rgb(image: Image.Image, limits: ImageLimits) -> Image.Image:
    """Decode, apply EXIF orientation, and convert to RGB exactly as the reference does.

    `convert('RGB')` drops alpha instead of compositing it: the reference `encode_image`
    does that and the parity fixtures pin it. Animated images contribute their first frame.
    The caller's image object is never modified.
    """
    _check_size(image.width, image.height, limits)
    try:
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)
        image.load()
        oriented = ImageOps.exif_transpose(image)
        if oriented is None:
            raise UnusableImageError("image could not be re-oriented from its EXIF data")
        return oriented.convert("RGB")
    except UnusableImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise UnusableImageError(f"image is a decompression bomb: {exc}") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise UnusableImageError(f"image data is corrupt or truncated: {exc}") from exc


def decode_image(data: bytes, limits: ImageLimits | None = None) -> Image.Image:
    """Encoded bytes -> validated RGB image, as both backends feed it to the model."""
    limits = limits or ImageLimits.from_env()
    return to_model_rgb(open_image_header(data, limits), limits)


def resized_shortest_side(width: int, height: int, size: int) -> tuple[int, int]:
    """Reference resize target: shortest side to `size`, long side truncated (not rounded)."""
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def center_crop_box(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """Reference centre crop (Python's half-to-even `round`), as (left, top, right, bottom)."""
    left = round((width - size) / 2.0)
    top = round((height - size) / 2.0)
    return left, top, left + size, top + size


def resize_and_center_crop(image: Image.Image, size: int) -> Image.Image:
    """The square `size` crop the model sees: bicubic resize of the shortest side, centre crop."""
    target = resized_shortest_side(image.width, image.height, size)
    if image.size != target:
        image = image.resize(target, Image.Resampling.BICUBIC)
    return image.crop(center_crop_box(image.width, image.height, size))

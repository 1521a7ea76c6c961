"""Decoding and geometry match the reference model; limits are enforced before decoding."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jinaclip.images import (
    ImageLimits,
    UnusableImageError,
    center_crop_box,
    decode_image,
    open_image_header,
    resize_and_center_crop,
    resized_shortest_side,
)


def _encode(image: Image.Image, fmt: str = "PNG", **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _png_with_claimed_size(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size, with almost no pixel data behind it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )


def test_crops_are_pixel_exact_against_the_reference(tiny_fixture_dir: Path) -> None:
    checked = 0
    for path in sorted((tiny_fixture_dir / "inputs").glob("*")):
        if path.suffix == ".json":
            continue
        rgb = decode_image(path.read_bytes())
        crop = resize_and_center_crop(rgb, 224)
        reference = Image.open(
            tiny_fixture_dir / "expected_preprocessed" / f"{path.stem}.preprocessed.png"
        )
        np.testing.assert_array_equal(np.asarray(crop), np.asarray(reference.convert("RGB")))
        checked += 1
    assert checked == 6


@pytest.mark.parametrize(
    ("size", "resized", "crop_origin"),
    [
        ((300, 200), (336, 224), (56, 0)),
        ((224, 224), (224, 224), (0, 0)),
        ((90, 400), (224, 995), (0, 386)),
        ((200, 260), (224, 291), (0, 34)),
        ((307, 300), (229, 224), (2, 0)),
        ((225, 224), (225, 224), (0, 0)),
    ],
)
def test_reference_geometry_truncates_and_rounds_half_to_even(
    size: tuple[int, int], resized: tuple[int, int], crop_origin: tuple[int, int]
) -> None:
    assert resized_shortest_side(*size, 224) == resized
    assert center_crop_box(*resized, 224)[:2] == crop_origin


def test_pixel_limit_is_checked_from_the_header_before_decoding() -> None:
    # 8000x8000 sits under Pillow's own bomb threshold: only our header check stops it.
    claimed = _png_with_claimed_size(8_000, 8_000)
    with pytest.raises(UnusableImageError, match="8000x8000 = 64,000,000 pixels, over the limit"):
        decode_image(claimed, ImageLimits(max_pixels=40_000_000))


def test_decompression_bomb_beyond_pillows_threshold_is_a_clear_error() -> None:
    bomb = _png_with_claimed_size(100_000, 100_000)
    with pytest.raises(UnusableImageError, match="over the limit of 40,000,000 pixels"):
        decode_image(bomb, ImageLimits(max_pixels=40_000_000))


def test_small_pixel_limit_rejects_an_ordinary_image() -> None:
    data = _encode(Image.new("RGB", (100, 100)))
    with pytest.raises(UnusableImageError, match="10,000 pixels, over the limit of 9,999"):
        decode_image(data, ImageLimits(max_pixels=9_999))
    assert decode_image(data, ImageLimits(max_pixels=10_000)).size == (100, 100)


def test_byte_limit_is_enforced_before_opening() -> None:
    data = _encode(Image.new("RGB", (10, 10)))
    with pytest.raises(UnusableImageError, match="bytes, over the limit"):
        open_image_header(data, ImageLimits(max_bytes=len(data) - 1))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"this is not an image at all", "Pillow cannot identify"),
    ],
)
def test_undecodable_data_is_rejected_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UnusableImageError, match=reason):
        decode_image(data)


def test_truncated_image_is_rejected_not_half_decoded() -> None:
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    data = _encode(Image.fromarray(noise), "JPEG", quality=95)
    with pytest.raises(UnusableImageError, match="corrupt or truncated"):
        decode_image(data[: len(data) // 2])


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGBA", (16, 12), (10, 200, 30, 0)),
        Image.new("LA", (16, 12), (77, 128)),
        Image.new("P", (16, 12), 3),
        Image.new("L", (16, 12), 90),
        Image.new("1", (16, 12), 1),
        Image.new("CMYK", (16, 12), (10, 20, 30, 40)),
        Image.new("I;16", (16, 12), 40_000),
        Image.new("I", (16, 12), 70),
        Image.new("F", (16, 12), 12.5),
    ],
    ids=lambda image: image.mode,
)
def test_every_mode_converts_like_pillow_convert_rgb(image: Image.Image) -> None:
    fmt = "TIFF" if image.mode in ("CMYK", "I;16", "I", "F") else "PNG"
    data = _encode(image, fmt)
    decoded = decode_image(data)
    assert decoded.mode == "RGB"
    expected = Image.open(io.BytesIO(data)).convert("RGB")
    np.testing.assert_array_equal(np.asarray(decoded), np.asarray(expected))


def test_alpha_is_dropped_not_composited_on_white() -> None:
    transparent_green = Image.new("RGBA", (4, 4), (0, 200, 0, 0))
    decoded = decode_image(_encode(transparent_green))
    assert decoded.getpixel((0, 0)) == (0, 200, 0)


def test_exif_orientation_is_applied() -> None:
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, :20] = (255, 0, 0)  # left half red, right half blue
    pixels[:, 20:] = (0, 0, 255)
    image = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees clockwise
    decoded = decode_image(_encode(image, "JPEG", exif=exif.tobytes(), quality=100))
    assert decoded.size == (20, 40)
    top = np.asarray(decoded)[2, 10]
    bottom = np.asarray(decoded)[37, 10]
    assert top[0] > 200
    assert top[2] < 60
    assert bottom[2] > 200
    assert bottom[0] < 60


def test_animated_gif_contributes_its_first_frame() -> None:
    frames = [Image.new("P", (8, 8), color) for color in (1, 2, 3)]
    for frame, rgb in zip(frames, [(255, 0, 0), (0, 255, 0), (0, 0, 255)], strict=True):
        frame.putpalette([0, 0, 0, *rgb, *rgb, *rgb] + [0] * (256 * 3 - 12))
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    decoded = decode_image(buffer.getvalue())
    assert decoded.getpixel((0, 0)) == (255, 0, 0)

"""What RemoteEncoder puts on the wire for every accepted input, and what it refuses to send."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jinaclip.errors import InvalidInputError
from jinaclip.images import ImageLimits, resize_and_center_crop
from jinaclip.inputs import ImageInput
from jinaclip.remote.client import RemoteEncoder
from jinaclip.remote.tokens import TokenEstimate
from tests.remote.conftest import png_bytes
from tests.support.jina_stub_server import JinaStubServer, expected_embedding


@pytest.fixture
def small_png(tmp_path: Path) -> tuple[Path, bytes]:
    """An image within one 224 px tile: always sent byte-for-byte."""
    data = png_bytes(100, 80, color="teal")
    path = tmp_path / "small.png"
    path.write_bytes(data)
    return path, data


def test_every_byte_form_sends_the_original_bytes(
    stub: JinaStubServer,
    make_encoder: Callable[..., RemoteEncoder],
    small_png: tuple[Path, bytes],
) -> None:
    path, data = small_png
    b64 = base64.b64encode(data).decode()
    forms: list[ImageInput] = [
        str(path),
        path,
        path.as_uri(),
        f"data:image/png;base64,{b64}",
        b64,
        data,
        bytearray(data),
        io.BytesIO(data),
    ]
    vectors = make_encoder().embed_images(forms)
    (request,) = stub.requests
    assert request.image_bytes() == [data] * len(forms)
    want = expected_embedding({"image": b64})
    np.testing.assert_allclose(vectors, np.stack([want] * len(forms)), atol=1e-6)


def test_url_is_passed_through_as_a_url_not_fetched(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    url = "https://example.invalid/cat.jpg?size=large"
    vectors = make_encoder().embed_images([url])
    assert stub.requests[0].inputs == [{"image": url}]
    np.testing.assert_allclose(vectors[0], expected_embedding({"image": url}), atol=1e-6)


def test_pil_image_is_sent_as_png_with_the_same_pixels(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    image = Image.new("RGB", (64, 48))
    image.putdata([(x % 256, (x * 7) % 256, (x * 13) % 256) for x in range(64 * 48)])
    make_encoder().embed_images([image])
    (sent,) = stub.requests[0].image_bytes()
    received = Image.open(io.BytesIO(sent))
    assert received.format == "PNG"
    assert received.size == (64, 48)
    assert received.convert("RGB").tobytes() == image.tobytes()


def test_mixed_texts_and_images_keep_their_order_and_wire_shapes(
    stub: JinaStubServer,
    make_encoder: Callable[..., RemoteEncoder],
    small_png: tuple[Path, bytes],
) -> None:
    path, data = small_png
    vectors = make_encoder().embed_mixed([("text", "a teal square"), ("image", path)])
    b64 = base64.b64encode(data).decode()
    assert stub.requests[0].inputs == [{"text": "a teal square"}, {"image": b64}]
    np.testing.assert_allclose(vectors[0], expected_embedding({"text": "a teal square"}), atol=1e-6)
    np.testing.assert_allclose(vectors[1], expected_embedding({"image": b64}), atol=1e-6)


def test_every_bad_input_is_reported_by_index_and_nothing_is_sent(
    stub: JinaStubServer,
    make_encoder: Callable[..., RemoteEncoder],
    small_png: tuple[Path, bytes],
    tmp_path: Path,
) -> None:
    path, data = small_png
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(png_bytes(200, 200)[:60])
    images: list[object] = [
        path,  # 0 good
        str(tmp_path / "missing.jpg"),  # 1 no such file
        "just some words",  # 2 not an image reference
        b"",  # 3 empty bytes
        b"hello, not an image",  # 4 bytes that do not decode
        "ftp://host/cat.png",  # 5 unsupported scheme
        42,  # 6 wrong type
        "data:text/plain;base64,aGVsbG8=",  # 7 not an image media type
        truncated,  # 8 truncated file
        io.StringIO("text mode"),  # 9 text stream
        data,  # 10 good
    ]
    with pytest.raises(InvalidInputError) as info:
        make_encoder().embed_images(images)  # type: ignore[arg-type]
    assert info.value.indices == (1, 2, 3, 4, 5, 6, 7, 8, 9)
    assert stub.attempts == 0


def test_image_over_the_pixel_limit_is_refused_before_sending(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    encoder = make_encoder(image_limits=ImageLimits(max_pixels=100 * 100))
    with pytest.raises(InvalidInputError, match="input 1: image is 200x200") as info:
        encoder.embed_images([png_bytes(50, 50), png_bytes(200, 200)])
    assert info.value.indices == (1,)
    assert stub.attempts == 0


def test_non_string_texts_are_reported_by_index_and_nothing_is_sent(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    with pytest.raises(InvalidInputError) as info:
        make_encoder().embed_texts(["ok", 3, None, "fine"])  # type: ignore[list-item]
    assert info.value.indices == (1, 2)
    assert stub.attempts == 0


def test_a_single_string_is_refused_instead_of_split_into_characters(
    make_encoder: Callable[..., RemoteEncoder],
) -> None:
    encoder = make_encoder()
    with pytest.raises(TypeError, match="list of texts"):
        encoder.embed_texts("hello")
    with pytest.raises(TypeError, match="list of images"):
        encoder.embed_images("cat.jpg")


async def test_empty_inputs_give_an_empty_matrix_without_a_request(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    encoder = make_encoder()
    assert encoder.embed_texts([]).shape == (0, 768)
    assert encoder.embed_images([]).shape == (0, 768)
    assert (await encoder.aembed_texts([])).shape == (0, 768)
    assert (await encoder.aembed_images([])).shape == (0, 768)
    assert stub.attempts == 0


def test_large_image_is_sent_as_the_224_crop_the_model_sees(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    original = Image.new("RGB", (750, 500))
    original.putdata([((x * 3) % 256, (x // 750) % 256, 90) for x in range(750 * 500)])
    buffer = io.BytesIO()
    original.save(buffer, format="PNG")
    encoder = make_encoder()
    assert encoder.estimate_tokens(images=[buffer.getvalue()]) == TokenEstimate(
        tokens=1000, tokens_without_downscale=12_000
    )
    encoder.embed_images([buffer.getvalue()])
    (sent,) = stub.requests[0].image_bytes()
    received = Image.open(io.BytesIO(sent)).convert("RGB")
    assert received.size == (224, 224)
    want = resize_and_center_crop(original, 224)
    assert received.tobytes() == want.tobytes()
    # the model's own preprocessing leaves the crop as it is, so the vector cannot change
    assert resize_and_center_crop(received, 224).tobytes() == received.tobytes()
    assert encoder.last_usage.total_tokens == 1000


def test_downscale_off_sends_the_large_image_unchanged_and_pays_every_tile(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    data = png_bytes(750, 500)
    encoder = make_encoder(downscale_images=False)
    assert encoder.estimate_tokens(images=[data]) == TokenEstimate(12_000, 12_000)
    encoder.embed_images([data])
    assert stub.requests[0].image_bytes() == [data]
    assert encoder.last_usage.total_tokens == 12_000


def test_image_within_one_tile_is_sent_unchanged_even_with_downscale_on(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    data = png_bytes(224, 224)
    make_encoder(downscale_images=True).embed_images([data])
    assert stub.requests[0].image_bytes() == [data]


async def test_async_images_send_the_same_bytes_as_sync(
    stub: JinaStubServer,
    make_encoder: Callable[..., RemoteEncoder],
    small_png: tuple[Path, bytes],
) -> None:
    path, data = small_png
    encoder = make_encoder()
    sync_vectors = encoder.embed_images([path, io.BytesIO(data)])
    async_vectors = await encoder.aembed_images([path, io.BytesIO(data)])
    np.testing.assert_array_equal(sync_vectors, async_vectors)
    assert stub.requests[0].body == stub.requests[1].body
    with pytest.raises(InvalidInputError) as info:
        await encoder.aembed_images([path, b"junk"])
    assert info.value.indices == (1,)
    assert stub.attempts == 2
    await encoder.aclose()

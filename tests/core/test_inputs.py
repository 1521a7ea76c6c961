"""Every accepted image form classifies without guessing; every rejected one names its index."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from jinaclip.errors import InvalidInputError
from jinaclip.inputs import ImageSource, to_image_item, to_image_items, validate_texts


def _png_bytes(
    color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (8, 6)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def png_file(tmp_path: Path) -> Path:
    path = tmp_path / "red square.png"
    path.write_bytes(_png_bytes())
    return path


def test_path_string_and_pathlike_are_read_from_disk(png_file: Path) -> None:
    for value in (str(png_file), png_file):
        item = to_image_item(value)
        assert item.source is ImageSource.PATH
        assert item.read_bytes(max_bytes=1 << 20) == png_file.read_bytes()


def test_file_uri_with_escaped_space_resolves_to_the_file(png_file: Path) -> None:
    item = to_image_item(png_file.as_uri())
    assert item.source is ImageSource.PATH
    assert item.path == png_file


def test_http_urls_stay_urls_without_being_fetched() -> None:
    item = to_image_item("https://example.com/cat.jpg?size=large")
    assert item.source is ImageSource.URL
    assert item.url == "https://example.com/cat.jpg?size=large"


def test_data_uri_is_decoded_to_the_original_bytes() -> None:
    data = _png_bytes()
    item = to_image_item("data:image/png;base64," + base64.b64encode(data).decode())
    assert item.source is ImageSource.DATA_URI
    assert item.data == data
    assert item.mime == "image/png"


@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_raw_base64_of_an_image_is_accepted(encode: object) -> None:
    data = _png_bytes()
    item = to_image_item(encode(data).decode())  # type: ignore[operator]
    assert item.source is ImageSource.BASE64
    assert item.data == data


def test_bytes_like_inputs_keep_their_bytes() -> None:
    data = _png_bytes()
    for value in (data, bytearray(data), memoryview(data)):
        item = to_image_item(value)
        assert item.source is ImageSource.BYTES
        assert item.data == data


def test_bytesio_is_read_and_rewound_for_the_caller() -> None:
    data = _png_bytes()
    stream = io.BytesIO(data)
    item = to_image_item(stream)
    assert item.source is ImageSource.STREAM
    assert item.data == data
    assert stream.tell() == 0


def test_pil_image_is_kept_as_given() -> None:
    image = Image.new("RGBA", (4, 4))
    item = to_image_item(image)
    assert item.source is ImageSource.PIL
    assert item.image is image


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("no/such/file.png", "not an existing file"),
        ("a caption, not an image", "not an existing file"),
        (base64.b64encode(b"hello world, not an image").decode(), "base64-encoded image data"),
        ("data:text/plain;base64,aGVsbG8=", "not an image"),
        ("data:image/png;base64,***", "not valid base64"),
        ("", "empty string"),
        ("ftp://example.com/cat.png", "unsupported URL scheme"),
        ("https://", "no host"),
        (b"", "bytes are empty"),
        (io.BytesIO(b""), "stream is empty"),
        (io.StringIO("text"), "text mode"),
        (42, "unsupported image input type int"),
        (None, "unsupported image input type NoneType"),
    ],
)
def test_rejected_forms_say_why(value: object, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason) as info:
        to_image_items([value])
    assert info.value.indices == (0,)


def test_directory_and_empty_file_are_rejected(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInputError) as info:
        to_image_items([str(tmp_path), empty])
    assert [p.reason for p in info.value.problems] == [
        f"not a regular file: {tmp_path}",
        f"file is empty: {empty}",
    ]


def test_every_bad_input_is_reported_by_position(png_file: Path) -> None:
    values = [png_file, "missing.png", _png_bytes(), 3.5, "https://example.com/x.png", b""]
    with pytest.raises(InvalidInputError) as info:
        to_image_items(values)
    assert info.value.indices == (1, 3, 5)
    assert info.value.index == 1
    assert "input 1:" in str(info.value)
    assert "input 3:" in str(info.value)
    assert "nothing was embedded" in str(info.value)


def test_a_single_string_is_not_mistaken_for_a_list_of_characters(png_file: Path) -> None:
    with pytest.raises(TypeError, match="list of images"):
        to_image_items(str(png_file))  # type: ignore[arg-type]


def test_texts_must_be_strings_and_bad_ones_are_named() -> None:
    assert validate_texts(["a", ""]) == ["a", ""]
    with pytest.raises(InvalidInputError) as info:
        validate_texts(["ok", None, 7, "fine"])
    assert info.value.indices == (1, 2)
    assert "expected str, got NoneType" in str(info.value)
    with pytest.raises(TypeError, match="list of texts"):
        validate_texts("one string")

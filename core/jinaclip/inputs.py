"""Every accepted input form -> one canonical item, classified once, errors naming the position.

Images arrive in many shapes (LlamaIndex hands over `BytesIO`, LangChain URIs, notebooks
PIL images). `to_image_items` sorts each into an `ImageItem` without guessing: a string
must be an existing path, a `file://` URI, an http(s) URL, a data URI or base64 image data,
else it is an error. Classification is cheap (no pixel decoding, no network); backends
decode through `jinaclip.images` when they need pixels, so memory stays bounded for large
batches. Calls are atomic: every bad input is reported in one `InvalidInputError`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeAlias
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from PIL import Image

from jinaclip.errors import InputProblem, InvalidInputError

ImageInput: TypeAlias = (
    str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes] | Image.Image
)
"""Anything `embed_images` accepts: path, `file://` URI, http(s) URL, data URI, raw base64,
encoded bytes, a binary stream (BytesIO), or a PIL image."""

_DATA_URI = re.compile(
    r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w.+-]+=[\w.+-]+)*)(?P<b64>;base64)?,", re.I
)
_BASE64_CHARS = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
#: Leading bytes of the formats a base64 string is accepted as (so random text is not "base64").
_IMAGE_MAGIC: tuple[bytes, ...] = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"RIFF",
    b"\x00\x00\x01\x00",
)
_MAX_PATH_LENGTH = 4096


class ImageSource(enum.StrEnum):
    """The form an image arrived in; kept for error messages and for the wire format."""

    PATH = "path"
    URL = "url"
    DATA_URI = "data-uri"
    BASE64 = "base64"
    BYTES = "bytes"
    STREAM = "stream"
    PIL = "pil"


@dataclass(frozen=True, slots=True, eq=False)
class ImageItem:
    """One image input in canonical form: encoded bytes, a file to read, a URL, or a PIL image.

    Exactly one of `data`, `path`, `url`, `image` is set.
    """

    source: ImageSource
    data: bytes | None = None
    path: Path | None = None
    url: str | None = None
    image: Image.Image | None = None
    mime: str | None = None

    def read_bytes(self, max_bytes: int) -> bytes:
        """The encoded bytes for in-memory and file items (URLs are fetched by the caller)."""
        if self.data is not None:
            return self.data
        if self.path is not None:
            size = self.path.stat().st_size
            if size > max_bytes:
                from jinaclip.images import UnusableImageError

                raise UnusableImageError(
                    f"file {self.path} is {size:,} bytes, over the limit of {max_bytes:,} "
                    "(raise JINACLIP_MAX_IMAGE_BYTES if this is intended)"
                )
            return self.path.read_bytes()
        raise TypeError(f"{self.source} item has no bytes to read")

    def describe(self) -> str:
        """A short, secret-free label for logs and errors (never the data itself)."""
        if self.path is not None:
            return f"file {self.path}"
        if self.url is not None:
            return f"URL {self.url[:120]}"
        if self.image is not None:
            return f"PIL image {self.image.mode} {self.image.width}x{self.image.height}"
        return f"{self.source} ({len(self.data or b''):,} bytes)"


def _looks_like_image(data: bytes) -> bool:
    if data.startswith(b"RIFF"):
        return data[8:12] == b"WEBP"
    return data.startswith(_IMAGE_MAGIC)


def _decode_base64(text: str) -> bytes | None:
    compact = "".join(text.split())
    if len(compact) < 8 or not _BASE64_CHARS.match(compact):
        return None
    padded = compact + "=" * (-len(compact) % 4)
    try:
        if "-" in compact or "_" in compact:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _from_data_uri(value: str) -> ImageItem:
    match = _DATA_URI.match(value)
    if match is None:
        raise ValueError("malformed data URI (expected data:image/<type>;base64,<data>)")
    mime = match.group("mime")
    if mime is not None and not mime.lower().startswith("image/"):
        raise ValueError(f"data URI has media type {mime!r}, not an image")
    payload = value[match.end() :]
    if match.group("b64"):
        data = _decode_base64(payload)
        if data is None:
            raise ValueError("data URI payload is not valid base64")
    else:
        data = unquote(payload).encode("latin-1")
    if not data:
        raise ValueError("data URI carries no data")
    return ImageItem(ImageSource.DATA_URI, data=data, mime=mime)


def _from_file_uri(value: str) -> ImageItem:
    parsed = urlparse(value)
    if parsed.netloc not in ("", "localhost"):
        raise ValueError(
            f"file URI names a remote host {parsed.netloc!r}; only local files are read"
        )
    return _from_path(Path(url2pathname(parsed.path)))


def _from_path(path: Path) -> ImageItem:
    if not path.exists():
        raise ValueError(f"file not found: {path}")
    if not path.is_file():
        raise ValueError(f"not a regular file: {path}")
    if path.stat().st_size == 0:
        raise ValueError(f"file is empty: {path}")
    return ImageItem(ImageSource.PATH, path=path)


def _path_exists(value: str) -> bool:
    if len(value) > _MAX_PATH_LENGTH or "\x00" in value:
        return False
    try:
        return Path(value).expanduser().exists()
    except OSError:
        return False


def _from_string(value: str) -> ImageItem:
    stripped = value.strip()
    if not stripped:
        raise ValueError("empty string is not an image")
    lowered = stripped[:16].lower()
    if lowered.startswith("data:"):
        return _from_data_uri(stripped)
    if lowered.startswith(("http://", "https://")):
        parsed = urlparse(stripped)
        if not parsed.netloc:
            raise ValueError(f"URL has no host: {stripped[:120]!r}")
        return ImageItem(ImageSource.URL, url=stripped)
    if lowered.startswith("file:"):
        return _from_file_uri(stripped)
    if _path_exists(value):
        return _from_path(Path(value).expanduser())
    data = _decode_base64(stripped)
    if data is not None and _looks_like_image(data):
        return ImageItem(ImageSource.BASE64, data=data)
    scheme = urlparse(stripped).scheme
    if scheme and len(scheme) > 1 and "://" in stripped[:32]:
        raise ValueError(f"unsupported URL scheme {scheme!r}; use http(s), file: or data:")
    shown = stripped if len(stripped) <= 80 else stripped[:77] + "..."
    raise ValueError(
        f"string {shown!r} is not an existing file, a file:// URI, an http(s) URL, "
        "a data URI, or base64-encoded image data"
    )


def to_image_item(value: object) -> ImageItem:
    """Classify one input; raises ValueError (or TypeError) with the reason."""
    if isinstance(value, Image.Image):
        return ImageItem(ImageSource.PIL, image=value)
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        if not data:
            raise ValueError("bytes are empty")
        return ImageItem(ImageSource.BYTES, data=data)
    if isinstance(value, str):
        return _from_string(value)
    if isinstance(value, os.PathLike):
        return _from_path(Path(os.fspath(value)).expanduser())
    if isinstance(value, io.IOBase) or hasattr(value, "read"):
        return _from_stream(value)
    raise TypeError(
        f"unsupported image input type {type(value).__name__}; pass a path, URL, data URI, "
        "base64 string, bytes, a binary stream or a PIL image"
    )


def _from_stream(stream: object) -> ImageItem:
    read = getattr(stream, "read", None)
    if read is None:
        raise TypeError(f"{type(stream).__name__} has no read()")
    seek = getattr(stream, "seek", None)
    tell = getattr(stream, "tell", None)
    start = tell() if callable(tell) and getattr(stream, "seekable", lambda: False)() else None
    data = read()
    if start is not None and callable(seek):
        seek(start)  # leave the caller's stream where it was, so it can be read again
    if isinstance(data, str):
        raise TypeError("stream is in text mode; open images in binary mode ('rb')")
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"stream.read() returned {type(data).__name__}, not bytes")
    if not data:
        raise ValueError("stream is empty (was it already read to the end?)")
    return ImageItem(ImageSource.STREAM, data=bytes(data))


def to_image_items(values: Iterable[object]) -> list[ImageItem]:
    """Classify every input; one `InvalidInputError` lists all the bad ones by position."""
    if isinstance(values, str | bytes | Image.Image):
        raise TypeError("pass a list of images, not a single image")
    items: list[ImageItem] = []
    problems: list[InputProblem] = []
    for index, value in enumerate(values):
        try:
            items.append(to_image_item(value))
        except (ValueError, TypeError, OSError) as exc:
            problems.append(InputProblem(index, str(exc)))
    if problems:
        raise InvalidInputError(problems)
    return items


def validate_texts(texts: Sequence[object]) -> list[str]:
    """Texts must be `str`; everything else is reported by position (no silent `str()`)."""
    if isinstance(texts, str):
        raise TypeError("pass a list of texts, not a single string")
    problems = [
        InputProblem(index, f"expected str, got {type(text).__name__}")
        for index, text in enumerate(texts)
        if not isinstance(text, str)
    ]
    if problems:
        raise InvalidInputError(problems)
    return [str(text) for text in texts]

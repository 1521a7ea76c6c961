"""The wire contract of `POST /v1/embeddings` as `jinaclip serve` reads and answers it.

Requests are validated as strictly as the Jina API validates them: an unknown field, or a
parameter the served model does not take (`task`, `dimensions`, OpenAI's `encoding_format`),
is a 422 `extra_forbidden`. Older clients' spellings are accepted too: `encoding_type` for
`embedding_type`, `{"url": ...}` and `{"bytes": <base64>}` for `{"image": ...}`. Image strings
are never read as file paths: a stranger's request must not open the server's files.
Error bodies use the API's shape, `{"detail": ..., "errors": [{field, message, type, input}]}`,
and name the offending input by its index.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jinaclip.errors import InputProblem
from jinaclip.inputs import ImageSource, to_image_item
from jinaclip.remote.schema import EmbeddingType

#: Keys an input object may carry, and what each one holds.
_TEXT_KEYS = frozenset({"text"})
_IMAGE_KEYS = frozenset({"image", "url", "bytes"})
_ECHO_LIMIT = 120


class ServeError(Exception):
    """A request refused with an HTTP status and an API-shaped JSON body."""

    def __init__(
        self, status_code: int, detail: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return body


def _echo(value: Any) -> Any:
    """What an error repeats of the input: short, so a 30 MB image is never echoed back."""
    if isinstance(value, str) and len(value) > _ECHO_LIMIT:
        return value[:_ECHO_LIMIT] + "..."
    if isinstance(value, dict | list):
        text = repr(value)
        return text if len(text) <= _ECHO_LIMIT else text[:_ECHO_LIMIT] + "..."
    return value


def error_entry(field: str, message: str, kind: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "message": message, "type": kind, "input": _echo(value)}


def problems_error(
    problems: list[InputProblem], *, status_code: int, kind: str, inputs: list[Any]
) -> ServeError:
    """One error naming every bad input, e.g. `input 3: not a readable image`."""
    shown = "; ".join(str(p) for p in problems[:10])
    more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
    errors = [
        error_entry(
            f"input.{p.index}", p.reason, kind, inputs[p.index] if p.index < len(inputs) else None
        )
        for p in problems
    ]
    detail = f"{len(problems)} invalid input(s), nothing was embedded: {shown}{more}"
    return ServeError(status_code, detail, errors)


class EmbeddingsBody(BaseModel):
    """The request body; `input` items are checked one by one in `classify_inputs`."""

    model_config = ConfigDict(extra="forbid")

    model: str
    input: str | list[str | dict[str, Any]] = Field(min_length=1)
    embedding_type: EmbeddingType | list[EmbeddingType] | None = None
    encoding_type: EmbeddingType | list[EmbeddingType] | None = None
    normalized: bool = True
    truncate: bool = False

    def embedding_types(self) -> EmbeddingType | list[EmbeddingType]:
        """The requested type(s); both spellings at once must agree."""
        chosen = self.embedding_type
        legacy = self.encoding_type
        if chosen is not None and legacy is not None and chosen != legacy:
            raise ServeError(
                422,
                "embedding_type and encoding_type disagree; send only embedding_type",
                [
                    error_entry(
                        "encoding_type", "conflicts with embedding_type", "value_error", legacy
                    )
                ],
            )
        value = chosen if chosen is not None else legacy
        if value is None:
            return "float"
        if isinstance(value, list):
            if not value:
                raise ServeError(
                    422,
                    "embedding_type list is empty",
                    [error_entry("embedding_type", "give at least one type", "too_short", value)],
                )
            return list(dict.fromkeys(value))
        return value

    def inputs(self) -> list[str | dict[str, Any]]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


def validation_error(exc: ValidationError) -> ServeError:
    """Pydantic's report -> the API's 422 body, one entry per problem."""
    errors = [
        error_entry(
            ".".join(str(part) for part in err["loc"]), err["msg"], err["type"], err.get("input")
        )
        for err in exc.errors()
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return ServeError(422, f"Validation error: {summary}", errors)


def parse_body(payload: Any) -> EmbeddingsBody:
    if not isinstance(payload, dict):
        raise ServeError(400, "request body must be a JSON object")
    try:
        return EmbeddingsBody.model_validate(payload)
    except ValidationError as exc:
        raise validation_error(exc) from exc


@dataclass(frozen=True, slots=True)
class TextInput:
    index: int
    text: str


@dataclass(frozen=True, slots=True)
class ImageRef:
    """An image input before fetching and decoding: a URL, or the encoded bytes."""

    index: int
    url: str | None = None
    data: bytes | None = None


_STANDARD_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
_URLSAFE_BASE64 = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def _decode_base64(value: str) -> bytes:
    """Strict base64 (standard or URL-safe alphabet, padding optional): no silent skipping."""
    compact = "".join(value.split())
    padded = compact + "=" * (-len(compact) % 4)
    not_base64 = ValueError("image is neither an http(s) URL, a data URI nor valid base64")
    try:
        if _STANDARD_BASE64.match(compact):
            data = base64.b64decode(padded, validate=True)
        elif _URLSAFE_BASE64.match(compact):
            data = base64.urlsafe_b64decode(padded)
        else:
            raise not_base64
    except (binascii.Error, ValueError) as exc:
        raise not_base64 from exc
    if not data:
        raise ValueError("image data is empty")
    return data


def image_ref(index: int, value: str, key: str) -> ImageRef:
    """Classify an image string; never as a file path (see the module docstring)."""
    stripped = value.strip()
    head = stripped[:16].lower()
    if head.startswith(("http://", "https://")):
        item = to_image_item(stripped)
        return ImageRef(index, url=item.url)
    if key == "url":
        raise ValueError("`url` must be an http(s) URL")
    if head.startswith("data:"):
        item = to_image_item(stripped)
        if item.source is not ImageSource.DATA_URI:
            raise ValueError("malformed data URI")
        return ImageRef(index, data=item.data)
    if "://" in stripped[:32] or head.startswith("file:"):
        raise ValueError("only http(s) URLs, data URIs and base64 image data are accepted")
    return ImageRef(index, data=_decode_base64(stripped))


def classify_inputs(raw: list[str | dict[str, Any]]) -> list[TextInput | ImageRef]:
    """Every input -> a text or an image reference; all bad inputs reported at once (422)."""
    items: list[TextInput | ImageRef] = []
    errors: list[dict[str, Any]] = []
    for index, value in enumerate(raw):
        field = f"input.{index}"
        if isinstance(value, str):
            items.append(TextInput(index, value))
            continue
        keys = set(value)
        extra = sorted(keys - _TEXT_KEYS - _IMAGE_KEYS)
        for key in extra:
            errors.append(
                error_entry(
                    f"{field}.{key}",
                    "Extra inputs are not permitted",
                    "extra_forbidden",
                    value[key],
                )
            )
        known = sorted(keys & (_TEXT_KEYS | _IMAGE_KEYS))
        if len(known) != 1:
            if not extra:
                message = (
                    "expected one of text, image, url, bytes"
                    if not known
                    else f"give exactly one of text, image, url, bytes, not {', '.join(known)}"
                )
                errors.append(error_entry(field, message, "value_error", value))
            continue
        if extra:
            continue
        key = known[0]
        content = value[key]
        if not isinstance(content, str):
            errors.append(
                error_entry(
                    f"{field}.{key}", "Input should be a valid string", "string_type", content
                )
            )
            continue
        if key == "text":
            items.append(TextInput(index, content))
            continue
        try:
            items.append(image_ref(index, content, key))
        except (ValueError, TypeError) as exc:
            errors.append(error_entry(f"{field}.{key}", str(exc), "value_error", content))
    if errors:
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise ServeError(422, f"Validation error: {summary}", errors)
    return items

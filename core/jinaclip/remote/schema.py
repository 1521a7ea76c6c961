"""Pydantic models of the Jina Embeddings API bodies, and decoding of what they carry.

Shared by the client and by `jinaclip serve`, so both speak exactly one wire format.
Importing this module touches neither httpx nor the network. Field names follow the
public API (see shared/JINA_API.md); requests forbid extra fields because the API does.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

EmbeddingType: TypeAlias = Literal["float", "base64", "binary", "ubinary"]
EMBEDDING_TYPES: tuple[EmbeddingType, ...] = ("float", "base64", "binary", "ubinary")
#: Embedding types whose values are real-valued; only these are (re)normalised.
FLOAT_EMBEDDING_TYPES: frozenset[str] = frozenset({"float", "base64"})


class TextDoc(BaseModel):
    """A text input as clip models take it: `{"text": ...}`."""

    model_config = ConfigDict(extra="forbid")

    text: str


class ImageDoc(BaseModel):
    """An image input: an http(s) URL or raw base64 of the encoded file (no data: prefix)."""

    model_config = ConfigDict(extra="forbid")

    image: str


class EmbeddingRequest(BaseModel):
    """Body of `POST /v1/embeddings`. Optional fields left as None are never sent."""

    model_config = ConfigDict(extra="forbid")

    model: str
    input: list[str | TextDoc | ImageDoc] = Field(min_length=1)
    embedding_type: EmbeddingType | None = None
    normalized: bool | None = None
    truncate: bool | None = None
    task: str | None = None
    dimensions: Annotated[int, Field(gt=0)] | None = None
    late_chunking: bool | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object to send: unset fields dropped, so a model never sees a field it rejects."""
        return self.model_dump(mode="json", exclude_none=True)


class Usage(BaseModel):
    """Tokens the server billed for one request."""

    total_tokens: int = 0
    prompt_tokens: int | None = None


class EmbeddingObject(BaseModel):
    """One result; `index` is the position of its input in the request."""

    object: str = "embedding"
    index: int
    embedding: list[float] | list[int] | str


class EmbeddingResponse(BaseModel):
    """Body of a successful response; `data` may come back in any order."""

    model: str = ""
    object: str = "list"
    usage: Usage = Field(default_factory=Usage)
    data: list[EmbeddingObject]


class ErrorField(BaseModel):
    """One entry of a validation error's `errors` list."""

    field: str | None = None
    message: str | None = None
    type: str | None = None
    input: Any = None


class ErrorDetail(BaseModel):
    """The `{"error": {"message": ...}}` shape."""

    message: str | None = None


class ErrorBody(BaseModel):
    """Every documented error shape in one model: `detail`, `detail`+`errors`, or `error.message`."""

    detail: str | list[Any] | dict[str, Any] | None = None
    errors: list[ErrorField] | None = None
    error: ErrorDetail | str | None = None


def _describe_errors(errors: list[ErrorField]) -> str:
    parts = []
    for item in errors:
        text = item.message or item.type or ""
        parts.append(f"{item.field}: {text}" if item.field else text)
    return "; ".join(part for part in parts if part)


def _describe_detail(detail: str | list[Any] | dict[str, Any]) -> str:
    if isinstance(detail, str):
        return detail
    items = detail if isinstance(detail, list) else [detail]
    parts = []
    for item in items:
        if isinstance(item, dict):
            where = ".".join(str(p) for p in item.get("loc", ()))
            msg = str(item.get("msg") or item.get("message") or item)
            parts.append(f"{where}: {msg}" if where else msg)
        else:
            parts.append(str(item))
    return "; ".join(parts)


def error_message(raw: bytes | str, *, limit: int = 500) -> str:
    """The server's explanation: `detail`, then `errors`, then `error.message`, then the raw text."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        body = ErrorBody.model_validate(json.loads(text))
    except (ValueError, ValidationError):
        body = None
    if body is not None:
        parts = []
        if body.detail:
            parts.append(_describe_detail(body.detail))
        if body.errors:
            parts.append(_describe_errors(body.errors))
        if isinstance(body.error, ErrorDetail) and body.error.message:
            parts.append(body.error.message)
        elif isinstance(body.error, str) and body.error:
            parts.append(body.error)
        joined = " | ".join(part for part in parts if part)
        if joined:
            return joined[:limit]
    compact = " ".join(text.split())
    return compact[:limit] if compact else "(empty body)"


def decode_embedding(
    value: list[float] | list[int] | str, embedding_type: EmbeddingType, dim: int
) -> npt.NDArray[np.float32]:
    """One wire embedding -> float32 vector of length `dim`; ValueError if it does not fit.

    `float` and `base64` (little-endian float32) give the values. `binary` (int8) and
    `ubinary` (uint8) are sign bits packed 8 per byte, most significant bit first; both
    unpack to +1.0 (bit set) / -1.0 (bit clear), so either type gives the same vector.
    """
    if embedding_type == "float":
        if isinstance(value, str):
            raise ValueError("expected a list of floats, got a string")
        vector = np.asarray(value, dtype=np.float32)
    elif embedding_type == "base64":
        if not isinstance(value, str):
            raise ValueError("expected a base64 string")
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"invalid base64: {exc}") from exc
        if len(raw) % 4:
            raise ValueError(f"{len(raw)} bytes is not a whole number of float32 values")
        vector = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    else:
        if isinstance(value, str):
            raise ValueError(f"expected a list of {embedding_type} integers, got a string")
        low, high = (-128, 127) if embedding_type == "binary" else (0, 255)
        if any(not isinstance(v, int) or not low <= v <= high for v in value):
            raise ValueError(f"{embedding_type} values must be integers in [{low}, {high}]")
        packed = np.asarray(value, dtype=np.int64).astype(np.uint8)
        bits = np.unpackbits(packed)
        vector = np.where(bits == 1, 1.0, -1.0).astype(np.float32)
    if vector.ndim != 1 or vector.shape[0] != dim:
        raise ValueError(f"expected {dim} dimensions, got {vector.shape[0]}")
    if embedding_type in FLOAT_EMBEDDING_TYPES and not np.all(np.isfinite(vector)):
        raise ValueError("embedding contains NaN or infinity")
    return vector


def encode_embedding(
    vector: npt.ArrayLike, embedding_type: EmbeddingType
) -> list[float] | list[int] | str:
    """The inverse of `decode_embedding`, for servers (packing keeps only the signs)."""
    array = np.asarray(vector, dtype=np.float32)
    if embedding_type == "float":
        values: list[float] = array.astype(np.float64).tolist()
        return values
    if embedding_type == "base64":
        return base64.b64encode(array.astype("<f4").tobytes()).decode("ascii")
    packed = np.packbits(array > 0)
    if embedding_type == "binary":
        return [int(v) for v in packed.view(np.int8)]
    return [int(v) for v in packed]

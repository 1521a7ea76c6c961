"""The Starlette app behind `jinaclip serve`: a Jina-API-compatible `POST /v1/embeddings`.

Every request is checked in full before it may join a batch: key, body size, schema, served
model name, item count, then every input (URLs fetched under the SSRF policy, images decoded
under `ImageLimits`, texts counted with the model's tokenizer). A bad request is answered
alone with the API's error body naming the input's index; only good inputs reach the shared
model thread (`batching.DynamicBatcher`), so one client's mistake never costs another a result.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
from PIL import Image
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jinaclip.encoder import Encoder, FloatMatrix, l2_normalize
from jinaclip.errors import InputProblem
from jinaclip.fetch import FetchPolicy, afetch_image_bytes
from jinaclip.images import ImageLimits, UnusableImageError, open_image_header, to_model_rgb
from jinaclip.models import KNOWN_MODELS, ModelInfo
from jinaclip.remote.schema import EmbeddingType, encode_embedding
from jinaclip.remote.tokens import ImageSize, estimate_image_tokens
from jinaclip.server.batching import DynamicBatcher
from jinaclip.server.protocol import (
    EmbeddingsBody,
    ImageRef,
    ServeError,
    TextInput,
    classify_inputs,
    error_entry,
    parse_body,
    problems_error,
)

logger = logging.getLogger("jinaclip.server")

TokenCounter: TypeAlias = Callable[[Sequence[str]], list[int]]
"""Texts -> their token counts with the model's tokenizer, special tokens included."""

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
_MAX_FETCHES_PER_REQUEST = 8
#: Bodies above this are parsed on a worker thread, so one big upload never stalls other clients.
_PARSE_OFF_LOOP_BYTES = 1024 * 1024
#: Text-only requests up to this many inputs are checked and rendered on the event loop: a
#: thread hop costs more than the work (tokenising, or JSON for a few vectors).
_INLINE_MAX_ITEMS = 16


@dataclass(frozen=True)
class ServeConfig:
    """What a `jinaclip serve` instance accepts and how it batches.

    `model_info` supplies the served model's accounting (context length, image tiling, item
    limit); by default the entry of `served_model_name` in `KNOWN_MODELS`, else jina-clip-v1's.
    """

    served_model_name: str = "jina-clip-v1"
    api_key: SecretStr | str | None = field(default=None, repr=False)
    dynamic_batching: bool = True
    max_batch_size: int = 64
    max_wait_ms: float = 5.0
    max_items: int | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    image_limits: ImageLimits = field(default_factory=ImageLimits.from_env)
    allow_private_urls: bool = False
    fetch_timeout_s: float = 10.0
    model_info: ModelInfo | None = None

    def __post_init__(self) -> None:
        if isinstance(self.api_key, str):
            object.__setattr__(self, "api_key", SecretStr(self.api_key) if self.api_key else None)

    def info(self) -> ModelInfo:
        if self.model_info is not None:
            return self.model_info
        return KNOWN_MODELS.get(self.served_model_name, KNOWN_MODELS["jina-clip-v1"])

    def item_limit(self) -> int:
        return self.max_items or self.info().max_items_per_request


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A request whose every input is usable: texts and decoded images, by input index."""

    texts: list[TextInput]
    images: list[tuple[int, Image.Image]]
    tokens: int


def _unauthorized() -> ServeError:
    return ServeError(
        401, "Unauthorized: missing or invalid API key; send 'Authorization: Bearer <key>'"
    )


class EmbeddingService:
    """The request pipeline of one served model (module docstring), separate from routing."""

    def __init__(
        self,
        encoder: Encoder,
        config: ServeConfig,
        count_tokens: TokenCounter,
        device: str | None = None,
    ) -> None:
        self.encoder = encoder
        self.config = config
        self.info = config.info()
        self.count_tokens = count_tokens
        self.device = device or str(getattr(encoder, "device", "unknown"))
        self.batcher = DynamicBatcher(
            encoder,
            max_batch_size=config.max_batch_size,
            max_wait_s=config.max_wait_ms / 1000.0,
            enabled=config.dynamic_batching,
        )
        self.fetch_policy = FetchPolicy(
            timeout_s=config.fetch_timeout_s,
            max_bytes=config.image_limits.max_bytes,
            allow_private=config.allow_private_urls,
        )

    # ---- checks before the body is parsed ------------------------------------------------

    def check_key(self, request: Request) -> None:
        key = self.config.api_key
        if key is None:
            return
        expected = key.get_secret_value() if isinstance(key, SecretStr) else key
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), expected.encode()
        ):
            raise _unauthorized()

    async def read_body(self, request: Request) -> Any:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        too_large = ServeError(
            413, f"request body is over the limit of {limit:,} bytes; send fewer or smaller inputs"
        )
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise too_large
            chunks.append(chunk)
        raw = b"".join(chunks)
        try:
            if total > _PARSE_OFF_LOOP_BYTES:
                return await asyncio.to_thread(json.loads, raw)
            return json.loads(raw)
        except ValueError as exc:
            raise ServeError(400, f"request body is not valid JSON: {exc}") from exc

    # ---- request checks --------------------------------------------------------------

    def check_request(self, body: EmbeddingsBody) -> list[str | dict[str, Any]]:
        if body.model != self.config.served_model_name:
            raise ServeError(
                422,
                f"Model {body.model!r} is not served here; this server serves "
                f"{self.config.served_model_name!r}",
                [error_entry("model", "unknown model", "value_error", body.model)],
            )
        inputs = body.inputs()
        limit = self.config.item_limit()
        if len(inputs) > limit:
            raise ServeError(
                400, f"{len(inputs)} inputs in one request; at most {limit} are accepted"
            )
        return inputs

    async def prepare(self, inputs: list[str | dict[str, Any]], body: EmbeddingsBody) -> _Prepared:
        """Fetch, decode and count every input; all problems reported together."""
        items = classify_inputs(inputs)
        texts = [item for item in items if isinstance(item, TextInput)]
        refs = [item for item in items if isinstance(item, ImageRef)]
        payloads = await self._fetch_all(refs)
        if not refs and len(texts) <= _INLINE_MAX_ITEMS:
            return self._decode_and_count(texts, refs, payloads, body, inputs)
        return await asyncio.to_thread(self._decode_and_count, texts, refs, payloads, body, inputs)

    async def _fetch_all(self, refs: list[ImageRef]) -> list[bytes | UnusableImageError]:
        semaphore = asyncio.Semaphore(_MAX_FETCHES_PER_REQUEST)

        async def load(ref: ImageRef) -> bytes | UnusableImageError:
            if ref.data is not None:
                return ref.data
            assert ref.url is not None
            async with semaphore:
                try:
                    return await afetch_image_bytes(ref.url, self.fetch_policy)
                except UnusableImageError as exc:
                    return exc

        return list(await asyncio.gather(*(load(ref) for ref in refs)))

    def _decode_and_count(
        self,
        texts: list[TextInput],
        refs: list[ImageRef],
        payloads: list[bytes | UnusableImageError],
        body: EmbeddingsBody,
        inputs: list[Any],
    ) -> _Prepared:
        limits = self.config.image_limits
        image_problems: list[InputProblem] = []
        images: list[tuple[int, Image.Image]] = []
        tokens = 0
        for ref, payload in zip(refs, payloads, strict=True):
            try:
                if isinstance(payload, UnusableImageError):
                    raise payload
                header = open_image_header(payload, limits)
                size = ImageSize(header.width, header.height)
                images.append((ref.index, to_model_rgb(header, limits)))
                tokens += estimate_image_tokens(size, self.info)
            except UnusableImageError as exc:
                image_problems.append(InputProblem(ref.index, str(exc)))
        text_problems: list[InputProblem] = []
        context = self.info.context_length
        counts = self.count_tokens([item.text for item in texts]) if texts else []
        for item, count in zip(texts, counts, strict=True):
            if count > context and not body.truncate:
                text_problems.append(
                    InputProblem(
                        item.index,
                        f"text is {count:,} tokens, over the model's context of {context:,}; "
                        "shorten it or send truncate=true",
                    )
                )
            tokens += min(count, context)
        problems = sorted(image_problems + text_problems, key=lambda p: p.index)
        if problems:
            status, kind = (400, "invalid_image") if image_problems else (422, "string_too_long")
            raise problems_error(problems, status_code=status, kind=kind, inputs=inputs)
        return _Prepared(texts, images, tokens)

    # ---- embedding and the response ----------------------------------------------------

    async def embed(self, prepared: _Prepared) -> tuple[list[int], FloatMatrix]:
        """Raw vectors of every input, and the input indices they belong to."""
        text_vectors, image_vectors = await self.batcher.embed(
            [item.text for item in prepared.texts], [image for _, image in prepared.images]
        )
        order = [item.index for item in prepared.texts] + [index for index, _ in prepared.images]
        return order, np.concatenate([text_vectors, image_vectors])

    def render(
        self,
        order: list[int],
        vectors: FloatMatrix,
        types: EmbeddingType | list[EmbeddingType],
        normalized: bool,
        tokens: int,
    ) -> bytes:
        """The API's success body, as JSON bytes (built off the event loop for big answers)."""
        if normalized and len(vectors):
            vectors = l2_normalize(vectors)
        data: list[dict[str, Any] | None] = [None] * len(order)
        for row, index in enumerate(order):
            vector = vectors[row]
            embedding: Any
            if isinstance(types, list):
                embedding = {kind: encode_embedding(vector, kind) for kind in types}
            else:
                embedding = encode_embedding(vector, types)
            data[index] = {"object": "embedding", "index": index, "embedding": embedding}
        response = {
            "model": self.config.served_model_name,
            "object": "list",
            "usage": {"total_tokens": tokens, "prompt_tokens": tokens},
            "data": data,
        }
        return json.dumps(response, separators=(",", ":")).encode()

    async def handle(self, request: Request) -> bytes:
        self.check_key(request)
        body = parse_body(await self.read_body(request))
        inputs = self.check_request(body)
        types = body.embedding_types()
        prepared = await self.prepare(inputs, body)
        order, vectors = await self.embed(prepared)
        if len(order) <= _INLINE_MAX_ITEMS:
            return self.render(order, vectors, types, body.normalized, prepared.tokens)
        return await asyncio.to_thread(
            self.render, order, vectors, types, body.normalized, prepared.tokens
        )

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "model": self.config.served_model_name,
            "dim": self.encoder.dim,
            "device": self.device,
            "batching": self.batcher.stats(),
        }


def create_app(
    encoder: Encoder,
    config: ServeConfig | None = None,
    *,
    count_tokens: TokenCounter,
    device: str | None = None,
) -> Starlette:
    """The ASGI app serving `encoder`; `app.state.service` exposes the pipeline and its stats.

    The batching thread stops when the app shuts down; the encoder stays the caller's to close.
    """
    service = EmbeddingService(encoder, config or ServeConfig(), count_tokens, device)

    async def embeddings(request: Request) -> Response:
        try:
            content = await service.handle(request)
        except ServeError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
            return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)
        except Exception as exc:
            logger.exception("embedding request failed")
            return JSONResponse(
                {"detail": f"internal server error: {type(exc).__name__}: {exc}"}, status_code=500
            )
        return Response(content, media_type="application/json")

    async def health(request: Request) -> Response:
        return JSONResponse(service.health())

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await asyncio.to_thread(service.batcher.close)

    app = Starlette(
        routes=[
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/embeddings", embeddings, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.service = service
    return app

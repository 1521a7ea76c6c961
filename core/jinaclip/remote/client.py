"""`RemoteEncoder`: the Jina Embeddings HTTP API (or a compatible server) behind `Encoder`.

A call validates every input first (nothing is sent if any input is bad), splits the inputs
into batches bounded by item count and an estimated token budget, sends the batches with
bounded concurrency, retries transient failures (429, 5xx, connection errors, timeouts)
with exponential backoff and full jitter, and places results by the response's `index`.
Calls are atomic: any batch that finally fails fails the whole call, with a typed error.

Key rule: the key comes from `api_key=`, else `JINA_API_KEY`, else `JINAAI_API_KEY`. A
`*.jina.ai` base URL without a key raises `AuthenticationError` at construction; any other
base URL (a local `jinaclip serve`) may run without one, and then no Authorization header
is sent at all.

Response rule: a 200 whose `data` has the wrong count, or misses or repeats an `index`, or
carries an embedding of the wrong width, is a `ResponseFormatError`; it is not retried (a
server that breaks the contract once will again) and nothing from it is returned.
`binary`/`ubinary` embeddings come back as float32 +1/-1 per dimension and are never
normalised; `float`/`base64` are L2-normalised when `normalize=True`.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import email.utils
import io
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal, NoReturn, TypeAlias
from urllib.parse import urlparse

import httpx
import numpy as np
from PIL import Image
from pydantic import SecretStr, ValidationError

from jinaclip.backends import api_key_from_env
from jinaclip.encoder import FloatMatrix, empty_matrix, l2_normalize
from jinaclip.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InputProblem,
    InvalidInputError,
    QuotaExceededError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
)
from jinaclip.images import (
    ImageLimits,
    open_image_header,
    resize_and_center_crop,
    to_model_rgb,
)
from jinaclip.inputs import ImageInput, ImageItem, to_image_item, validate_texts
from jinaclip.models import ModelInfo, get_model_info
from jinaclip.remote.schema import (
    EMBEDDING_TYPES,
    FLOAT_EMBEDDING_TYPES,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingType,
    ImageDoc,
    TextDoc,
    decode_embedding,
    error_message,
)
from jinaclip.remote.tokens import (
    ImageSize,
    TokenEstimate,
    Usage,
    UsageMeter,
    estimate_image_tokens,
    estimate_text_tokens,
)

logger = logging.getLogger(__name__)

OFFICIAL_BASE_URL = "https://api.jina.ai/v1"
DEFAULT_MAX_BATCH_TOKENS = 500_000
MixedInput: TypeAlias = tuple[Literal["text", "image"], object]
"""One entry of `embed_mixed`: `("text", "a caption")` or `("image", <any ImageInput>)`."""


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried: bounded in count and in total time.

    The delay before retry k (1-based) is uniform in [0, min(max_delay, base_delay * 2**(k-1))]
    ("full jitter"), or exactly the server's `Retry-After` when it sends one. A retry whose
    wait would end past `max_total_s` since the first attempt is not made. `sleep` and
    `async_sleep` are the clocks used to wait; tests pass recording ones.
    """

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_total_s: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, retry: int) -> float:
        return self.rng.uniform(0.0, min(self.max_delay, self.base_delay * 2 ** (retry - 1)))


@dataclass(frozen=True, slots=True)
class _Failure:
    """A failed attempt, kept until we know whether it is retried or raised."""

    error: type[APIError]
    message: str
    status_code: int | None = None
    retryable: bool = False
    retry_after: float | None = None

    def raise_after(self, attempts: int) -> NoReturn:
        raise self.error(self.message, status_code=self.status_code, attempts=attempts)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One validated input: a text, or an image with its size (None for URLs)."""

    text: str | None = None
    image: ImageItem | None = None
    size: ImageSize | None = None
    downscale: bool = False


@dataclass(frozen=True, slots=True)
class _BatchResult:
    vectors: FloatMatrix
    usage: Usage


def _parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds (a number or an HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _failure_for_status(status: int, headers: httpx.Headers, body: bytes) -> _Failure:
    message = error_message(body)
    if status == 429:
        retry_after = _parse_retry_after(headers.get("retry-after"))
        return _Failure(RateLimitError, message, status, retryable=True, retry_after=retry_after)
    if status >= 500:
        return _Failure(ServerError, message, status, retryable=True)
    if status in (401, 403):
        return _Failure(AuthenticationError, message, status)
    if status == 402:
        return _Failure(QuotaExceededError, message, status)
    return _Failure(BadRequestError, message, status)


def _failure_for_exception(exc: httpx.RequestError) -> _Failure:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return _Failure(APITimeoutError, text, retryable=True)
    if isinstance(exc, httpx.TransportError):
        return _Failure(APIConnectionError, text, retryable=True)
    # DecodingError and the like: the server answered, but not with a readable body.
    return _Failure(ResponseFormatError, text)


def _png_base64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class RemoteEncoder:
    """jina-clip (or another Jina model) through the Jina Embeddings HTTP API.

    Args:
        model: API model name; its capabilities come from `jinaclip.models` unless
            `model_info=` describes a model this package does not know.
        api_key: the key; else `JINA_API_KEY`, else `JINAAI_API_KEY` (see the module docstring).
        base_url: the API root; a compatible server such as `jinaclip serve` works too.
        timeout: seconds (or an `httpx.Timeout`) for one request.
        max_retries: retries of a batch after its first attempt (see `RetryPolicy`).
        max_concurrency: batches in flight at once, sync and async alike.
        batch_size: items per request, never above the model's `max_items_per_request`.
        max_batch_tokens: estimated token budget of one request (an input over it goes alone).
        downscale_images: send an image larger than one tile as the model's centre crop
            (PNG), which the model sees unchanged but bills as one tile. Default: on for
            jina-clip-v1 only, whose preprocessing is pinned by the reference code.
        embedding_type: `float`, `base64`, `binary` or `ubinary` (the last two give +-1 vectors,
            which are never normalised).
        truncate, task, dimensions: sent only when set; a parameter the model does not take
            is a `ValueError` here instead of a 422 later.
    """

    def __init__(
        self,
        model: str = "jina-clip-v1",
        *,
        api_key: str | SecretStr | None = None,
        base_url: str = OFFICIAL_BASE_URL,
        timeout: float | httpx.Timeout = 60.0,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 4,
        batch_size: int | None = None,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
        downscale_images: bool | None = None,
        embedding_type: EmbeddingType = "float",
        truncate: bool | None = None,
        task: str | None = None,
        dimensions: int | None = None,
        model_info: ModelInfo | None = None,
        image_limits: ImageLimits | None = None,
    ) -> None:
        self._info = model_info or get_model_info(model)
        self._model = model if model_info is None else model_info.name
        self._check_params(task=task, dimensions=dimensions, truncate=truncate)
        if embedding_type not in EMBEDDING_TYPES:
            raise ValueError(
                f"embedding_type={embedding_type!r}; choose one of {', '.join(EMBEDDING_TYPES)}"
            )
        if embedding_type != "float":
            self._check_params(embedding_type=embedding_type)
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if batch_size is not None and batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if max_batch_tokens < 1:
            raise ValueError("max_batch_tokens must be at least 1")
        self._base_url = base_url.rstrip("/")
        self._url = f"{self._base_url}/embeddings"
        self._api_key = self._resolve_key(api_key, self._base_url)
        policy = retry or RetryPolicy()
        self._retry = policy if max_retries is None else replace(policy, max_retries=max_retries)
        if self._retry.max_retries < 0:
            raise ValueError("max_retries must be at least 0")
        self._timeout = (
            timeout
            if isinstance(timeout, httpx.Timeout)
            else httpx.Timeout(timeout, connect=min(10.0, timeout))
        )
        self._max_concurrency = max_concurrency
        max_items = self._info.max_items_per_request
        self._batch_size = min(batch_size or max_items, max_items)
        self._max_batch_tokens = max_batch_tokens
        self._downscale = (
            self._info.name == "jina-clip-v1" if downscale_images is None else downscale_images
        ) and self._info.image_size is not None
        self._embedding_type: EmbeddingType = embedding_type
        self._truncate = truncate
        self._task = task
        self._dimensions = dimensions
        self._dim = dimensions or self._info.dim
        self._limits = image_limits or ImageLimits.from_env()
        self._meter = UsageMeter()
        self._last_usage = Usage()
        self._client = httpx.Client(timeout=self._timeout, headers=self._headers())
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._aclient: httpx.AsyncClient | None = None
        self._aclient_loop: asyncio.AbstractEventLoop | None = None

    def _check_params(self, **params: object) -> None:
        info = self._info
        for name, value in params.items():
            if value is not None and not info.accepts(name):
                takes = ", ".join(sorted(info.accepted_params))
                raise ValueError(f"{info.name} does not take {name}=; it accepts: {takes}")
        task = params.get("task")
        if task is not None and info.tasks and task not in info.tasks:
            raise ValueError(f"task={task!r}; {info.name} takes one of {', '.join(info.tasks)}")
        dimensions = params.get("dimensions")
        if dimensions is not None and info.matryoshka_dims is not None:
            low, high = info.matryoshka_dims
            if not isinstance(dimensions, int) or not low <= dimensions <= high:
                raise ValueError(f"dimensions={dimensions!r}; {info.name} takes {low}..{high}")

    @staticmethod
    def _resolve_key(api_key: str | SecretStr | None, base_url: str) -> SecretStr | None:
        if isinstance(api_key, SecretStr):
            api_key = api_key.get_secret_value()
        key = api_key or api_key_from_env()
        if key:
            return SecretStr(key)
        host = urlparse(base_url).hostname or ""
        if host == "jina.ai" or host.endswith(".jina.ai"):
            raise AuthenticationError(
                "no API key: pass api_key= or set JINA_API_KEY (or JINAAI_API_KEY)", attempts=0
            )
        return None

    def _headers(self) -> dict[str, str]:
        from jinaclip import __version__

        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"jinaclip/{__version__}",
        }
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        return headers

    def __repr__(self) -> str:
        key = "SecretStr('**********')" if self._api_key is not None else "None"
        return f"RemoteEncoder(model={self._model!r}, base_url={self._base_url!r}, api_key={key})"

    @property
    def model_name(self) -> str:
        return self._model

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    @property
    def usage(self) -> Usage:
        """Tokens billed by every request this encoder made, failed calls' finished batches included."""
        return self._meter.usage

    @property
    def last_usage(self) -> Usage:
        """Tokens billed by the last call that succeeded, summed over its batches."""
        return self._last_usage

    # ---- public embedding API -------------------------------------------------------

    def embed_texts(self, texts: Sequence[str], *, normalize: bool = True) -> FloatMatrix:
        return self._run(self._prepare_texts(texts), normalize)

    def embed_images(self, images: Sequence[ImageInput], *, normalize: bool = True) -> FloatMatrix:
        return self._run(self._prepare_images(images), normalize)

    def embed_mixed(self, inputs: Sequence[MixedInput], *, normalize: bool = True) -> FloatMatrix:
        """Texts and images in one list, as clip models allow: `[("text", t), ("image", img)]`."""
        return self._run(self._prepare_mixed(inputs), normalize)

    async def aembed_texts(self, texts: Sequence[str], *, normalize: bool = True) -> FloatMatrix:
        return await self._arun(self._prepare_texts(texts), normalize)

    async def aembed_images(
        self, images: Sequence[ImageInput], *, normalize: bool = True
    ) -> FloatMatrix:
        prepared = await asyncio.to_thread(self._prepare_images, images)
        return await self._arun(prepared, normalize)

    async def aembed_mixed(
        self, inputs: Sequence[MixedInput], *, normalize: bool = True
    ) -> FloatMatrix:
        prepared = await asyncio.to_thread(self._prepare_mixed, inputs)
        return await self._arun(prepared, normalize)

    def estimate_tokens(
        self, *, texts: Sequence[str] = (), images: Sequence[ImageInput] = ()
    ) -> TokenEstimate:
        """Estimated billing for these inputs, as they would be sent and without downscaling.

        Validates the inputs like a call would (InvalidInputError), but sends nothing.
        """
        prepared = self._prepare_texts(texts) + self._prepare_images(images)
        sent = sum(self._estimate(p) for p in prepared)
        full = sum(self._estimate(replace(p, downscale=False)) for p in prepared)
        return TokenEstimate(tokens=sent, tokens_without_downscale=full)

    # ---- validation and request building ---------------------------------------------

    def _prepare_texts(self, texts: Sequence[str]) -> list[_Prepared]:
        return [_Prepared(text=text) for text in validate_texts(texts)]

    def _prepare_images(self, images: Sequence[ImageInput]) -> list[_Prepared]:
        if isinstance(images, str | bytes | Image.Image):
            raise TypeError("pass a list of images, not a single image")
        return self._prepare_mixed([("image", image) for image in images])

    def _prepare_mixed(self, inputs: Sequence[MixedInput]) -> list[_Prepared]:
        """Check every input (images decoded to prove they are usable) before any request."""
        prepared: list[_Prepared] = []
        problems: list[InputProblem] = []
        for index, entry in enumerate(inputs):
            try:
                prepared.append(self._prepare_one(entry))
            except (ValueError, TypeError, OSError) as exc:
                problems.append(InputProblem(index, str(exc)))
        if problems:
            raise InvalidInputError(problems)
        return prepared

    def _prepare_one(self, entry: MixedInput) -> _Prepared:
        if not isinstance(entry, tuple) or len(entry) != 2:
            raise TypeError('expected ("text", str) or ("image", image)')
        kind, value = entry
        if kind == "text":
            if not isinstance(value, str):
                raise TypeError(f"expected str, got {type(value).__name__}")
            return _Prepared(text=value)
        if kind != "image":
            raise ValueError(f'unknown input kind {kind!r}; use "text" or "image"')
        if not self._info.accepts_images:
            raise ValueError(f"{self._info.name} does not embed images")
        item = to_image_item(value)
        if item.url is not None:
            return _Prepared(image=item)
        rgb = self._decode(item)
        size = ImageSize(rgb.width, rgb.height)
        return _Prepared(image=item, size=size, downscale=self._needs_downscale(size))

    def _decode(self, item: ImageItem) -> Image.Image:
        if item.image is not None:
            return to_model_rgb(item.image, self._limits)
        data = item.read_bytes(self._limits.max_bytes)
        return to_model_rgb(open_image_header(data, self._limits), self._limits)

    def _needs_downscale(self, size: ImageSize) -> bool:
        tile = self._info.image_size
        return self._downscale and tile is not None and (size.width > tile or size.height > tile)

    def _estimate(self, item: _Prepared) -> int:
        if item.text is not None:
            return estimate_text_tokens(item.text)
        size = item.size
        if item.downscale and self._info.image_size is not None:
            size = ImageSize(self._info.image_size, self._info.image_size)
        return estimate_image_tokens(size, self._info)

    def _wire(self, item: _Prepared) -> str | TextDoc | ImageDoc:
        if item.text is not None:
            return TextDoc(text=item.text) if self._info.text_as_object else item.text
        image = item.image
        assert image is not None
        if image.url is not None:
            return ImageDoc(image=image.url)
        if item.downscale and self._info.image_size is not None:
            crop = resize_and_center_crop(self._decode(image), self._info.image_size)
            return ImageDoc(image=_png_base64(crop))
        if image.image is not None:
            return ImageDoc(image=_png_base64(to_model_rgb(image.image, self._limits)))
        data = image.read_bytes(self._limits.max_bytes)
        return ImageDoc(image=base64.b64encode(data).decode("ascii"))

    def _batches(self, prepared: Sequence[_Prepared]) -> Iterator[tuple[int, int]]:
        """Consecutive [start, end) ranges within the item and token budgets."""
        start, tokens = 0, 0
        for index, item in enumerate(prepared):
            cost = self._estimate(item)
            size = index - start
            if size and (size >= self._batch_size or tokens + cost > self._max_batch_tokens):
                yield start, index
                start, tokens = index, 0
            tokens += cost
        if start < len(prepared):
            yield start, len(prepared)

    def _body(self, batch: Sequence[_Prepared], normalize: bool) -> bytes:
        """The request for one batch, built only when the batch is about to be sent."""
        request = EmbeddingRequest(
            model=self._model,
            input=[self._wire(item) for item in batch],
            embedding_type=self._embedding_type if self._info.accepts("embedding_type") else None,
            normalized=normalize if self._info.accepts("normalized") else None,
            truncate=self._truncate,
            task=self._task,
            dimensions=self._dimensions,
        )
        return json.dumps(request.to_wire(), separators=(",", ":")).encode()

    # ---- responses -------------------------------------------------------------------

    def _parse(self, body: bytes, count: int, normalize: bool, attempts: int) -> _BatchResult:
        """Place every embedding by its `index`; any break of the contract fails the batch."""

        def fail(reason: str) -> NoReturn:
            raise ResponseFormatError(reason, status_code=200, attempts=attempts)

        try:
            response = EmbeddingResponse.model_validate_json(body)
        except ValidationError as exc:
            fail(f"response body is not an embeddings response: {exc.errors()[0]['msg']}")
        indices = [item.index for item in response.data]
        if len(indices) != count:
            fail(f"sent {count} inputs, got {len(indices)} embeddings back")
        if sorted(indices) != list(range(count)):
            missing = sorted(set(range(count)) - set(indices))
            duplicate = sorted({i for i in indices if indices.count(i) > 1})
            fail(
                f"response indices do not cover 0..{count - 1} exactly once "
                f"(missing {missing[:10]}, duplicated {duplicate[:10]})"
            )
        vectors = np.empty((count, self._dim), dtype=np.float32)
        for item in response.data:
            try:
                vectors[item.index] = decode_embedding(
                    item.embedding, self._embedding_type, self._dim
                )
            except ValueError as exc:
                fail(f"embedding at index {item.index}: {exc}")
        if normalize and self._embedding_type in FLOAT_EMBEDDING_TYPES:
            try:
                vectors = l2_normalize(vectors)
            except ValueError as exc:
                fail(str(exc))
        prompt = response.usage.prompt_tokens
        usage = Usage(response.usage.total_tokens, prompt if prompt is not None else 0, 1)
        return _BatchResult(vectors, usage)

    def _outcome(
        self, response: httpx.Response, count: int, normalize: bool, attempts: int
    ) -> _BatchResult | _Failure:
        if response.status_code == 200:
            result = self._parse(response.content, count, normalize, attempts)
            self._meter.add(result.usage)
            return result
        return _failure_for_status(response.status_code, response.headers, response.content)

    def _delay(self, failure: _Failure, attempts: int, started: float) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if not failure.retryable or attempts > self._retry.max_retries:
            return None
        delay = failure.retry_after
        if delay is None:
            delay = self._retry.backoff(attempts)
        if time.monotonic() - started + delay > self._retry.max_total_s:
            return None
        return delay

    def _log_retry(self, failure: _Failure, attempts: int, delay: float) -> None:
        status = f"HTTP {failure.status_code}" if failure.status_code else failure.error.__name__
        logger.warning(
            "jinaclip: %s from %s, retrying in %.2f s (attempt %d of %d)",
            status,
            self._base_url,
            delay,
            attempts + 1,
            self._retry.max_retries + 1,
        )

    def _scrub(self, failure: _Failure) -> _Failure:
        """Servers sometimes echo the request; a key must never reach an exception."""
        if self._api_key is None:
            return failure
        secret = self._api_key.get_secret_value()
        return replace(failure, message=failure.message.replace(secret, "**********"))

    # ---- sync path -------------------------------------------------------------------

    def _send(self, batch: Sequence[_Prepared], normalize: bool) -> _BatchResult:
        body = self._body(batch, normalize)
        started = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            outcome: _BatchResult | _Failure
            try:
                response = self._client.post(self._url, content=body)
                outcome = self._outcome(response, len(batch), normalize, attempts)
            except httpx.RequestError as exc:
                outcome = _failure_for_exception(exc)
            if isinstance(outcome, _BatchResult):
                return outcome
            delay = self._delay(outcome, attempts, started)
            if delay is None:
                self._scrub(outcome).raise_after(attempts)
            self._log_retry(outcome, attempts, delay)
            self._retry.sleep(delay)

    def _run(self, prepared: list[_Prepared], normalize: bool) -> FloatMatrix:
        if not prepared:
            return empty_matrix(self._dim)
        ranges = list(self._batches(prepared))
        out = np.empty((len(prepared), self._dim), dtype=np.float32)
        usage = Usage()
        if len(ranges) == 1 or self._max_concurrency == 1:
            for start, end in ranges:
                result = self._send(prepared[start:end], normalize)
                out[start:end] = result.vectors
                usage = usage + result.usage
        else:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    self._max_concurrency, thread_name_prefix="jinaclip-remote"
                )
            futures = {
                self._executor.submit(self._send, prepared[start:end], normalize): start
                for start, end in ranges
            }
            done, pending = concurrent.futures.wait(
                futures, return_when=concurrent.futures.FIRST_EXCEPTION
            )
            for future in pending:
                future.cancel()
            for future in futures:
                if future in done and future.exception() is not None:
                    raise future.exception()  # type: ignore[misc]
            for future, start in futures.items():
                result = future.result()
                out[start : start + len(result.vectors)] = result.vectors
                usage = usage + result.usage
        self._last_usage = usage
        return out

    # ---- async path ------------------------------------------------------------------

    def _async_client(self) -> httpx.AsyncClient:
        """One AsyncClient per event loop: pooled connections cannot cross loops."""
        loop = asyncio.get_running_loop()
        if self._aclient is None or self._aclient_loop is not loop:
            self._aclient = httpx.AsyncClient(timeout=self._timeout, headers=self._headers())
            self._aclient_loop = loop
        return self._aclient

    async def _asend(
        self, batch: Sequence[_Prepared], normalize: bool, semaphore: asyncio.Semaphore
    ) -> _BatchResult:
        async with semaphore:
            if any(item.image is not None for item in batch):
                body = await asyncio.to_thread(self._body, batch, normalize)
            else:
                body = self._body(batch, normalize)
            client = self._async_client()
            started = time.monotonic()
            attempts = 0
            while True:
                attempts += 1
                outcome: _BatchResult | _Failure
                try:
                    response = await client.post(self._url, content=body)
                    # decoding a large response takes long enough to stall other batches
                    outcome = await asyncio.to_thread(
                        self._outcome, response, len(batch), normalize, attempts
                    )
                except httpx.RequestError as exc:
                    outcome = _failure_for_exception(exc)
                if isinstance(outcome, _BatchResult):
                    return outcome
                delay = self._delay(outcome, attempts, started)
                if delay is None:
                    self._scrub(outcome).raise_after(attempts)
                self._log_retry(outcome, attempts, delay)
                await self._retry.async_sleep(delay)

    async def _arun(self, prepared: list[_Prepared], normalize: bool) -> FloatMatrix:
        if not prepared:
            return empty_matrix(self._dim)
        semaphore = asyncio.Semaphore(self._max_concurrency)
        tasks = {
            asyncio.ensure_future(self._asend(prepared[start:end], normalize, semaphore)): start
            for start, end in self._batches(prepared)
        }
        try:
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in tasks:
                task.cancel()  # a no-op for finished tasks; stops the rest if we were cancelled
        for task in tasks:
            if task in done and task.exception() is not None:
                if pending:
                    await asyncio.wait(pending)
                raise task.exception()  # type: ignore[misc]
        out = np.empty((len(prepared), self._dim), dtype=np.float32)
        usage = Usage()
        for task, start in tasks.items():
            result = task.result()
            out[start : start + len(result.vectors)] = result.vectors
            usage = usage + result.usage
        self._last_usage = usage
        return out

    # ---- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP clients and the batch threads; the encoder is unusable afterwards."""
        self._client.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        aclient, loop = self._aclient, self._aclient_loop
        self._aclient = self._aclient_loop = None
        if aclient is not None and loop is not None and not loop.is_closed():
            if loop.is_running():
                loop.create_task(aclient.aclose())
            else:
                loop.run_until_complete(aclient.aclose())

    async def aclose(self) -> None:
        """Async twin of `close`: closes the async client on the running loop."""
        aclient = self._aclient
        self._aclient = self._aclient_loop = None
        if aclient is not None:
            await aclient.aclose()
        self.close()

    def __enter__(self) -> RemoteEncoder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> RemoteEncoder:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

"""LangChain embeddings for jina-clip: texts and images, local PyTorch or the Jina API.

All the work happens in a `Encoder`; this module adapts LangChain's calling
conventions to it (lists of Python floats, `embed_image(uris=...)` as langchain-chroma
calls it), so `backend="local"` and `backend="api"` give the same vectors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, TypeVar

from langchain_core.embeddings import Embeddings
from langchain_core.utils import secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from jinaclip import Encoder, FloatMatrix, ImageInput, make_encoder
from jinaclip.backends import (
    API_KEY_ENV_VARS,
    DEFAULT_MODEL,
    check_backend_arguments,
    encoder_options,
)
from jinaclip.errors import InvalidInputError
from jinaclip.inputs import to_image_items, validate_texts

_Item = TypeVar("_Item")


def _as_lists(matrix: FloatMatrix) -> list[list[float]]:
    """float32 rows -> Python floats; each float holds the float32 value exactly."""
    rows: list[list[float]] = matrix.tolist()
    return rows


class JinaClipEmbeddings(BaseModel, Embeddings):
    """jina-clip text and image embeddings, on a local model or the Jina Embeddings API.

    Setup:
        Install ``langchain-jinaclip`` (add the ``local`` extra to run the model in PyTorch).
        For the API backend set ``JINA_API_KEY`` (``JINAAI_API_KEY`` is read too).

        .. code-block:: bash

            pip install -U "langchain-jinaclip[local]"
            export JINA_API_KEY="jina_..."

    Key init args:
        backend: Literal["local", "api"]
            ``"local"`` runs the checkpoint in PyTorch, ``"api"`` calls the Jina API.
        model: str
            ``jina-clip-v1`` (default), a Hugging Face id or a local checkpoint directory.
        device: str | None
            Torch device for the local backend; None picks one.
        api_key: SecretStr | None
            API key for the api backend; defaults to ``$JINA_API_KEY``.
        base_url: str | None
            Another compatible server for the api backend (e.g. ``jinaclip serve``).
        batch_size: int | None
            Most inputs handed to the encoder at once; None lets the encoder batch.
        backend_options: dict
            Extra keyword arguments for ``LocalEncoder.from_pretrained`` or ``RemoteEncoder``.

    Instantiate:
        .. code-block:: python

            from langchain_jinaclip import JinaClipEmbeddings

            embed = JinaClipEmbeddings(backend="local", device="cpu")
            embed = JinaClipEmbeddings(backend="api")  # same vectors, hosted

    Embed:
        .. code-block:: python

            vector = embed.embed_query("a red bridge at night")
            vectors = embed.embed_documents(["a cat", "a dog"])
            image_vectors = embed.embed_image(["photo.jpg", "https://example.com/a.png"])

    Async:
        .. code-block:: python

            vector = await embed.aembed_query("a red bridge at night")
            vectors = await embed.aembed_documents(["a cat", "a dog"])
            image_vectors = await embed.aembed_image(["photo.jpg"])
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())

    backend: Literal["local", "api"] = "local"
    """'local' runs the model in PyTorch; 'api' calls the Jina Embeddings API."""
    model: str = DEFAULT_MODEL
    """Model name (jina-clip-v1), Hugging Face id or local checkpoint directory."""
    device: str | None = None
    """Torch device for the local backend; None picks one."""
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env(list(API_KEY_ENV_VARS), default=None),
        alias="jina_api_key",
    )
    """Jina API key; defaults to $JINA_API_KEY, then $JINAAI_API_KEY."""
    base_url: str | None = None
    """API base URL for the api backend (another compatible server)."""
    batch_size: int | None = Field(default=None, gt=0)
    """Most inputs handed to the encoder in one call; None lets the encoder batch them all."""
    backend_options: dict[str, Any] = Field(default_factory=dict)
    """Extra keyword arguments for LocalEncoder.from_pretrained or RemoteEncoder."""

    _encoder: Encoder = PrivateAttr()
    _owns_encoder: bool = PrivateAttr(default=True)

    def __init__(self, *, encoder: Encoder | None = None, **data: Any) -> None:
        """Build the backend's encoder now, or wrap `encoder` (which the caller keeps owning;
        the backend settings are then not used)."""
        super().__init__(**data)
        self._owns_encoder = encoder is None
        if encoder is None:
            options = encoder_options(
                self.backend,
                device=self.device,
                # The env fallback fills api_key for either backend; only the api uses it.
                api_key=self.api_key if self.backend == "api" else None,
                base_url=self.base_url,
                backend_options=self.backend_options,
            )
            encoder = make_encoder(self.backend, self.model, **options)
        self._encoder = encoder

    @model_validator(mode="before")
    @classmethod
    def _check_backend_args(cls, data: Any) -> Any:
        """Refuse arguments the chosen backend would silently ignore."""
        if not isinstance(data, dict):
            return data
        check_backend_arguments(
            data.get("backend", "local"),
            device=data.get("device"),
            api_key=data.get("api_key", data.get("jina_api_key")),
            base_url=data.get("base_url"),
            backend_options=data.get("backend_options"),
        )
        return data

    @property
    def encoder(self) -> Encoder:
        """The core encoder doing the work."""
        return self._encoder

    @property
    def model_name(self) -> str:
        """The model the encoder actually runs, e.g. `jina-clip-v1`."""
        return self._encoder.model_name

    @property
    def dim(self) -> int:
        """Width of every vector this model returns."""
        return self._encoder.dim

    def close(self) -> None:
        """Release the encoder's connections or memory, if this object created it."""
        if self._owns_encoder:
            self._encoder.close()

    def _batches(
        self, items: Sequence[_Item], validate: Callable[[list[_Item]], object]
    ) -> list[tuple[int, list[_Item]]]:
        """(offset, batch) pairs. Split calls classify every input first, so one error still
        names every bad input; a lone string is refused rather than split into characters."""
        if isinstance(items, str | bytes):
            raise TypeError(f"pass a list of inputs, not a single {type(items).__name__}")
        whole = list(items)
        size = self.batch_size or max(len(whole), 1)
        if len(whole) > size:
            validate(whole)
        return [(start, whole[start : start + size]) for start in range(0, len(whole), size)]

    def _run(
        self,
        embed: Callable[[Sequence[_Item]], FloatMatrix],
        items: Sequence[_Item],
        validate: Callable[[list[_Item]], object],
    ) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start, batch in self._batches(items, validate):
            try:
                vectors.extend(_as_lists(embed(batch)))
            except InvalidInputError as exc:
                if start == 0:
                    raise
                raise exc.shifted(start) from exc
        return vectors

    async def _arun(
        self,
        embed: Callable[[Sequence[_Item]], Awaitable[FloatMatrix]],
        items: Sequence[_Item],
        validate: Callable[[list[_Item]], object],
    ) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start, batch in self._batches(items, validate):
            try:
                vectors.extend(_as_lists(await embed(batch)))
            except InvalidInputError as exc:
                if start == 0:
                    raise
                raise exc.shifted(start) from exc
        return vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for indexing; unit-norm vectors in input order."""
        return self._run(self._encoder.embed_texts, texts, validate_texts)

    def embed_query(self, text: str) -> list[float]:
        """Embed one query text (clip-v1 embeds queries and documents alike)."""
        return self._run(self._encoder.embed_texts, [text], validate_texts)[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async `embed_documents`, on the encoder's own async path."""
        return await self._arun(self._encoder.aembed_texts, texts, validate_texts)

    async def aembed_query(self, text: str) -> list[float]:
        """Async `embed_query`, on the encoder's own async path."""
        return (await self._arun(self._encoder.aembed_texts, [text], validate_texts))[0]

    def embed_image(self, uris: Sequence[ImageInput]) -> list[list[float]]:
        """Embed images: paths, URLs, data URIs, base64, bytes or PIL images (langchain-chroma
        calls this with file paths)."""
        return self._run(self._encoder.embed_images, uris, to_image_items)

    def embed_images(self, uris: Sequence[ImageInput]) -> list[list[float]]:
        """Same as `embed_image`, under the name langchain-community's JinaEmbeddings uses."""
        return self.embed_image(uris)

    async def aembed_image(self, uris: Sequence[ImageInput]) -> list[list[float]]:
        """Async `embed_image`, on the encoder's own async path."""
        return await self._arun(self._encoder.aembed_images, uris, to_image_items)

    async def aembed_images(self, uris: Sequence[ImageInput]) -> list[list[float]]:
        """Same as `aembed_image`, under the langchain-community name."""
        return await self.aembed_image(uris)

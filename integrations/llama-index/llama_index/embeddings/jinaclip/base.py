"""LlamaIndex multimodal embeddings for jina-clip, local PyTorch or the Jina API alike.

`JinaClipEmbedding(backend="local")` and `JinaClipEmbedding(backend="api")` return the
same vectors for the same inputs (same model, space and normalisation), so an index built
with one can be queried with the other. All the work happens in a `Encoder`;
this class only adapts LlamaIndex's calling conventions to it.
"""

from __future__ import annotations

from typing import Any, Literal

from llama_index.core.base.embeddings.base import Embedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr, SecretStr
from llama_index.core.callbacks import CallbackManager
from llama_index.core.embeddings import MultiModalEmbedding
from llama_index.core.schema import ImageType

from jinaclip import Encoder, FloatMatrix, make_encoder
from jinaclip.backends import DEFAULT_MODEL, api_key_from_env, encoder_options


def _as_lists(matrix: FloatMatrix) -> list[Embedding]:
    """float32 rows -> Python floats; each float holds the float32 value exactly."""
    rows: list[Embedding] = matrix.tolist()
    return rows


class JinaClipEmbedding(MultiModalEmbedding):
    """jina-clip text and image embeddings for LlamaIndex, on a local model or the Jina API.

    Switch backends with one argument; the vectors keep their meaning:

        embed = JinaClipEmbedding(backend="local", model="jinaai/jina-clip-v1", device="cuda")
        embed = JinaClipEmbedding(backend="api", model="jina-clip-v1")  # key from JINA_API_KEY
        index = MultiModalVectorStoreIndex.from_documents(
            docs, embed_model=embed, image_embed_model=embed
        )

    Or hand over a ready `jinaclip.Encoder` with `encoder=` (the caller keeps owning it; the
    backend settings are then not used). Images may be paths, http(s) URLs, data URIs, base64
    strings or `BytesIO` (what `ImageNode.resolve_image()` returns).
    """

    backend: Literal["local", "api"] = Field(
        default="local", description="'local' runs the model in PyTorch; 'api' calls the Jina API."
    )
    model: str = Field(
        default=DEFAULT_MODEL,
        description="Model name (jina-clip-v1), Hugging Face id or local checkpoint directory.",
    )
    device: str | None = Field(
        default=None, description="Torch device for the local backend (None picks one)."
    )
    api_key: SecretStr | None = Field(
        default=None,
        exclude=True,
        description="Jina API key; defaults to $JINA_API_KEY, then $JINAAI_API_KEY.",
    )
    base_url: str | None = Field(
        default=None, description="API base URL for the api backend (another compatible server)."
    )
    backend_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra keyword arguments for LocalEncoder.from_pretrained or RemoteEncoder.",
    )

    _encoder: Encoder = PrivateAttr()
    _owns_encoder: bool = PrivateAttr(default=True)

    def __init__(
        self,
        backend: Literal["local", "api"] = "local",
        model: str = DEFAULT_MODEL,
        *,
        encoder: Encoder | None = None,
        device: str | None = None,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        backend_options: dict[str, Any] | None = None,
        embed_batch_size: int = 32,
        callback_manager: CallbackManager | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(api_key, str):
            api_key = SecretStr(api_key)
        options = encoder_options(
            backend,
            device=device,
            api_key=api_key,
            base_url=base_url,
            backend_options=backend_options,
        )
        if backend == "api" and api_key is None:
            env_key = api_key_from_env()
            api_key = options["api_key"] = SecretStr(env_key) if env_key else None
        kwargs.pop("model_name", None)  # always reported by the encoder, never chosen
        super().__init__(
            backend=backend,
            model=model,
            device=device,
            api_key=api_key,
            base_url=base_url,
            backend_options=dict(backend_options or {}),
            embed_batch_size=embed_batch_size,
            callback_manager=callback_manager,
            **kwargs,
        )
        if encoder is None:
            encoder = make_encoder(backend, model, **options)
            self._owns_encoder = True
        else:
            self._owns_encoder = False
        self._encoder = encoder
        self.model_name = encoder.model_name

    @classmethod
    def class_name(cls) -> str:
        return "JinaClipEmbedding"

    @property
    def encoder(self) -> Encoder:
        """The core encoder doing the work (shared by text and image calls)."""
        return self._encoder

    @property
    def dim(self) -> int:
        """Width of every vector this model returns."""
        return self._encoder.dim

    def to_payload(self) -> dict[str, Any]:
        """Observability payload: the base fields plus the backend, never a key or URL."""
        return {**super().to_payload(), "backend": self.backend}

    def close(self) -> None:
        """Release the encoder's connections or memory, if this object created it."""
        if self._owns_encoder:
            self._encoder.close()

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._get_text_embeddings([query])[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return (await self._aget_text_embeddings([query]))[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self._aget_text_embeddings([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return _as_lists(self._encoder.embed_texts(texts))

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return _as_lists(await self._encoder.aembed_texts(texts))

    def _get_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return self._get_image_embeddings([img_file_path])[0]

    async def _aget_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return (await self._aget_image_embeddings([img_file_path]))[0]

    def _get_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        return _as_lists(self._encoder.embed_images(img_file_paths))

    async def _aget_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        return _as_lists(await self._encoder.aembed_images(img_file_paths))

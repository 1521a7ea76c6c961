"""What each known model is and what the API lets you send it.

The Jina API validates parameters strictly per model (an extra field is a 422), so the
remote client consults `accepted_params` before adding anything to a request. The local
backend uses `dim` and `image_size` as sanity checks against the checkpoint's own config.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinaclip.errors import ModelNotFoundError

#: Request fields every model takes besides `model` and `input`.
COMMON_PARAMS: frozenset[str] = frozenset({"embedding_type", "normalized", "truncate"})


@dataclass(frozen=True, slots=True)
class ImageTiling:
    """How the API bills an image: `tokens_per_tile` for every `tile_px` square needed to cover it."""

    tile_px: int
    tokens_per_tile: int


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Capabilities of one model, as the hosted API exposes it."""

    name: str
    dim: int
    context_length: int
    max_items_per_request: int
    accepted_params: frozenset[str]
    hf_repo: str | None = None
    image_size: int | None = None
    image_tiling: ImageTiling | None = None
    matryoshka_dims: tuple[int, int] | None = None
    tasks: tuple[str, ...] = ()
    #: clip models take `{"text": ...}` objects; text-only models take bare strings.
    text_as_object: bool = True

    @property
    def accepts_images(self) -> bool:
        return self.image_size is not None

    def accepts(self, param: str) -> bool:
        return param in self.accepted_params


_RETRIEVAL_TASKS = (
    "retrieval.query",
    "retrieval.passage",
    "text-matching",
    "classification",
    "separation",
)

KNOWN_MODELS: dict[str, ModelInfo] = {
    "jina-clip-v1": ModelInfo(
        name="jina-clip-v1",
        dim=768,
        context_length=8192,
        max_items_per_request=2048,
        accepted_params=COMMON_PARAMS,
        hf_repo="jinaai/jina-clip-v1",
        image_size=224,
        image_tiling=ImageTiling(tile_px=224, tokens_per_tile=1000),
    ),
    "jina-clip-v2": ModelInfo(
        name="jina-clip-v2",
        dim=1024,
        context_length=8192,
        max_items_per_request=2048,
        accepted_params=COMMON_PARAMS | {"task", "dimensions", "late_chunking"},
        hf_repo="jinaai/jina-clip-v2",
        image_size=512,
        # Billing for clip-v2 images is not pinned by our sources; this is the per-tile rule
        # scaled to its 512 px input. `usage` in the response is always the authority.
        image_tiling=ImageTiling(tile_px=512, tokens_per_tile=4000),
        matryoshka_dims=(64, 1024),
        tasks=_RETRIEVAL_TASKS,
    ),
    "jina-embeddings-v3": ModelInfo(
        name="jina-embeddings-v3",
        dim=1024,
        context_length=8192,
        max_items_per_request=2048,
        accepted_params=COMMON_PARAMS | {"task", "dimensions", "late_chunking"},
        hf_repo="jinaai/jina-embeddings-v3",
        matryoshka_dims=(32, 1024),
        tasks=_RETRIEVAL_TASKS,
        text_as_object=False,
    ),
    "jina-embeddings-v4": ModelInfo(
        name="jina-embeddings-v4",
        dim=2048,
        context_length=32768,
        max_items_per_request=512,
        accepted_params=COMMON_PARAMS | {"task", "dimensions", "late_chunking"},
        hf_repo="jinaai/jina-embeddings-v4",
        image_size=512,
        image_tiling=None,
        matryoshka_dims=(128, 2048),
        tasks=(
            "retrieval.query",
            "retrieval.passage",
            "text-matching",
            "code.query",
            "code.passage",
        ),
    ),
}


def get_model_info(name: str) -> ModelInfo:
    """Look a model up by its API name or its Hugging Face repo id."""
    if name in KNOWN_MODELS:
        return KNOWN_MODELS[name]
    for info in KNOWN_MODELS.values():
        if info.hf_repo == name:
            return info
    known = ", ".join(sorted(KNOWN_MODELS))
    raise ModelNotFoundError(
        f"unknown model {name!r}; known models: {known}. "
        "For another compatible server, pass model_info=ModelInfo(...) describing it."
    )

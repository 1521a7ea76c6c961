"""Build an `Encoder` from a backend name, so callers swap backends with one argument.

`model` may be given in either backend's spelling (`jina-clip-v1` or `jinaai/jina-clip-v1`);
it is translated through the known-models table. A local directory is always a local model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeAlias

from jinaclip.encoder import Encoder
from jinaclip.models import KNOWN_MODELS

Backend: TypeAlias = Literal["local", "api"]
BACKENDS: tuple[Backend, ...] = ("local", "api")
DEFAULT_MODEL = "jina-clip-v1"


def api_model_name(model: str) -> str:
    """`jinaai/jina-clip-v1` -> `jina-clip-v1`; unknown names pass through unchanged."""
    for info in KNOWN_MODELS.values():
        if model in (info.name, info.hf_repo):
            return info.name
    return model


def local_model_id(model: str) -> str:
    """`jina-clip-v1` -> `jinaai/jina-clip-v1`; paths and other hub ids pass through."""
    if Path(model).expanduser().exists():
        return model
    info = KNOWN_MODELS.get(model)
    if info is not None and info.hf_repo is not None:
        return info.hf_repo
    return model


def make_encoder(
    backend: Backend | str = "local", model: str | None = None, **options: Any
) -> Encoder:
    """`make_encoder("local", device="cuda")` or `make_encoder("api", api_key=...)`.

    Options go to `LocalEncoder.from_pretrained` or `RemoteEncoder` unchanged, so a typo
    fails loudly there instead of being ignored here.
    """
    name = model or DEFAULT_MODEL
    if backend == "local":
        from jinaclip.local.encoder import LocalEncoder

        return LocalEncoder.from_pretrained(local_model_id(name), **options)
    if backend == "api":
        from jinaclip.remote.client import RemoteEncoder

        return RemoteEncoder(model=api_model_name(name), **options)
    raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")

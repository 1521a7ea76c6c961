"""Build an `Encoder` from a backend name, so callers swap backends with one argument.

`model` may be given in either backend's spelling (`jina-clip-v1` or `jinaai/jina-clip-v1`);
it is translated through the known-models table. A local directory is always a local model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeAlias

from jinaclip.encoder import Encoder
from jinaclip.models import KNOWN_MODELS

Backend: TypeAlias = Literal["local", "api"]
BACKENDS: tuple[Backend, ...] = ("local", "api")
DEFAULT_MODEL = "jina-clip-v1"
#: Environment variables read for the API key, in order, when none is passed.
API_KEY_ENV_VARS = ("JINA_API_KEY", "JINAAI_API_KEY")
#: Settings the adapters take as their own arguments; inside `backend_options` they would
#: be ambiguous (which one wins?), so they are refused there.
_OWN_OPTIONS = frozenset({"api_key", "base_url", "device", "model"})


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


def api_key_from_env() -> str | None:
    """The first non-empty of `JINA_API_KEY`, `JINAAI_API_KEY`."""
    for name in API_KEY_ENV_VARS:
        value = os.environ.get(name)
        if value:
            return value
    return None


def check_backend_arguments(
    backend: str,
    *,
    device: str | None = None,
    api_key: object = None,
    base_url: str | None = None,
    backend_options: Mapping[str, Any] | None = None,
) -> None:
    """Refuse what the chosen backend would silently ignore (the adapters' explicit settings)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    clashing = sorted(_OWN_OPTIONS & set(backend_options or {}))
    if clashing:
        raise ValueError(
            f"pass {', '.join(clashing)} as their own argument(s), not in backend_options"
        )
    if backend == "local" and (api_key is not None or base_url is not None):
        raise ValueError("api_key and base_url apply to backend='api' only")
    if backend == "api" and device is not None:
        raise ValueError("device applies to backend='local' only")


def encoder_options(
    backend: str,
    *,
    device: str | None = None,
    api_key: object = None,
    base_url: str | None = None,
    backend_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The keyword arguments for `make_encoder(backend, model, **options)` from an adapter's
    settings, after `check_backend_arguments`."""
    check_backend_arguments(
        backend,
        device=device,
        api_key=api_key,
        base_url=base_url,
        backend_options=backend_options,
    )
    options = dict(backend_options or {})
    if device is not None:
        options["device"] = device
    if backend == "api":
        options["api_key"] = api_key
        if base_url is not None:
            options["base_url"] = base_url
    return options

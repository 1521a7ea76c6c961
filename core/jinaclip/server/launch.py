"""Load a local model and serve it: `build_app` for embedding the app, `serve` for running it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette

from jinaclip.backends import local_model_id
from jinaclip.encoder import Encoder
from jinaclip.server.app import ServeConfig, TokenCounter, create_app

logger = logging.getLogger("jinaclip.server")


def tokenizer_directory(model: str) -> Path:
    """The checkpoint directory holding the tokenizer files, resolved as `LocalEncoder` does it
    (a directory as is, a hub id from the cache, `HF_HUB_OFFLINE` honoured)."""
    from jinaclip.local.encoder import resolve_checkpoint_dir

    return resolve_checkpoint_dir(local_model_id(model))


def token_counter(directory: Path, context_length: int) -> TokenCounter:
    """Counts with the model's own tokenizer, capped one past the context so overlong texts show."""
    from jinaclip.local.tokenizer import TextTokenizer

    tokenizer = TextTokenizer.from_directory(directory, max_length=context_length + 1)

    def count(texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in tokenizer.encode(texts)]

    return count


def load_encoder(model: str, *, device: str | None = None, **options: Any) -> Encoder:
    from jinaclip.local.encoder import LocalEncoder

    if device is not None:
        options["device"] = device
    encoder: Encoder = LocalEncoder.from_pretrained(local_model_id(model), **options)
    return encoder


def build_app(
    encoder: Encoder, model: str, config: ServeConfig | None = None, *, device: str | None = None
) -> Starlette:
    """The app serving an already loaded `encoder` of `model` (a directory or a hub id)."""
    config = config or ServeConfig()
    counter = token_counter(tokenizer_directory(model), config.info().context_length)
    return create_app(encoder, config, count_tokens=counter, device=device)


def serve(
    model: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    device: str | None = None,
    config: ServeConfig | None = None,
    log_level: str = "info",
    encoder_options: dict[str, Any] | None = None,
) -> None:
    """Load `model` locally and serve it until interrupted (`jinaclip serve`)."""
    encoder = load_encoder(model, device=device, **(encoder_options or {}))
    try:
        app = build_app(encoder, model, config, device=device)
        service = app.state.service
        logger.info(
            "serving %s (dim %d, device %s) on http://%s:%d/v1/embeddings",
            service.config.served_model_name,
            encoder.dim,
            service.device,
            host,
            port,
        )
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        encoder.close()

"""The LlamaIndex adapter under test, built for the backend being tested."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from llama_index.embeddings.jinaclip import JinaClipEmbedding


@pytest.fixture(scope="module")
def llama_embed(backend: str, backend_kwargs: dict[str, Any]) -> Iterator[JinaClipEmbedding]:
    embed = JinaClipEmbedding(backend=backend, **backend_kwargs)
    yield embed
    embed.close()

"""The LangChain adapter under test, built for the backend being tested."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from langchain_jinaclip import JinaClipEmbeddings


@pytest.fixture(scope="module")
def lc_embed(backend: str, backend_kwargs: dict[str, Any]) -> Iterator[JinaClipEmbeddings]:
    embed = JinaClipEmbeddings(backend=backend, **backend_kwargs)
    yield embed
    embed.close()

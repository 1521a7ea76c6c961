"""Other Jina clients, unchanged, against `jinaclip serve`: legacy request spellings work."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from jinaclip.local.encoder import LocalEncoder
from jinaclip.server import ServerThread

ATOL = 1e-5


def test_llama_index_jinaai_embedding_gets_local_vectors(
    server: ServerThread, local_encoder: LocalEncoder, fixture_images: list[Path]
) -> None:
    from llama_index.embeddings.jinaai import JinaEmbedding

    embed = JinaEmbedding(model="jina-clip-v1", api_key="unused")
    embed._api.api_url = f"{server.base_url}/embeddings"  # it takes no base_url of its own
    texts = embed.get_text_embedding_batch(["a cat", "a dog"])  # sends encoding_type
    images = embed.get_image_embedding_batch([str(fixture_images[5])])  # sends {"bytes"}
    np.testing.assert_allclose(texts, local_encoder.embed_texts(["a cat", "a dog"]), atol=ATOL)
    np.testing.assert_allclose(images, local_encoder.embed_images([fixture_images[5]]), atol=ATOL)


def test_langchain_community_jina_embeddings_gets_local_vectors(
    server: ServerThread,
    local_encoder: LocalEncoder,
    fixture_images: list[Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.embeddings import jina

    monkeypatch.setattr(jina, "JINA_API_URL", f"{server.base_url}/embeddings")
    embed = jina.JinaEmbeddings(model_name="jina-clip-v1", jina_api_key="unused")  # type: ignore[call-arg]
    texts = embed.embed_documents(["a cat", "a dog"])
    images = embed.embed_images([str(fixture_images[0])])  # sends {"bytes"}
    np.testing.assert_allclose(texts, local_encoder.embed_texts(["a cat", "a dog"]), atol=ATOL)
    np.testing.assert_allclose(images, local_encoder.embed_images([fixture_images[0]]), atol=ATOL)

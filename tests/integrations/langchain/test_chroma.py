"""langchain-chroma end to end: texts and images in one real Chroma collection.

The tiny checkpoint's weights are random, so no test relies on meaning: a text query finds
the identical text, an image query the identical image, and a text query restricted to
images finds the image the core encoder itself ranks first (computed with numpy).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings
from langchain_chroma import Chroma

import jinaclip
from langchain_jinaclip import JinaClipEmbeddings

TEXTS = [
    "a red square on a white background",
    "two blue circles side by side",
    "a photo of a cat sleeping on a sofa",
]


@pytest.fixture
def store(lc_embed: JinaClipEmbeddings, tmp_path: Path) -> Iterator[Chroma]:
    client = chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=Settings(anonymized_telemetry=False)
    )
    store = Chroma(
        collection_name="jinaclip",
        embedding_function=lc_embed,
        client=client,
        collection_metadata={"hnsw:space": "cosine"},
    )
    yield store
    store.delete_collection()


def _fill(store: Chroma, image_paths: list[Path]) -> None:
    store.add_images(
        uris=[str(path) for path in image_paths],
        metadatas=[{"kind": "image", "name": f"image-{i}"} for i in range(len(image_paths))],
    )
    store.add_texts(
        TEXTS, metadatas=[{"kind": "text", "name": f"text-{i}"} for i in range(len(TEXTS))]
    )


def test_chroma_finds_identical_texts_and_images_and_the_top_ranked_image(
    store: Chroma, core_encoder: jinaclip.Encoder, image_paths: list[Path]
) -> None:
    _fill(store, image_paths)

    for i, text in enumerate(TEXTS):
        [found] = store.similarity_search(text, k=1)
        assert found.metadata["name"] == f"text-{i}"
        assert found.page_content == text

    for i, path in enumerate(image_paths):
        [found] = store.similarity_search_by_image(uri=str(path), k=1)
        assert found.metadata["name"] == f"image-{i}"
        assert found.page_content == base64.b64encode(path.read_bytes()).decode()

    query = TEXTS[2]
    scores = (
        core_encoder.embed_images([str(path) for path in image_paths])
        @ core_encoder.embed_texts([query]).T
    )[:, 0]
    ranked = np.argsort(-scores)
    assert scores[ranked[0]] - scores[ranked[1]] > 1e-4, "query too ambiguous for this check"
    [found] = store.similarity_search(query, k=1, filter={"kind": "image"})
    assert found.metadata["name"] == f"image-{int(ranked[0])}"


def test_chroma_stores_the_adapters_vectors_unchanged(
    store: Chroma, lc_embed: JinaClipEmbeddings, image_paths: list[Path]
) -> None:
    _fill(store, image_paths)
    stored = store.get(where={"kind": "image"}, include=["embeddings", "metadatas"])
    by_name = dict(zip((m["name"] for m in stored["metadatas"]), stored["embeddings"], strict=True))
    expected = lc_embed.embed_image([str(path) for path in image_paths])
    for i, vector in enumerate(expected):
        np.testing.assert_allclose(by_name[f"image-{i}"], vector, rtol=0, atol=1e-7)

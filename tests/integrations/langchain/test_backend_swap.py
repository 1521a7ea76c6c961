"""Swapping backends is one argument and changes no vector: local vs `jinaclip serve` via the API."""

from __future__ import annotations

from pathlib import Path

import chromadb
import numpy as np
from chromadb.config import Settings
from langchain_chroma import Chroma

from langchain_jinaclip import JinaClipEmbeddings
from tests.integrations.conftest import ServedModel

TEXTS = ["a red square", "two blue circles side by side", "a photo of a cat on a sofa"]


def _local(tiny_fixture_dir: Path) -> JinaClipEmbeddings:
    return JinaClipEmbeddings(backend="local", model=str(tiny_fixture_dir), device="cpu")


async def test_api_backend_gives_the_local_backends_vectors(
    served_tiny: ServedModel, tiny_fixture_dir: Path, image_paths: list[Path]
) -> None:
    local = _local(tiny_fixture_dir)
    api = JinaClipEmbeddings(backend="api", **served_tiny.api_kwargs())
    assert api.model_name == local.model_name
    uris = [str(path) for path in image_paths]
    pairs = [
        (api.embed_documents(TEXTS), local.embed_documents(TEXTS)),
        (await api.aembed_documents(TEXTS), local.embed_documents(TEXTS)),
        ([api.embed_query(TEXTS[0])], [local.embed_query(TEXTS[0])]),
        (api.embed_image(uris), local.embed_image(uris)),
        (await api.aembed_image(uris), local.embed_image(uris)),
    ]
    for from_api, from_local in pairs:
        np.testing.assert_allclose(from_api, from_local, rtol=0, atol=1e-6)
    api.close()
    local.close()


def test_collection_filled_locally_is_searched_through_the_api(
    served_tiny: ServedModel, tiny_fixture_dir: Path, image_paths: list[Path], tmp_path: Path
) -> None:
    client = chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=Settings(anonymized_telemetry=False)
    )
    local = _local(tiny_fixture_dir)
    filled = Chroma(collection_name="swap", embedding_function=local, client=client)
    filled.add_images(uris=[str(path) for path in image_paths])
    filled.add_texts(TEXTS)

    api = JinaClipEmbeddings(backend="api", **served_tiny.api_kwargs())
    searched = Chroma(collection_name="swap", embedding_function=api, client=client)
    assert searched.similarity_search(TEXTS[2], k=1)[0].page_content == TEXTS[2]
    for path in image_paths:
        from_api = searched.similarity_search_by_image(uri=str(path), k=3)
        from_local = filled.similarity_search_by_image(uri=str(path), k=3)
        assert [doc.id for doc in from_api] == [doc.id for doc in from_local]
    searched.delete_collection()
    api.close()
    local.close()

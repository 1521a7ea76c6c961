"""Swapping backends is one argument and changes no vector: local vs `jinaclip serve` via the API."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import numpy as np
from llama_index.core import StorageContext, load_index_from_storage
from llama_index.core.indices import MultiModalVectorStoreIndex
from llama_index.core.schema import ImageNode

from llama_index.embeddings.jinaclip import JinaClipEmbedding
from tests.integrations.conftest import ServedModel
from tests.integrations.llama_index.nodes import names, text_nodes

TEXTS = ["a red square", "two blue circles side by side", "a photo of a cat on a sofa"]


def _local(tiny_fixture_dir: Path) -> JinaClipEmbedding:
    return JinaClipEmbedding(backend="local", model=str(tiny_fixture_dir), device="cpu")


async def test_api_backend_gives_the_local_backends_vectors(
    served_tiny: ServedModel, tiny_fixture_dir: Path, image_paths: list[Path]
) -> None:
    local = _local(tiny_fixture_dir)
    api = JinaClipEmbedding(backend="api", **served_tiny.api_kwargs())
    assert api.model_name == local.model_name
    paths = [str(path) for path in image_paths]
    streams = [io.BytesIO(path.read_bytes()) for path in image_paths]
    pairs = [
        (api.get_text_embedding_batch(TEXTS), local.get_text_embedding_batch(TEXTS)),
        (await api.aget_text_embedding_batch(TEXTS), local.get_text_embedding_batch(TEXTS)),
        (api.get_image_embedding_batch(paths), local.get_image_embedding_batch(paths)),
        (await api.aget_image_embedding_batch(streams), local.get_image_embedding_batch(paths)),
    ]
    for from_api, from_local in pairs:
        np.testing.assert_allclose(from_api, from_local, rtol=0, atol=1e-6)
    api.close()
    local.close()


def test_index_built_locally_answers_queries_embedded_through_the_api(
    served_tiny: ServedModel, tiny_fixture_dir: Path, image_paths: list[Path], tmp_path: Path
) -> None:
    local = _local(tiny_fixture_dir)
    nodes = text_nodes(TEXTS)
    nodes += [
        ImageNode(image_path=str(path), id_=str(uuid.uuid4()), metadata={"name": f"image-{i}"})
        for i, path in enumerate(image_paths)
    ]
    built = MultiModalVectorStoreIndex(nodes, embed_model=local, image_embed_model=local)
    built.storage_context.persist(persist_dir=str(tmp_path))
    local_hits = built.as_retriever(similarity_top_k=1, image_similarity_top_k=2)

    api = JinaClipEmbedding(backend="api", **served_tiny.api_kwargs())
    reloaded = load_index_from_storage(
        StorageContext.from_defaults(persist_dir=str(tmp_path)),
        embed_model=api,
        image_embed_model=api,
    )
    assert isinstance(reloaded, MultiModalVectorStoreIndex)
    api_hits = reloaded.as_retriever(similarity_top_k=1, image_similarity_top_k=2)

    assert names(api_hits.text_retrieve(TEXTS[1])) == ["text-1"]
    assert names(api_hits.image_to_image_retrieve(str(image_paths[2])))[0] == "image-2"
    for query in TEXTS:
        assert names(api_hits.text_to_image_retrieve(query)) == names(
            local_hits.text_to_image_retrieve(query)
        )
    api.close()
    local.close()

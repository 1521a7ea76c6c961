"""MultiModalVectorStoreIndex end to end: JinaClipEmbedding embeds both text and image nodes.

The tiny checkpoint's weights are random, so no test relies on meaning: a text query must
find the identical text, an image query the identical image, and a text-to-image query the
image that the core encoder itself ranks first (computed independently with numpy).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from llama_index.core import StorageContext
from llama_index.core.indices import MultiModalVectorStoreIndex
from llama_index.core.schema import BaseNode, ImageNode
from llama_index.vector_stores.qdrant import QdrantVectorStore
from qdrant_client import QdrantClient

import jinaclip
from llama_index.embeddings.jinaclip import JinaClipEmbedding
from tests.integrations.llama_index.nodes import names, text_nodes

TEXTS = [
    "a red square on a white background",
    "two blue circles side by side",
    "a green triangle pointing up",
    "a photo of a cat sleeping on a sofa",
]


def _nodes(image_paths: list[Path], image_base_url: str) -> list[BaseNode]:
    """Text nodes plus image nodes in the three ways LlamaIndex carries an image.

    Ids are UUIDs (Qdrant requires them); `metadata["name"]` identifies a node and is kept
    out of what gets embedded.
    """
    nodes = text_nodes(TEXTS)
    for i, path in enumerate(image_paths):
        meta = {"name": f"image-{i}"}
        if i % 3 == 0:
            node = ImageNode(image_path=str(path), id_=str(uuid.uuid4()), metadata=meta)
        elif i % 3 == 1:
            encoded = base64.b64encode(path.read_bytes()).decode()
            node = ImageNode(image=encoded, id_=str(uuid.uuid4()), metadata=meta)
        else:
            url = f"{image_base_url}/{path.name}"
            node = ImageNode(image_url=url, id_=str(uuid.uuid4()), metadata=meta)
        nodes.append(node)
    return nodes


@pytest.fixture(
    params=[
        "simple",
        pytest.param(
            "qdrant",
            # qdrant's local mode says payload indexes are a server feature; nothing to act on
            marks=pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning"),
        ),
    ]
)
def storage_context(request: pytest.FixtureRequest) -> Iterator[StorageContext]:
    """In-memory SimpleVectorStore, or Qdrant's local mode with text and image collections."""
    if request.param == "simple":
        yield StorageContext.from_defaults()
        return
    client = QdrantClient(location=":memory:")
    yield StorageContext.from_defaults(
        vector_store=QdrantVectorStore(client=client, collection_name="texts"),
        image_store=QdrantVectorStore(client=client, collection_name="images"),
    )
    client.close()


def _expected_image_for(query: str, core_encoder: jinaclip.Encoder, image_paths: list[Path]) -> str:
    """The image the core encoder ranks first for `query`, with a clear margin."""
    text = core_encoder.embed_texts([query])
    images = core_encoder.embed_images([str(path) for path in image_paths])
    scores = (images @ text.T)[:, 0]
    order = np.argsort(-scores)
    assert scores[order[0]] - scores[order[1]] > 1e-4, "query too ambiguous for this check"
    return f"image-{int(order[0])}"


def _build(
    llama_embed: JinaClipEmbedding,
    storage_context: StorageContext,
    image_paths: list[Path],
    image_base_url: str,
    *,
    use_async: bool = False,
) -> MultiModalVectorStoreIndex:
    return MultiModalVectorStoreIndex(
        nodes=_nodes(image_paths, image_base_url),
        storage_context=storage_context,
        embed_model=llama_embed,
        image_embed_model=llama_embed,
        use_async=use_async,
    )


def test_index_retrieves_identical_text_identical_image_and_top_ranked_image(
    llama_embed: JinaClipEmbedding,
    core_encoder: jinaclip.Encoder,
    storage_context: StorageContext,
    image_paths: list[Path],
    image_base_url: str,
) -> None:
    index = _build(llama_embed, storage_context, image_paths, image_base_url)
    retriever = index.as_retriever(similarity_top_k=1, image_similarity_top_k=1)

    for i, text in enumerate(TEXTS):
        assert names(retriever.text_retrieve(text)) == [f"text-{i}"]
    for i, path in enumerate(image_paths):
        found = retriever.image_to_image_retrieve(str(path))
        assert names(found) == [f"image-{i}"]
        assert found[0].score == pytest.approx(1.0, abs=1e-4)
    query = TEXTS[3]
    expected = _expected_image_for(query, core_encoder, image_paths)
    assert names(retriever.text_to_image_retrieve(query)) == [expected]


async def test_async_index_build_and_retrieval_use_the_async_embedding_path(
    llama_embed: JinaClipEmbedding,
    core_encoder: jinaclip.Encoder,
    image_paths: list[Path],
    image_base_url: str,
) -> None:
    index = _build(
        llama_embed, StorageContext.from_defaults(), image_paths, image_base_url, use_async=True
    )
    retriever = index.as_retriever(similarity_top_k=1, image_similarity_top_k=1)

    assert names(await retriever.atext_retrieve(TEXTS[2])) == ["text-2"]
    assert names(await retriever.aimage_to_image_retrieve(str(image_paths[4]))) == ["image-4"]
    query = TEXTS[0]
    expected = _expected_image_for(query, core_encoder, image_paths)
    assert names(await retriever.atext_to_image_retrieve(query)) == [expected]

"""Semantic retrieval through LlamaIndex with the demo checkpoint (trained on coloured shapes).

Captions are paraphrases the gallery was never labelled with, and image queries are fresh
drawings of the same scenes; with 36 pictures, chance is 1/36 at rank 1 and 1/12 in the top 3.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from llama_index.core import StorageContext
from llama_index.core.indices import MultiModalVectorStoreIndex
from llama_index.core.schema import BaseNode, ImageNode
from llama_index.vector_stores.qdrant import QdrantVectorStore
from qdrant_client import QdrantClient

from jinaclip.demo import DEMO_MODEL_DIR
from llama_index.embeddings.jinaclip import JinaClipEmbedding
from tests.integrations.conftest import DemoGallery


@pytest.fixture(scope="module")
def demo_embed() -> Iterator[JinaClipEmbedding]:
    embed = JinaClipEmbedding(backend="local", model=str(DEMO_MODEL_DIR), device="cpu")
    yield embed
    embed.close()


@pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")
def test_qdrant_index_finds_pictures_by_paraphrased_caption_and_by_redrawn_picture(
    demo_embed: JinaClipEmbedding, demo_gallery: DemoGallery
) -> None:
    client = QdrantClient(location=":memory:")
    storage = StorageContext.from_defaults(
        vector_store=QdrantVectorStore(client=client, collection_name="texts"),
        image_store=QdrantVectorStore(client=client, collection_name="images"),
    )
    nodes: list[BaseNode] = [
        ImageNode(image_path=str(path), id_=str(uuid.uuid4()), metadata={"number": number})
        for number, path in enumerate(demo_gallery.images)
    ]
    index = MultiModalVectorStoreIndex(
        nodes, storage_context=storage, embed_model=demo_embed, image_embed_model=demo_embed
    )
    retriever = index.as_retriever(image_similarity_top_k=3)

    text_top3 = sum(
        number in [hit.node.metadata["number"] for hit in retriever.text_to_image_retrieve(text)]
        for number, text in enumerate(demo_gallery.captions)
    )
    image_top1 = sum(
        retriever.image_to_image_retrieve(str(path))[0].node.metadata["number"] == number
        for number, path in enumerate(demo_gallery.query_images)
    )
    count = len(demo_gallery.images)
    assert text_top3 >= 0.6 * count, f"text->image top-3: {text_top3}/{count}"
    assert image_top1 >= 0.8 * count, f"image->image top-1: {image_top1}/{count}"
    client.close()

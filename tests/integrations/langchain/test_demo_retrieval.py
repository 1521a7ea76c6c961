"""Semantic retrieval through Chroma with the demo checkpoint (trained on coloured shapes).

Captions are paraphrases the gallery was never labelled with, and image queries are fresh
drawings of the same scenes; with 36 pictures, chance is 1/36 at rank 1 and 1/12 in the top 3.
"""

from __future__ import annotations

from pathlib import Path

import chromadb
from chromadb.config import Settings
from langchain_chroma import Chroma

from jinaclip.demo import DEMO_MODEL_DIR
from langchain_jinaclip import JinaClipEmbeddings
from tests.integrations.conftest import DemoGallery


def test_chroma_finds_pictures_by_paraphrased_caption_and_by_redrawn_picture(
    demo_gallery: DemoGallery, tmp_path: Path
) -> None:
    embed = JinaClipEmbeddings(backend="local", model=str(DEMO_MODEL_DIR), device="cpu")
    client = chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=Settings(anonymized_telemetry=False)
    )
    store = Chroma(collection_name="shapes", embedding_function=embed, client=client)
    store.add_images(
        uris=[str(path) for path in demo_gallery.images],
        metadatas=[{"number": number} for number in range(len(demo_gallery.images))],
    )

    text_top3 = sum(
        number in [doc.metadata["number"] for doc in store.similarity_search(text, k=3)]
        for number, text in enumerate(demo_gallery.captions)
    )
    image_top1 = sum(
        store.similarity_search_by_image(uri=str(path), k=1)[0].metadata["number"] == number
        for number, path in enumerate(demo_gallery.query_images)
    )
    count = len(demo_gallery.images)
    assert text_top3 >= 0.6 * count, f"text->image top-3: {text_top3}/{count}"
    assert image_top1 >= 0.8 * count, f"image->image top-1: {image_top1}/{count}"
    store.delete_collection()
    embed.close()

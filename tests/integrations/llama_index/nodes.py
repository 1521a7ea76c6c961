"""Node helpers shared by the LlamaIndex tests: findable text nodes and the names of hits."""

from __future__ import annotations

import uuid

from llama_index.core.schema import BaseNode, NodeWithScore, TextNode


def text_nodes(texts: list[str]) -> list[BaseNode]:
    """One node per text, named `text-<i>` in metadata that is kept out of the embedding.

    Ids are UUIDs because Qdrant requires them.
    """
    return [
        TextNode(
            text=text,
            id_=str(uuid.uuid4()),
            metadata={"name": f"text-{i}"},
            excluded_embed_metadata_keys=["name"],
        )
        for i, text in enumerate(texts)
    ]


def names(results: list[NodeWithScore]) -> list[str]:
    """The `name` of every retrieved node, in rank order."""
    return [result.node.metadata["name"] for result in results]

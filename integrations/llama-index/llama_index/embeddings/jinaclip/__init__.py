"""jina-clip multimodal embeddings for LlamaIndex (local PyTorch or the Jina API)."""

from __future__ import annotations

from llama_index.embeddings.jinaclip.base import JinaClipEmbedding

__all__ = ["JinaClipEmbedding"]

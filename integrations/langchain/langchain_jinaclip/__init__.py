"""jina-clip text and image embeddings for LangChain (local PyTorch or the Jina API)."""

from __future__ import annotations

from langchain_jinaclip.embeddings import JinaClipEmbeddings

__all__ = ["JinaClipEmbeddings"]

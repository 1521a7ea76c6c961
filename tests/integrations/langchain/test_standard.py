"""LangChain's standard embeddings test suites, run against both backends."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from langchain_jinaclip import JinaClipEmbeddings
from tests.integrations.conftest import STUB_API_KEY
from tests.support.jina_stub_server import JinaStubServer
from tests.support.paths import TINY_FIXTURE_DIR

LOCAL_PARAMS: dict[str, Any] = {"backend": "local", "model": str(TINY_FIXTURE_DIR), "device": "cpu"}
#: Unit tests never send a request; this port is never contacted.
UNUSED_BASE_URL = "http://127.0.0.1:9"


class _JinaClipClass:
    """The class every suite below instantiates."""

    @property
    def embeddings_class(self) -> type[JinaClipEmbeddings]:
        return JinaClipEmbeddings


class TestLocalUnit(_JinaClipClass, EmbeddingsUnitTests):
    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return LOCAL_PARAMS


class TestApiUnit(_JinaClipClass, EmbeddingsUnitTests):
    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"backend": "api", "base_url": UNUSED_BASE_URL}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"JINA_API_KEY": "jina_key_from_env"},
            {"backend": "api", "base_url": UNUSED_BASE_URL},
            {"api_key": "jina_key_from_env"},
        )


class TestLocalIntegration(_JinaClipClass, EmbeddingsIntegrationTests):
    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return LOCAL_PARAMS


class TestApiIntegration(_JinaClipClass, EmbeddingsIntegrationTests):
    """The api backend against a real Jina-API server on 127.0.0.1."""

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"backend": "api", "api_key": STUB_API_KEY}

    @pytest.fixture
    def model(self, jina_stub: JinaStubServer) -> JinaClipEmbeddings:
        return self.embeddings_class(**self.embedding_model_params, base_url=jina_stub.base_url)

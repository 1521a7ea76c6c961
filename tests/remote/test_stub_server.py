"""The stub behaves as a correct Jina API, so other suites can rely on it."""

from __future__ import annotations

import base64
import json

import httpx

from tests.remote.conftest import png_bytes
from tests.support.jina_stub_server import JinaStubServer, expected_embedding


def post(server: JinaStubServer, body: object) -> httpx.Response:
    return httpx.post(f"{server.base_url}/embeddings", content=json.dumps(body), timeout=5)


def test_stub_rejects_fields_the_api_rejects(stub: JinaStubServer) -> None:
    response = post(stub, {"model": "jina-clip-v1", "input": ["a"], "encoding_format": "float"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "encoding_format"
    response = post(stub, {"model": "jina-clip-v1", "input": ["a"], "task": "retrieval.query"})
    assert response.status_code == 422
    assert post(stub, {"model": "no-such-model", "input": ["a"]}).status_code == 422


def test_stub_rejects_undecodable_images_and_oversized_requests(stub: JinaStubServer) -> None:
    junk = base64.b64encode(b"not an image").decode()
    assert post(stub, {"model": "jina-clip-v1", "input": [{"image": junk}]}).status_code == 400
    too_many = {"model": "jina-embeddings-v4", "input": ["a"] * 513}
    assert post(stub, too_many).status_code == 400


def test_stub_answers_deterministically_with_usage(stub: JinaStubServer) -> None:
    image = base64.b64encode(png_bytes(300, 100)).decode()
    body = {"model": "jina-clip-v1", "input": [{"text": "a b"}, {"image": image}]}
    first, second = post(stub, body).json(), post(stub, body).json()
    assert first == second
    assert first["usage"]["total_tokens"] == 5 + 2000
    assert [d["index"] for d in first["data"]] == [0, 1]
    assert first["data"][1]["embedding"] == [float(v) for v in expected_embedding({"image": image})]
    assert stub.attempts == 2

"""RemoteEncoder settings: keys, per-model parameters, embedding types, batching, concurrency."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from jinaclip import make_encoder as make_any_encoder
from jinaclip.encoder import Encoder
from jinaclip.errors import AuthenticationError
from jinaclip.models import ModelInfo
from jinaclip.remote.client import RemoteEncoder
from jinaclip.remote.tokens import Usage
from tests.remote.conftest import TEST_KEY, png_bytes
from tests.support.jina_stub_server import UNNORMALIZED_SCALE, JinaStubServer, expected_embedding


def sent_keys(stub: JinaStubServer) -> list[str | None]:
    return [r.headers.get("authorization") for r in stub.requests]


# ---- keys ------------------------------------------------------------------------------


def test_key_argument_wins_over_both_env_vars(
    stub: JinaStubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JINA_API_KEY", "from-jina-env")
    monkeypatch.setenv("JINAAI_API_KEY", "from-jinaai-env")
    with RemoteEncoder(base_url=stub.base_url, api_key="from-arg") as encoder:
        encoder.embed_texts(["x"])
    assert sent_keys(stub) == ["Bearer from-arg"]


def test_jina_api_key_env_wins_over_jinaai_api_key(
    stub: JinaStubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JINA_API_KEY", "from-jina-env")
    monkeypatch.setenv("JINAAI_API_KEY", "from-jinaai-env")
    with RemoteEncoder(base_url=stub.base_url) as encoder:
        encoder.embed_texts(["x"])
    monkeypatch.delenv("JINA_API_KEY")
    with RemoteEncoder(base_url=stub.base_url) as encoder:
        encoder.embed_texts(["x"])
    assert sent_keys(stub) == ["Bearer from-jina-env", "Bearer from-jinaai-env"]


def test_missing_key_for_the_official_api_fails_before_any_request() -> None:
    with pytest.raises(AuthenticationError, match="no API key") as info:
        RemoteEncoder()
    assert info.value.attempts == 0
    assert info.value.status_code is None


def test_a_local_server_may_be_used_without_a_key_and_no_header_is_sent(
    stub: JinaStubServer,
) -> None:
    with RemoteEncoder(base_url=stub.base_url) as encoder:
        encoder.embed_texts(["x"])
    assert sent_keys(stub) == [None]


def test_a_server_demanding_a_key_gets_it_and_rejects_a_wrong_one(
    make_encoder: Callable[..., RemoteEncoder],
) -> None:
    with JinaStubServer(api_key=TEST_KEY) as guarded:
        make_encoder(base_url=guarded.base_url).embed_texts(["x"])
        with pytest.raises(AuthenticationError, match="invalid or missing API key"):
            make_encoder(base_url=guarded.base_url, api_key="wrong").embed_texts(["x"])


def test_repr_and_str_never_show_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JINA_API_KEY", TEST_KEY)
    with RemoteEncoder() as encoder:
        assert TEST_KEY not in repr(encoder)
        assert TEST_KEY not in str(encoder)
        assert "**********" in repr(encoder)
        assert all(TEST_KEY not in repr(value) for value in vars(encoder).values())


# ---- per-model parameters ----------------------------------------------------------------


@pytest.mark.parametrize(("option", "value"), [("task", "retrieval.query"), ("dimensions", 256)])
def test_clip_v1_refuses_parameters_it_does_not_take(option: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"jina-clip-v1 does not take {option}="):
        RemoteEncoder(api_key="k", **{option: value})  # type: ignore[arg-type]


def test_clip_v1_request_carries_only_accepted_fields(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    make_encoder(truncate=True).embed_texts(["x"])
    body = stub.requests[0].json
    assert body == {
        "model": "jina-clip-v1",
        "input": [{"text": "x"}],
        "embedding_type": "float",
        "normalized": True,
        "truncate": True,
    }


def test_v3_sends_bare_strings_task_and_dimensions(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    encoder = make_encoder(model="jina-embeddings-v3", task="retrieval.query", dimensions=256)
    vectors = encoder.embed_texts(["what is a bridge?"])
    body = stub.requests[0].json
    assert body["input"] == ["what is a bridge?"]
    assert (body["task"], body["dimensions"]) == ("retrieval.query", 256)
    assert vectors.shape == (1, 256) == (1, encoder.dim)
    full = expected_embedding("what is a bridge?", 1024)[:256]
    np.testing.assert_allclose(vectors[0], full / np.linalg.norm(full), atol=1e-6)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"model": "jina-embeddings-v3", "task": "summarize"}, "task='summarize'"),
        ({"model": "jina-embeddings-v3", "dimensions": 4096}, "takes 32..1024"),
        ({"embedding_type": "int4"}, "embedding_type='int4'"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_invalid_settings_fail_at_construction(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RemoteEncoder(api_key="k", **options)  # type: ignore[arg-type]


def test_text_only_model_refuses_images_by_index(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    with pytest.raises(ValueError, match="input 0: jina-embeddings-v3 does not embed images"):
        make_encoder(model="jina-embeddings-v3").embed_images([png_bytes(8, 8)])
    assert stub.attempts == 0


def test_model_info_describes_an_unknown_compatible_model(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    info = ModelInfo(
        name="my-clip",
        dim=16,
        context_length=512,
        max_items_per_request=2,
        accepted_params=frozenset({"normalized"}),
        image_size=64,
    )
    with JinaStubServer(dim=16) as custom:
        encoder = make_encoder(model="ignored", model_info=info, base_url=custom.base_url)
        vectors = encoder.embed_texts(["a", "b", "c"])
        assert encoder.model_name == "my-clip"
        assert vectors.shape == (3, 16)
        first = min(custom.requests, key=lambda r: r.inputs[0]["text"])
        assert sorted(len(r.inputs) for r in custom.requests) == [1, 2]
        assert first.json == {
            "model": "my-clip",
            "input": [{"text": "a"}, {"text": "b"}],
            "normalized": True,
        }


# ---- embedding types and normalisation -----------------------------------------------------


@pytest.mark.parametrize("embedding_type", ["float", "base64"])
def test_float_types_decode_to_the_server_vectors(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder], embedding_type: str
) -> None:
    vectors = make_encoder(embedding_type=embedding_type).embed_texts(["a", "b"])
    want = np.stack([expected_embedding({"text": t}) for t in "ab"])
    np.testing.assert_allclose(vectors, want, atol=1e-6)
    assert stub.requests[0].json["embedding_type"] == embedding_type


@pytest.mark.parametrize("embedding_type", ["binary", "ubinary"])
def test_packed_types_unpack_to_plus_minus_one_signs(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder], embedding_type: str
) -> None:
    vectors = make_encoder(embedding_type=embedding_type).embed_texts(["a", "b"])
    want = np.stack([np.where(expected_embedding({"text": t}) > 0, 1.0, -1.0) for t in "ab"])
    np.testing.assert_array_equal(vectors, want.astype(np.float32))


def test_normalize_false_returns_the_server_vectors_unscaled(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    vectors = make_encoder().embed_texts(["a"], normalize=False)
    assert stub.requests[0].json["normalized"] is False
    want = expected_embedding({"text": "a"}) * UNNORMALIZED_SCALE
    np.testing.assert_allclose(vectors[0], want, rtol=1e-5)


def test_normalized_output_has_unit_norm(make_encoder: Callable[..., RemoteEncoder]) -> None:
    vectors = make_encoder().embed_texts(["a", "b", "c"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


# ---- batching, concurrency, usage, lifecycle ---------------------------------------------------


def test_batches_never_exceed_the_users_batch_size(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    texts = [f"text {i}" for i in range(5)]
    vectors = make_encoder(batch_size=2).embed_texts(texts)
    assert sorted(len(r.inputs) for r in stub.requests) == [1, 2, 2]
    want = np.stack([expected_embedding({"text": t}) for t in texts])
    np.testing.assert_allclose(vectors, want, atol=1e-6)


def test_batches_never_exceed_the_models_item_limit(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    vectors = make_encoder(batch_size=10_000).embed_texts(["w"] * 2049)
    assert sorted(len(r.inputs) for r in stub.requests) == [1, 2048]
    assert vectors.shape == (2049, 768)


def test_batches_respect_the_token_budget_and_a_big_input_goes_alone(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    big = png_bytes(500, 500)  # 9 tiles = 9000 tokens without downscaling
    encoder = make_encoder(downscale_images=False, max_batch_tokens=5000, max_concurrency=1)
    encoder.embed_mixed([("text", "a"), ("text", "b"), ("image", big), ("text", "c")])
    assert [len(r.inputs) for r in stub.requests] == [2, 1, 1]


def test_sync_concurrency_is_bounded_at_the_server() -> None:
    with JinaStubServer(latency=0.1) as slow:
        with RemoteEncoder(base_url=slow.base_url, batch_size=1, max_concurrency=3) as encoder:
            texts = [f"t{i}" for i in range(9)]
            vectors = encoder.embed_texts(texts)
        assert slow.attempts == 9
        assert slow.max_in_flight == 3
    want = np.stack([expected_embedding({"text": t}) for t in texts])
    np.testing.assert_allclose(vectors, want, atol=1e-6)


async def test_async_concurrency_is_bounded_at_the_server() -> None:
    with JinaStubServer(latency=0.1) as slow:
        encoder = RemoteEncoder(base_url=slow.base_url, batch_size=1, max_concurrency=3)
        async with encoder:
            texts = [f"t{i}" for i in range(9)]
            vectors = await encoder.aembed_texts(texts)
        assert slow.attempts == 9
        assert slow.max_in_flight == 3
    want = np.stack([expected_embedding({"text": t}) for t in texts])
    np.testing.assert_allclose(vectors, want, atol=1e-6)


def test_usage_is_summed_per_call_and_cumulatively(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    encoder = make_encoder(batch_size=1)
    encoder.embed_texts(["one two three", "four"])  # ceil(3*1.1)+2 + ceil(1.1)+2
    assert encoder.last_usage == Usage(total_tokens=10, prompt_tokens=10, requests=2)
    encoder.embed_images([png_bytes(10, 10)])
    assert encoder.last_usage == Usage(total_tokens=1000, prompt_tokens=1000, requests=1)
    assert encoder.usage == Usage(total_tokens=1010, prompt_tokens=1010, requests=3)


def test_sequential_calls_reuse_one_connection(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    encoder = make_encoder()
    for _ in range(3):
        encoder.embed_texts(["x"])
    assert len({r.client_port for r in stub.requests}) == 1


async def test_async_calls_reuse_one_connection(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    encoder = make_encoder()
    for _ in range(3):
        await encoder.aembed_texts(["x"])
    assert len({r.client_port for r in stub.requests}) == 1
    await encoder.aclose()


def test_closed_encoder_refuses_to_send(stub: JinaStubServer) -> None:
    with RemoteEncoder(base_url=stub.base_url) as encoder:
        encoder.embed_texts(["x"])
    with pytest.raises(RuntimeError):
        encoder.embed_texts(["x"])
    assert stub.attempts == 1


def test_make_encoder_builds_a_remote_encoder_satisfying_the_protocol(
    stub: JinaStubServer,
) -> None:
    encoder = make_any_encoder("api", "jinaai/jina-clip-v1", base_url=stub.base_url)
    try:
        assert isinstance(encoder, RemoteEncoder)
        assert isinstance(encoder, Encoder)
        assert (encoder.model_name, encoder.dim) == ("jina-clip-v1", 768)
    finally:
        encoder.close()

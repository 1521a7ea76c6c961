"""RemoteEncoder against a real HTTP server that misbehaves on purpose (tests/support stub)."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Callable

import httpx
import numpy as np
import pytest

from jinaclip.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    QuotaExceededError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
)
from jinaclip.remote.client import RemoteEncoder
from tests.remote.conftest import TEST_KEY, RecordedSleeps
from tests.support.jina_stub_server import JinaStubServer, Reply, expected_embedding

TEXTS = ["a red bridge", "a cat on a mat", "night sky"]


def expected(texts: list[str]) -> np.ndarray:
    return np.stack([expected_embedding({"text": t}) for t in texts])


def test_success_returns_server_vectors_in_input_order(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    vectors = make_encoder().embed_texts(TEXTS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, expected(TEXTS), atol=1e-6)
    assert stub.attempts == 1


def test_shuffled_indices_are_placed_by_index(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    stub.script(Reply(indices="shuffle"))
    vectors = make_encoder().embed_texts(TEXTS)
    np.testing.assert_allclose(vectors, expected(TEXTS), atol=1e-6)
    assert stub.attempts == 1


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("missing", "sent 3 inputs, got 2 embeddings back"),
        ("duplicate", r"missing \[2\], duplicated \[0\]"),
    ],
)
def test_missing_or_duplicate_index_raises_response_format_error_without_retry(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder], fault: str, message: str
) -> None:
    stub.script(Reply(indices=fault))  # type: ignore[arg-type]
    with pytest.raises(ResponseFormatError, match=message) as info:
        make_encoder().embed_texts(TEXTS)
    assert info.value.attempts == 1
    assert stub.attempts == 1


def test_429_with_retry_after_seconds_waits_that_long_then_succeeds(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder], sleeps: RecordedSleeps
) -> None:
    stub.script(Reply(status=429, headers={"Retry-After": "3"}, body={"detail": "slow down"}))
    vectors = make_encoder().embed_texts(TEXTS)
    np.testing.assert_allclose(vectors, expected(TEXTS), atol=1e-6)
    assert stub.attempts == 2
    assert sleeps.delays == [3.0]


def test_429_with_retry_after_http_date_waits_until_that_date(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder], sleeps: RecordedSleeps
) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    stub.script(Reply(status=429, headers={"Retry-After": when}, body={"detail": "slow down"}))
    make_encoder().embed_texts(TEXTS)
    assert stub.attempts == 2
    assert len(sleeps.delays) == 1
    assert 27.0 <= sleeps.delays[0] <= 30.0


def test_429_without_retry_after_backs_off_with_bounded_jitter_until_retries_run_out(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder], sleeps: RecordedSleeps
) -> None:
    stub.script(*[Reply(status=429, body={"detail": "Too many requests"}) for _ in range(4)])
    with pytest.raises(RateLimitError, match="Too many requests") as info:
        make_encoder(max_retries=3).embed_texts(TEXTS)
    assert info.value.attempts == 4
    assert info.value.status_code == 429
    assert stub.attempts == 4
    assert len(sleeps.delays) == 3
    for retry, delay in enumerate(sleeps.delays, start=1):
        assert 0.0 <= delay <= 0.5 * 2 ** (retry - 1)


def test_retry_after_beyond_the_total_time_budget_gives_up_at_once(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder], sleeps: RecordedSleeps
) -> None:
    stub.script(Reply(status=429, headers={"Retry-After": "3600"}, body={"detail": "quota"}))
    with pytest.raises(RateLimitError) as info:
        make_encoder().embed_texts(TEXTS)
    assert info.value.attempts == 1
    assert stub.attempts == 1
    assert sleeps.delays == []


def test_503_with_html_body_is_retried_and_reports_the_text(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    html = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
    stub.script(*[Reply(status=503, body=html, headers={"Content-Type": "text/html"})] * 3)
    with pytest.raises(ServerError, match="503 Service Temporarily Unavailable") as info:
        make_encoder(max_retries=2).embed_texts(TEXTS)
    assert info.value.attempts == 3
    assert stub.attempts == 3


def test_503_then_success_returns_the_vectors(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    stub.script(Reply(status=503, body="<html>down</html>"), Reply(status=502, body="bad gw"))
    vectors = make_encoder().embed_texts(TEXTS)
    np.testing.assert_allclose(vectors, expected(TEXTS), atol=1e-6)
    assert stub.attempts == 3


def test_dropped_connection_is_retried_then_reported_as_connection_error(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    stub.script(Reply(drop=True), Reply(drop=True))
    with pytest.raises(APIConnectionError) as info:
        make_encoder(max_retries=1).embed_texts(TEXTS)
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.status_code is None
    assert info.value.attempts == 2
    assert stub.attempts == 2


def test_dropped_connection_then_success_returns_the_vectors(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    stub.script(Reply(drop=True))
    vectors = make_encoder().embed_texts(TEXTS)
    np.testing.assert_allclose(vectors, expected(TEXTS), atol=1e-6)
    assert stub.attempts == 2


def test_slow_response_past_the_timeout_raises_timeout_error_after_retries(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    stub.script(Reply(delay=1.0), Reply(delay=1.0))
    with pytest.raises(APITimeoutError) as info:
        make_encoder(timeout=httpx.Timeout(0.2), max_retries=1).embed_texts(TEXTS)
    assert info.value.attempts == 2
    assert stub.attempts == 2


def test_unreachable_server_raises_connection_error(
    make_encoder: Callable[..., RemoteEncoder],
) -> None:
    with JinaStubServer() as gone:
        url = gone.base_url
    with pytest.raises(APIConnectionError) as info:
        make_encoder(base_url=url, max_retries=1).embed_texts(TEXTS)
    assert info.value.attempts == 2


ERROR_BODIES = [
    (401, {"detail": "Invalid API key"}, AuthenticationError, "Invalid API key"),
    (
        401,
        {"error": {"message": "Unauthorized: key revoked"}},
        AuthenticationError,
        "Unauthorized: key revoked",
    ),
    (402, {"detail": "Insufficient balance"}, QuotaExceededError, "Insufficient balance"),
    (
        402,
        {"error": {"message": "Your token balance is exhausted"}},
        QuotaExceededError,
        "Your token balance is exhausted",
    ),
    (
        422,
        {
            "detail": "Validation error",
            "errors": [
                {
                    "field": "input.0.text",
                    "message": "text too long",
                    "type": "value_error",
                    "input": "...",
                }
            ],
        },
        BadRequestError,
        "Validation error | input.0.text: text too long",
    ),
    (
        422,
        {"detail": [{"loc": ["body", "task"], "msg": "Extra inputs"}]},
        BadRequestError,
        "body.task: Extra inputs",
    ),
    (400, {"detail": "more than 2048 inputs"}, BadRequestError, "more than 2048 inputs"),
    (400, "plain text failure", BadRequestError, "plain text failure"),
]


@pytest.mark.parametrize(("status", "body", "error", "message"), ERROR_BODIES)
def test_client_errors_are_never_retried_and_carry_the_server_message(
    stub: JinaStubServer,
    make_encoder: Callable[..., RemoteEncoder],
    status: int,
    body: object,
    error: type[Exception],
    message: str,
) -> None:
    stub.script(Reply(status=status, body=body))  # type: ignore[arg-type]
    with pytest.raises(error) as info:
        make_encoder().embed_texts(TEXTS)
    assert info.value.message == message  # type: ignore[attr-defined]
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert info.value.attempts == 1  # type: ignore[attr-defined]
    assert stub.attempts == 1


def test_a_failing_batch_fails_the_whole_call_with_no_partial_result(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    encoder = make_encoder(batch_size=2, max_concurrency=1)
    stub.script(Reply(), Reply(status=422, body={"detail": "bad batch"}))
    with pytest.raises(BadRequestError, match="bad batch"):
        encoder.embed_texts(["a", "b", "c", "d", "e"])
    assert stub.attempts == 2
    assert encoder.last_usage.requests == 0
    assert encoder.usage.requests == 1  # the finished batch was billed, and the meter says so


def test_server_echoing_the_key_never_puts_it_in_the_exception(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    stub.script(Reply(status=401, body={"detail": f"key {TEST_KEY} is revoked"}))
    with pytest.raises(AuthenticationError) as info:
        make_encoder().embed_texts(TEXTS)
    assert TEST_KEY not in str(info.value)
    assert TEST_KEY not in repr(info.value)
    assert "key ********** is revoked" in info.value.message


def test_wrong_dimension_in_response_is_a_format_error(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    body = {
        "model": "jina-clip-v1",
        "usage": {"total_tokens": 3},
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
    }
    stub.script(Reply(body=body))
    with pytest.raises(ResponseFormatError, match="index 0: expected 768 dimensions, got 2"):
        make_encoder().embed_texts(["x"])


def test_zero_vector_in_response_is_an_error_not_a_silent_zero(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    body = {"data": [{"index": 0, "embedding": [0.0] * 768}], "usage": {"total_tokens": 1}}
    stub.script(Reply(body=body))
    with pytest.raises(ResponseFormatError, match="zero or non-finite norm"):
        make_encoder().embed_texts(["x"])


def test_non_json_200_is_a_format_error(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    stub.script(Reply(body="<html>captive portal</html>"))
    with pytest.raises(ResponseFormatError, match="not an embeddings response"):
        make_encoder().embed_texts(["x"])


# ---- async twins -------------------------------------------------------------------


async def test_async_retries_429_then_returns_vectors_in_order(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder], sleeps: RecordedSleeps
) -> None:
    stub.script(Reply(status=429, headers={"Retry-After": "2"}), Reply(indices="shuffle"))
    encoder = make_encoder()
    vectors = await encoder.aembed_texts(TEXTS)
    np.testing.assert_allclose(vectors, expected(TEXTS), atol=1e-6)
    assert stub.attempts == 2
    assert sleeps.delays == [2.0]
    await encoder.aclose()


async def test_async_html_503_exhausts_retries_into_server_error(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    stub.script(*[Reply(status=503, body="<html>Service Unavailable</html>")] * 2)
    with pytest.raises(ServerError, match="Service Unavailable") as info:
        await make_encoder(max_retries=1).aembed_texts(TEXTS)
    assert info.value.attempts == 2
    assert stub.attempts == 2


async def test_async_dropped_connection_and_timeout_are_typed(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    encoder = make_encoder(timeout=httpx.Timeout(0.2), max_retries=0)
    stub.script(Reply(drop=True))
    with pytest.raises(APIConnectionError) as dropped:
        await encoder.aembed_texts(TEXTS)
    assert not isinstance(dropped.value, APITimeoutError)
    stub.script(Reply(delay=1.0))
    with pytest.raises(APITimeoutError):
        await encoder.aembed_texts(TEXTS)
    assert stub.attempts == 2


async def test_async_missing_index_and_402_are_not_retried(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    encoder = make_encoder()
    stub.script(Reply(indices="missing"))
    with pytest.raises(ResponseFormatError):
        await encoder.aembed_texts(TEXTS)
    stub.script(Reply(status=402, body={"error": {"message": "balance exhausted"}}))
    with pytest.raises(QuotaExceededError, match="balance exhausted"):
        await encoder.aembed_texts(TEXTS)
    assert stub.attempts == 2


def test_retries_are_logged_without_the_key(
    stub: JinaStubServer,
    make_encoder: Callable[..., RemoteEncoder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    stub.script(Reply(status=429, headers={"Retry-After": "1"}))
    with caplog.at_level("DEBUG"):
        make_encoder().embed_texts(TEXTS)
    assert "HTTP 429" in caplog.text
    assert "retrying in 1.00 s (attempt 2 of 4)" in caplog.text
    assert TEST_KEY not in caplog.text


async def test_cancelling_an_async_call_cancels_its_batches(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    stub.script(*[Reply(delay=2.0)] * 4)
    encoder = make_encoder(batch_size=1, max_concurrency=4)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(encoder.aembed_texts(["a", "b", "c", "d"]), timeout=0.3)
    await asyncio.sleep(0)
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    await encoder.aclose()


def test_a_failing_batch_in_the_thread_pool_fails_the_call_with_its_typed_error(
    stub: JinaStubServer, make_encoder: Callable[..., RemoteEncoder]
) -> None:
    stub.script(Reply(status=401, body={"detail": "key revoked"}))
    encoder = make_encoder(batch_size=1, max_concurrency=3)
    with pytest.raises(AuthenticationError, match="key revoked"):
        encoder.embed_texts([f"t{i}" for i in range(6)])
    assert encoder.last_usage.requests == 0
    vectors = encoder.embed_texts(TEXTS)  # the encoder stays usable after a failed call
    np.testing.assert_allclose(vectors, expected(TEXTS), atol=1e-6)

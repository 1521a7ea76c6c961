"""Wire schema: error-message extraction, embedding decoding, request serialisation."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import numpy as np
import pytest
from pydantic import ValidationError

from jinaclip.remote.schema import (
    EmbeddingRequest,
    ImageDoc,
    TextDoc,
    decode_embedding,
    encode_embedding,
    error_message,
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"detail": "Invalid API key"}', "Invalid API key"),
        (
            '{"detail": "Validation error", "errors": [{"field": "input", "message": "too long"}]}',
            "Validation error | input: too long",
        ),
        ('{"errors": [{"field": "task", "type": "extra_forbidden"}]}', "task: extra_forbidden"),
        ('{"error": {"message": "balance exhausted"}}', "balance exhausted"),
        (
            '{"detail": [{"loc": ["body", "input"], "msg": "Field required"}]}',
            "body.input: Field required",
        ),
        ("<html><body>502 Bad Gateway</body></html>", "<html><body>502 Bad Gateway</body></html>"),
        ('{"unexpected": 1}', '{"unexpected": 1}'),
        ("", "(empty body)"),
    ],
)
def test_error_message_reads_detail_then_errors_then_error_message_then_text(
    body: str, message: str
) -> None:
    assert error_message(body.encode()) == message


def test_error_message_is_bounded() -> None:
    assert len(error_message("x" * 10_000)) == 500


def test_float_and_base64_decode_to_the_same_little_endian_vector() -> None:
    vector = np.array([0.5, -1.25, 3.0, 1e-8], dtype=np.float32)
    as_b64 = base64.b64encode(vector.astype("<f4").tobytes()).decode()
    np.testing.assert_array_equal(decode_embedding(as_b64, "base64", 4), vector)
    np.testing.assert_array_equal(decode_embedding(vector.tolist(), "float", 4), vector)


def test_binary_and_ubinary_unpack_msb_first_to_signs() -> None:
    # 0b10100000 -> + - + - - - - -, then 0b00000001 -> seven -, one +
    want = np.array([1, -1, 1, -1, -1, -1, -1, -1] + [-1] * 7 + [1], dtype=np.float32)
    np.testing.assert_array_equal(decode_embedding([160, 1], "ubinary", 16), want)
    np.testing.assert_array_equal(decode_embedding([-96, 1], "binary", 16), want)


@pytest.mark.parametrize("embedding_type", ["float", "base64", "binary", "ubinary"])
def test_encode_then_decode_round_trips(embedding_type: str) -> None:
    vector = np.random.default_rng(0).standard_normal(64).astype(np.float32)
    decoded = decode_embedding(encode_embedding(vector, embedding_type), embedding_type, 64)  # type: ignore[arg-type]
    if embedding_type in ("float", "base64"):
        np.testing.assert_allclose(decoded, vector, rtol=1e-6)
    else:
        np.testing.assert_array_equal(decoded, np.where(vector > 0, 1.0, -1.0))


@pytest.mark.parametrize(
    ("value", "embedding_type", "message"),
    [
        ([0.1, 0.2], "float", "expected 4 dimensions, got 2"),
        ("AAAA", "float", "expected a list of floats"),
        ("not base64!", "base64", "invalid base64"),
        (base64.b64encode(b"abc").decode(), "base64", "whole number of float32"),
        ([1.0, float("nan"), 0.0, 0.0], "float", "NaN or infinity"),
        ([300], "ubinary", r"integers in \[0, 255\]"),
        ([200], "binary", r"integers in \[-128, 127\]"),
        ([1], "binary", "expected 4 dimensions, got 8"),
    ],
)
def test_malformed_embeddings_are_rejected(
    value: object, embedding_type: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        decode_embedding(value, embedding_type, 4)  # type: ignore[arg-type]


def test_request_drops_unset_fields_and_forbids_extra_ones() -> None:
    request = EmbeddingRequest(
        model="jina-clip-v1", input=[TextDoc(text="a"), ImageDoc(image="https://x/y.png")]
    )
    assert request.to_wire() == {
        "model": "jina-clip-v1",
        "input": [{"text": "a"}, {"image": "https://x/y.png"}],
    }
    with pytest.raises(ValidationError, match="encoding_format"):
        EmbeddingRequest.model_validate({"model": "m", "input": ["a"], "encoding_format": "float"})


def test_request_parses_objects_and_bare_strings_from_json() -> None:
    body = json.loads('{"model": "m", "input": ["t", {"text": "u"}, {"image": "aGk="}]}')
    request = EmbeddingRequest.model_validate(body)
    assert request.input == ["t", TextDoc(text="u"), ImageDoc(image="aGk=")]


def test_schema_imports_without_the_http_client() -> None:
    code = "import sys, jinaclip.remote.schema; print('httpx' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"

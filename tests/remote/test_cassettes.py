"""Replay the recorded API exchanges: the client must send exactly the recorded requests and
decode the documented response and error shapes. `live` re-records against the real API."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import yaml  # type: ignore[import-untyped]

from jinaclip.errors import APIError, AuthenticationError, BadRequestError, QuotaExceededError
from jinaclip.remote.client import OFFICIAL_BASE_URL
from jinaclip.remote.schema import decode_embedding, error_message
from tests.remote.cassette_cases import (
    CASES,
    CASSETTE_DIR,
    Case,
    cassette_vcr,
    make_case_encoder,
    record,
    run_case,
)

ERRORS = {
    "error_401_detail": AuthenticationError,
    "error_422_detail_and_errors": BadRequestError,
    "error_402_error_message": QuotaExceededError,
}
KEY_LIKE = re.compile(r"(?i)authorization|bearer\s|jina_[a-z0-9]{16,}|recording-key")


def recorded_response(case: Case) -> tuple[int, bytes, dict[str, object]]:
    (interaction,) = yaml.safe_load(case.path.read_text())["interactions"]
    body = interaction["response"]["body"]["string"]
    raw = body.encode() if isinstance(body, str) else body
    return interaction["response"]["status"]["code"], raw, interaction["request"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_client_replays_the_recorded_contract(case: Case) -> None:
    status, raw, request = recorded_response(case)
    assert request["uri"] == f"{OFFICIAL_BASE_URL}/embeddings"
    recorder = cassette_vcr("none")
    with (
        make_case_encoder(case, OFFICIAL_BASE_URL, "replay-placeholder") as encoder,
        recorder.use_cassette(str(case.path)) as cassette,
    ):
        result = run_case(case, encoder)
        assert cassette.all_played
    if case.name in ERRORS:
        assert isinstance(result, ERRORS[case.name])
        assert result.status_code == status
        assert result.message == error_message(raw)
        return
    assert status == 200
    assert not isinstance(result, Exception), result
    body = json.loads(raw)
    embedding_type = case.options.get("embedding_type", "float")
    want = np.zeros((len(body["data"]), encoder.dim), dtype=np.float32)
    for item in body["data"]:
        want[item["index"]] = decode_embedding(item["embedding"], embedding_type, encoder.dim)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    np.testing.assert_allclose(result, want, atol=1e-6)
    assert encoder.last_usage.total_tokens == body["usage"]["total_tokens"]


def test_request_bodies_in_cassettes_never_carry_encoding_format_or_clip_v1_extras() -> None:
    for case in CASES:
        _, _, request = recorded_response(case)
        sent = json.loads(str(request["body"]))
        assert set(sent) <= {"model", "input", "embedding_type", "normalized", "truncate"}


def test_every_case_has_a_cassette_and_no_cassette_is_orphaned() -> None:
    assert {c.path for c in CASES} == set(CASSETTE_DIR.glob("*.yaml"))


@pytest.mark.parametrize("path", sorted(CASSETTE_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_no_cassette_contains_an_authorization_header_or_a_key(path: Path) -> None:
    text = path.read_text()
    assert KEY_LIKE.search(text) is None
    for interaction in yaml.safe_load(text)["interactions"]:
        headers = {h.lower() for h in interaction["request"]["headers"]}
        assert "authorization" not in headers


@pytest.mark.live
@pytest.mark.parametrize("case", [c for c in CASES if c.live_ok], ids=lambda c: c.name)
def test_live_rerecord_against_the_real_api(case: Case) -> None:
    key = os.environ.get("JINA_API_KEY")
    if not key:
        pytest.skip("JINA_API_KEY is not set: live re-recording needs the real API")
    result = record(case, OFFICIAL_BASE_URL, case.live_key or key)
    if case.name in ERRORS:
        assert isinstance(result, ERRORS[case.name])
    else:
        assert not isinstance(result, APIError), result
    assert KEY_LIKE.search(case.path.read_text()) is None

"""The API exchanges pinned as vcrpy cassettes in tests/remote/cassettes/, and how to record them.

Each case is one call of the client. Cassettes are recorded against the local stub server and
then rewritten to the official base URL, so replaying them pins the documented contract
(request body matched byte for byte, response shapes as documented). The Authorization,
Host and Accept-Encoding request headers are filtered out and response headers are reduced
to Content-Type.

Re-record from the stub:   uv run python -m tests.remote.cassette_cases
Re-record from the real API (cases marked `live_ok`):
    JINA_API_KEY=... uv run pytest tests/remote/test_cassettes.py -m live
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vcr

from jinaclip.remote.client import OFFICIAL_BASE_URL, RemoteEncoder
from tests.support.jina_stub_server import JinaStubServer, Reply

CASSETTE_DIR = Path(__file__).parent / "cassettes"
#: A 32x24 RGB gradient PNG, stored as text so the request body never depends on zlib.
GRADIENT_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAACAAAAAYCAIAAAAUMWhjAAAAKklEQVR4nO3NsQkAAAjAsAoO4tWe7hO6tXRPwBT8nTSvCQgI"
    "CAgICAjctPPSArxCFa1sAAAAAElFTkSuQmCC"
)
#: An image URL from Jina's own API examples; the API fetches it, the client never does.
IMAGE_URL = "https://i.ibb.co/nQNGqL0/beach1.jpg"
MATCH_ON = ("method", "scheme", "host", "port", "path", "body")


@dataclass(frozen=True)
class Case:
    """One recorded call: how to build the encoder, what to call, what the stub answers."""

    name: str
    call: Callable[[RemoteEncoder], Any]
    options: dict[str, Any] = field(default_factory=dict)
    stub_replies: tuple[Reply, ...] = ()
    live_ok: bool = True
    live_key: str | None = None

    @property
    def path(self) -> Path:
        return CASSETTE_DIR / f"{self.name}.yaml"


CASES: tuple[Case, ...] = (
    Case("float_texts", lambda e: e.embed_texts(["A blue cat", "A red cat"])),
    Case(
        "base64_texts",
        lambda e: e.embed_texts(["A blue cat", "A red cat"]),
        options={"embedding_type": "base64"},
    ),
    Case(
        "mixed_text_and_images",
        lambda e: e.embed_mixed(
            [("text", "a small gradient"), ("image", GRADIENT_PNG), ("image", IMAGE_URL)]
        ),
    ),
    Case(
        "error_401_detail",
        lambda e: e.embed_texts(["x"]),
        stub_replies=(Reply(status=401, body={"detail": "Unauthorized: invalid API key"}),),
        live_key="jina_invalid_key_for_recording",
    ),
    Case(
        "error_422_detail_and_errors",
        lambda e: e.embed_texts(["x"]),
        stub_replies=(
            Reply(
                status=422,
                body={
                    "detail": "Validation error",
                    "errors": [
                        {
                            "field": "input.0.text",
                            "message": "Input text exceeds the context length",
                            "type": "value_error",
                            "input": "x",
                        }
                    ],
                },
            ),
        ),
        live_ok=False,
    ),
    Case(
        "error_402_error_message",
        lambda e: e.embed_texts(["x"]),
        stub_replies=(
            Reply(status=402, body={"error": {"message": "Your token balance is exhausted"}}),
        ),
        live_ok=False,
    ),
)


def _keep_content_type(response: dict[str, Any]) -> dict[str, Any]:
    headers = response["headers"]
    response["headers"] = {k: v for k, v in headers.items() if k.lower() == "content-type"}
    return response


def cassette_vcr(record_mode: str) -> vcr.VCR:
    return vcr.VCR(
        record_mode=record_mode,
        match_on=MATCH_ON,
        filter_headers=["authorization", "host", "accept-encoding"],
        before_record_response=_keep_content_type,
        decode_compressed_response=True,
    )


def make_case_encoder(case: Case, base_url: str, api_key: str) -> RemoteEncoder:
    return RemoteEncoder(base_url=base_url, api_key=api_key, max_retries=0, **case.options)


def run_case(case: Case, encoder: RemoteEncoder) -> Any:
    """The call's result, or the exception it raised (error cases are part of the contract)."""
    try:
        return case.call(encoder)
    except Exception as exc:
        return exc


def record(case: Case, base_url: str, api_key: str) -> Any:
    """Record one case against `base_url`, overwriting its cassette."""
    CASSETTE_DIR.mkdir(parents=True, exist_ok=True)
    case.path.unlink(missing_ok=True)
    with (
        make_case_encoder(case, base_url, api_key) as encoder,
        cassette_vcr("all").use_cassette(str(case.path)),
    ):
        result = run_case(case, encoder)
    if base_url != OFFICIAL_BASE_URL:
        text = case.path.read_text()
        case.path.write_text(text.replace(base_url.rstrip("/"), OFFICIAL_BASE_URL))
    return result


def record_all_from_stub() -> None:
    for case in CASES:
        with JinaStubServer() as stub:
            stub.script(*case.stub_replies)
            result = record(case, stub.base_url, "stub-recording-key")
        print(f"{case.name}: {type(result).__name__}")


if __name__ == "__main__":
    record_all_from_stub()

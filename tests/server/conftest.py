"""A real `jinaclip serve` app on 127.0.0.1 around the real LocalEncoder on the tiny fixture."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from jinaclip.local.encoder import LocalEncoder
from jinaclip.models import KNOWN_MODELS, ModelInfo
from jinaclip.remote.client import RemoteEncoder
from jinaclip.server import ServeConfig, ServerThread, build_app

TINY_DIM = 96
#: jina-clip-v1 as the client sees it, but 96 wide: the tiny fixture served under the real name.
TINY_INFO: ModelInfo = replace(KNOWN_MODELS["jina-clip-v1"], dim=TINY_DIM)


@pytest.fixture(scope="session")
def local_encoder(tiny_fixture_dir: Path) -> Iterator[LocalEncoder]:
    encoder = LocalEncoder.from_pretrained(tiny_fixture_dir, device="cpu")
    yield encoder
    encoder.close()


@pytest.fixture(scope="session")
def fixture_texts(tiny_fixture_dir: Path) -> list[str]:
    texts = json.loads((tiny_fixture_dir / "inputs" / "texts.json").read_text())
    return [str(text) for text in texts][:5]


@pytest.fixture(scope="session")
def fixture_images(tiny_fixture_dir: Path) -> list[Path]:
    return sorted(p for p in (tiny_fixture_dir / "inputs").iterdir() if p.suffix != ".json")


@pytest.fixture
def start_server(
    local_encoder: LocalEncoder, tiny_fixture_dir: Path
) -> Iterator[Callable[..., ServerThread]]:
    """Start servers with `ServeConfig` overrides; every one is shut down after the test."""
    started: list[ServerThread] = []

    def start(**overrides: Any) -> ServerThread:
        config = ServeConfig(**overrides)
        app = build_app(local_encoder, str(tiny_fixture_dir), config)
        server = ServerThread(app).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def server(start_server: Callable[..., ServerThread]) -> ServerThread:
    return start_server()


@pytest.fixture
def remote() -> Iterator[Callable[..., RemoteEncoder]]:
    """RemoteEncoders for a server (no retries, so a refusal surfaces at once); closed after."""
    made: list[RemoteEncoder] = []

    def make(server: ServerThread, **options: Any) -> RemoteEncoder:
        options.setdefault("model_info", TINY_INFO)
        options.setdefault("max_retries", 0)
        encoder = RemoteEncoder(base_url=server.base_url, **options)
        made.append(encoder)
        return encoder

    yield make
    for encoder in made:
        encoder.close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the test reads responses, not logs."""


@pytest.fixture
def image_host(tiny_fixture_dir: Path) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving the fixture images; yields its root URL."""
    handler = functools.partial(_QuietHandler, directory=str(tiny_fixture_dir / "inputs"))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]
    yield f"http://{host!s}:{port}"
    httpd.shutdown()
    httpd.server_close()

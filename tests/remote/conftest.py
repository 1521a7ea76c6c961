"""Fixtures for the remote client: a real stub API on 127.0.0.1 and encoders that wait no time."""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image

from jinaclip.remote.client import RemoteEncoder, RetryPolicy
from tests.support.jina_stub_server import JinaStubServer

TEST_KEY = "jina_testkey_0123456789abcdef"


class RecordedSleeps:
    """Backoff waits, recorded instead of slept, so retry tests take no time."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def stub() -> Iterator[JinaStubServer]:
    with JinaStubServer() as server:
        yield server


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def make_encoder(
    stub: JinaStubServer, sleeps: RecordedSleeps
) -> Iterator[Callable[..., RemoteEncoder]]:
    """Build encoders against the stub; backoff is recorded, not slept; all closed afterwards."""
    made: list[RemoteEncoder] = []

    def make(**options: Any) -> RemoteEncoder:
        options.setdefault("base_url", stub.base_url)
        options.setdefault("api_key", TEST_KEY)
        options.setdefault(
            "retry",
            RetryPolicy(
                max_retries=options.pop("max_retries", 3),
                sleep=sleeps.sleep,
                async_sleep=sleeps.async_sleep,
                rng=random.Random(0),
            ),
        )
        encoder = RemoteEncoder(**options)
        made.append(encoder)
        return encoder

    yield make
    for encoder in made:
        encoder.close()


def png_bytes(width: int, height: int, color: str = "red", mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()

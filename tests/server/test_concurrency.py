"""Many clients at once: each gets exactly its own vectors, a bad one harms nobody, batches merge."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from jinaclip.local.encoder import LocalEncoder
from jinaclip.remote.client import RemoteEncoder
from jinaclip.server import ServerThread

CLIENTS = 16
ATOL = 1e-5


def client_texts(client: int, fixture_texts: list[str]) -> list[str]:
    """Different inputs (and lengths) per client, so a mix-up cannot go unnoticed."""
    return [
        f"{fixture_texts[client % len(fixture_texts)]} client {client}",
        f"number {client}" * (1 + client % 3),
    ]


def run_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    """Run `target(i)` on `count` threads released together; results (or exceptions) by i."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_concurrent_sync_clients_get_their_own_vectors_and_batches_merge(
    start_server: Callable[..., ServerThread],
    remote: Callable[..., RemoteEncoder],
    local_encoder: LocalEncoder,
    fixture_texts: list[str],
    fixture_images: list[Path],
) -> None:
    server = start_server(max_wait_ms=50.0, max_batch_size=64)
    encoders = [remote(server) for _ in range(CLIENTS)]

    def work(i: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        texts = encoders[i].embed_texts(client_texts(i, fixture_texts))
        images = encoders[i].embed_images([str(fixture_images[i % len(fixture_images)])])
        return texts, images

    results = run_threads(CLIENTS, work)
    for i, result in enumerate(results):
        assert not isinstance(result, Exception), result
        texts, images = result
        np.testing.assert_allclose(
            texts, local_encoder.embed_texts(client_texts(i, fixture_texts)), atol=ATOL
        )
        expected_image = local_encoder.embed_images([fixture_images[i % len(fixture_images)]])
        np.testing.assert_allclose(images, expected_image, atol=ATOL)
    stats = server_stats(server)
    assert stats["requests"] == 2 * CLIENTS
    assert stats["batches"] < stats["requests"]
    assert stats["max_requests_per_batch"] > 1


async def test_concurrent_async_clients_get_their_own_vectors(
    start_server: Callable[..., ServerThread],
    remote: Callable[..., RemoteEncoder],
    local_encoder: LocalEncoder,
    fixture_texts: list[str],
) -> None:
    server = start_server(max_wait_ms=50.0)
    encoder = remote(server)
    results = await asyncio.gather(
        *(encoder.aembed_texts(client_texts(i, fixture_texts)) for i in range(CLIENTS))
    )
    for i, got in enumerate(results):
        np.testing.assert_allclose(
            got, local_encoder.embed_texts(client_texts(i, fixture_texts)), atol=ATOL
        )
    stats = server_stats(server)
    assert stats["batches"] < stats["requests"] == CLIENTS
    await encoder.aclose()


def test_one_clients_bad_input_does_not_affect_concurrent_clients(
    start_server: Callable[..., ServerThread],
    remote: Callable[..., RemoteEncoder],
    local_encoder: LocalEncoder,
    fixture_texts: list[str],
) -> None:
    server = start_server(max_wait_ms=50.0)
    encoders = [remote(server) for _ in range(CLIENTS)]
    bad_image = base64.b64encode(b"GIF89a but not really a gif").decode()

    def work(i: int) -> Any:
        if i % 5 == 0:
            body = {"model": "jina-clip-v1", "input": ["fine", {"image": bad_image}]}
            return httpx.post(f"{server.base_url}/embeddings", json=body, timeout=60)
        return encoders[i].embed_texts(client_texts(i, fixture_texts))

    results = run_threads(CLIENTS, work)
    for i, result in enumerate(results):
        if i % 5 == 0:
            assert result.status_code == 400
            assert "input 1" in result.json()["detail"]
        else:
            assert not isinstance(result, Exception), result
            expected = local_encoder.embed_texts(client_texts(i, fixture_texts))
            np.testing.assert_allclose(result, expected, atol=ATOL)


def test_without_dynamic_batching_every_request_runs_alone(
    start_server: Callable[..., ServerThread],
    remote: Callable[..., RemoteEncoder],
    local_encoder: LocalEncoder,
    fixture_texts: list[str],
) -> None:
    server = start_server(dynamic_batching=False)
    encoders = [remote(server) for _ in range(8)]
    results = run_threads(8, lambda i: encoders[i].embed_texts(client_texts(i, fixture_texts)))
    for i, got in enumerate(results):
        np.testing.assert_allclose(
            got, local_encoder.embed_texts(client_texts(i, fixture_texts)), atol=ATOL
        )
    stats = server_stats(server)
    assert stats["batches"] == stats["requests"] == 8
    assert stats["max_requests_per_batch"] == 1


def server_stats(server: ServerThread) -> dict[str, Any]:
    stats: dict[str, Any] = httpx.get(f"{server.root_url}/health").json()["batching"]
    return stats

"""Ingest 10,000 texts through RemoteEncoder against a local stub API with 50 ms added latency.

Prints requests made, wall time and texts/s for several batch sizes and concurrency levels,
sync and async, side by side in one run. The stub runs in its own process (a thread per
request), but on a small machine its JSON encoding still competes with the client for CPU:
read the ratios between rows, not the absolute rates.

    uv run python -m benchmarks.bench_remote_ingest [--texts 10000] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection

import numpy as np

from jinaclip.encoder import FloatMatrix
from jinaclip.remote.client import RemoteEncoder
from tests.support.jina_stub_server import JinaStubServer

SETTINGS: tuple[tuple[int | None, int, str], ...] = (
    (None, 1, "float"),
    (None, 4, "float"),
    (256, 1, "float"),
    (256, 8, "float"),
    (256, 1, "base64"),
    (256, 8, "base64"),
    (64, 1, "base64"),
    (64, 4, "base64"),
    (64, 16, "base64"),
)


def _serve(latency: float, conn: Connection) -> None:
    with JinaStubServer(latency=latency) as stub:
        conn.send(stub.base_url)
        conn.recv()
        conn.send(stub.attempts)


@contextmanager
def stub_process(latency: float) -> Iterator[tuple[str, list[int]]]:
    """A stub API in a child process (its own GIL); yields its URL and, after, [requests]."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(latency, child), daemon=True
    )
    process.start()
    requests: list[int] = []
    try:
        yield str(parent.recv()), requests
    finally:
        parent.send("stop")
        requests.append(int(parent.recv()))
        process.join(10)


def make_texts(count: int) -> list[str]:
    words = ["bridge", "river", "night", "city", "light", "cat", "mat", "red", "blue", "sky"]
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(words, size=int(rng.integers(4, 24)))) for _ in range(count)]


def timed_ingest(encoder: RemoteEncoder, texts: list[str], path: str) -> tuple[float, FloatMatrix]:
    """Wall time of one full ingest, sync or async (the event loop's start included)."""
    start = time.perf_counter()
    if path == "sync":
        vectors = encoder.embed_texts(texts)
    else:
        vectors = asyncio.run(encoder.aembed_texts(texts))
    return time.perf_counter() - start, vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    texts = make_texts(args.texts)
    print(f"{args.texts:,} texts, stub latency {args.latency * 1000:.0f} ms per request\n")
    print("| path  | batch_size | concurrency | embedding_type | requests | wall s | texts/s |")
    print("|-------|-----------:|------------:|----------------|---------:|-------:|--------:|")
    for batch_size, concurrency, embedding_type in SETTINGS:
        for path in ("sync", "async"):
            with stub_process(args.latency) as (base_url, requests):
                encoder = RemoteEncoder(
                    base_url=base_url,
                    batch_size=batch_size,
                    max_concurrency=concurrency,
                    embedding_type=embedding_type,  # type: ignore[arg-type]
                )
                with encoder:
                    wall, vectors = timed_ingest(encoder, texts, path)
            assert vectors.shape == (len(texts), 768)
            shown = "2048 (max)" if batch_size is None else str(batch_size)
            print(
                f"| {path:<5} | {shown:>10} | {concurrency:>11} | {embedding_type:<14} "
                f"| {requests[0]:>8} | {wall:>6.2f} | {len(texts) / wall:>7,.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

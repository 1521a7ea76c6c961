"""10,000 mixed inputs (texts and a few images) through four Jina API clients, one stub server.

The server is the scriptable stub API from tests/support, with 50 ms added to every request,
in its own process. It accepts what the real API accepts, older spellings included
(`encoding_type`, `{"url"}`, `{"bytes"}`), so every client is judged on its own behaviour.
For each client: HTTP requests made, wall time, whether the call failed, and whether the text
vectors it returned are the ones the server sent (placed by index).

    uv run python -m benchmarks.bench_api_clients [--texts 9990] [--images 10] [--latency 0.05]

How each client was pointed at the local server (none of this touches the network):
- ours: `RemoteEncoder(base_url=...)`.
- langchain-community `JinaEmbeddings`: no base-URL option; the module constant
  `langchain_community.embeddings.jina.JINA_API_URL` is read at call time and is patched.
- llama-index-embeddings-jinaai `JinaEmbedding`: its `_JinaAPICaller` takes `base_url`, but
  `JinaEmbedding.__init__` does not pass it on; the private `_api.api_url` is set after
  construction.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from jinaclip.remote.client import MixedInput, RemoteEncoder
from tests.support.jina_stub_server import JinaStubServer, expected_embedding
from tests.support.paths import TINY_FIXTURE_DIR

KEY = "bench-key"
DIM = 768


class LegacyTolerantStub(JinaStubServer):
    """The stub, also taking the older spellings the real API accepts from older clients."""

    def correct_response(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            payload = json.loads(body)
        except ValueError:
            return super().correct_response(body)
        if isinstance(payload, dict):
            if "encoding_type" in payload:
                payload.setdefault("embedding_type", payload.pop("encoding_type"))
            inputs = payload.get("input")
            if isinstance(inputs, list):
                payload["input"] = [_modern(item) for item in inputs]
        return super().correct_response(json.dumps(payload).encode())


def _modern(item: Any) -> Any:
    if isinstance(item, dict) and len(item) == 1:
        key, value = next(iter(item.items()))
        if key in ("url", "bytes"):
            return {"image": value}
    return item


def _serve(latency: float, conn: Connection) -> None:
    with LegacyTolerantStub(latency=latency) as stub:
        conn.send(stub.base_url)
        while conn.recv() == "count":
            conn.send(stub.attempts)


@contextmanager
def stub_process(latency: float) -> Iterator[tuple[str, Callable[[], int]]]:
    """The stub in a child process (its own GIL); yields its URL and a request counter."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve, args=(latency, child), daemon=True)
    process.start()
    base_url = parent.recv()

    def count() -> int:
        parent.send("count")
        attempts: int = parent.recv()
        return attempts

    try:
        yield base_url, count
    finally:
        parent.send("stop")
        process.join(timeout=10)


@dataclass
class Outcome:
    client: str
    requests: int
    wall_s: float
    failure: str
    texts_correct: str


def _texts_ok(vectors: Any, texts: list[str]) -> str:
    if vectors is None:
        return "-"
    got = np.asarray(vectors, dtype=np.float32)
    expected = np.stack([expected_embedding(text, DIM) for text in texts])
    if got.shape != expected.shape:
        return f"no (shape {got.shape})"
    return "yes" if np.allclose(got, expected, atol=1e-5) else "no"


def run_client(
    name: str, count: Callable[[], int], call: Callable[[], Any], texts: list[str]
) -> Outcome:
    before = count()
    started = time.perf_counter()
    failure = ""
    text_vectors = None
    try:
        text_vectors = call()
    except Exception as exc:
        failure = f"{type(exc).__name__}: {str(exc)[:70]}"
    wall = time.perf_counter() - started
    return Outcome(name, count() - before, wall, failure or "none", _texts_ok(text_vectors, texts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=9990)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()

    texts = [f"document {i}: a short passage about item number {i}" for i in range(args.texts)]
    image_files = sorted(p for p in (TINY_FIXTURE_DIR / "inputs").iterdir() if p.suffix != ".json")
    images = [str(image_files[i % len(image_files)]) for i in range(args.images)]
    mixed: list[MixedInput] = [("text", t) for t in texts] + [("image", p) for p in images]

    outcomes: list[Outcome] = []
    with stub_process(args.latency) as (base_url, count):

        def ours(embedding_type: str = "float") -> Callable[[], Any]:
            def call() -> Any:
                with RemoteEncoder(
                    base_url=base_url,
                    api_key=KEY,
                    embedding_type=embedding_type,  # type: ignore[arg-type]
                ) as encoder:
                    return encoder.embed_mixed(mixed)[: len(texts)]

            return call

        def ours_async() -> Any:
            async def go() -> Any:
                async with RemoteEncoder(base_url=base_url, api_key=KEY) as encoder:
                    return (await encoder.aembed_mixed(mixed))[: len(texts)]

            return asyncio.run(go())

        outcomes.append(run_client("jinaclip RemoteEncoder (sync)", count, ours(), texts))
        outcomes.append(run_client("jinaclip RemoteEncoder (async)", count, ours_async, texts))
        outcomes.append(
            run_client("jinaclip RemoteEncoder (sync, base64)", count, ours("base64"), texts)
        )

        from langchain_community.embeddings import jina as lc_jina

        lc_jina.JINA_API_URL = f"{base_url}/embeddings"
        langchain = lc_jina.JinaEmbeddings(model_name="jina-clip-v1", jina_api_key=KEY)  # type: ignore[call-arg]

        def lc_call() -> Any:
            vectors = langchain.embed_documents(texts)
            langchain.embed_images(images)
            return vectors

        def lc_chunked() -> Any:
            vectors = []
            for start in range(0, len(texts), 2048):
                vectors += langchain.embed_documents(texts[start : start + 2048])
            langchain.embed_images(images)
            return vectors

        outcomes.append(run_client("langchain-community JinaEmbeddings", count, lc_call, texts))
        outcomes.append(
            run_client("langchain-community (caller chunks by 2048)", count, lc_chunked, texts)
        )

        from llama_index.embeddings.jinaai import JinaEmbedding

        def llama(batch_size: int | None = None) -> Any:
            options = {"embed_batch_size": batch_size} if batch_size else {}
            embed = JinaEmbedding(model="jina-clip-v1", api_key=KEY, **options)
            embed._api.api_url = f"{base_url}/embeddings"
            return embed

        def li_call(batch_size: int | None = None) -> Callable[[], Any]:
            def call() -> Any:
                embed = llama(batch_size)
                vectors = embed.get_text_embedding_batch(texts)
                embed.get_image_embedding_batch(images)
                return vectors

            return call

        def li_async() -> Any:
            async def go() -> Any:
                embed = llama()
                vectors = await embed.aget_text_embedding_batch(texts)
                await embed.aget_image_embedding_batch(images)
                return vectors

            return asyncio.run(go())

        outcomes.append(
            run_client("llama-index JinaEmbedding (default batch 10)", count, li_call(), texts)
        )
        outcomes.append(
            run_client("llama-index JinaEmbedding (async, batch 10)", count, li_async, texts)
        )
        outcomes.append(
            run_client("llama-index JinaEmbedding (batch 2048)", count, li_call(2048), texts)
        )

    print(
        f"\n{args.texts} texts + {args.images} images, stub API with {args.latency * 1000:.0f} ms "
        f"latency per request, {DIM}-d vectors\n"
    )
    header = f"| {'client':44} | requests | wall s | texts right | failure |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for o in outcomes:
        print(
            f"| {o.client:44} | {o.requests:8d} | {o.wall_s:6.2f} | {o.texts_correct:11} | "
            f"{o.failure} |"
        )


if __name__ == "__main__":
    main()

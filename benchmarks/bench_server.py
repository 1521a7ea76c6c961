"""`jinaclip serve` under load: requests/s and p50/p99 latency, with and without dynamic batching.

The server runs as `jinaclip serve` in a subprocess on 127.0.0.1 (its own interpreter, as in
production); N asyncio clients (one connection each) send one-text requests back to
back for a fixed time (aiohttp). Every configuration runs in the same invocation, so the rows compare
on the same machine and load. The client shares the CPU with the server: on a small machine
read the ratios between rows, not the absolute rates.

    uv run python -m benchmarks.bench_server [--seconds 8] [--concurrency 8 64]
    uv run python -m benchmarks.bench_server --random-model base-half   # a bigger random model

`--random-model` writes a randomly initialised jina-clip-shaped checkpoint (the tiny fixture's
tokenizer, bigger towers) to a temporary directory: timings only, the vectors mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from tests.support.paths import TINY_FIXTURE_DIR

#: (text hidden, text layers, text heads, vision width, vision layers) of the random models.
RANDOM_MODELS: dict[str, tuple[int, int, int, int, int]] = {
    "base-half": (384, 6, 12, 384, 6),
    "base": (768, 12, 12, 768, 12),
}


def write_random_model(kind: str, directory: Path) -> Path:
    """A random checkpoint of the `kind` sizes, loadable by LocalEncoder."""
    from jinaclip.local.config import load_config
    from jinaclip.local.model import build_model, save_checkpoint

    hidden, layers, heads, width, vision_layers = RANDOM_MODELS[kind]
    raw = json.loads((TINY_FIXTURE_DIR / "config.json").read_text())
    raw["projection_dim"] = hidden
    text = raw["text_config"]
    text["embed_dim"] = hidden
    text["hf_model_config_kwargs"].update(
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden,
    )
    vision = raw["vision_config"]
    vision.update(embed_dim=width, width=width, layers=vision_layers, head_width=64)
    (directory / "config.json").write_text(json.dumps(raw))
    config = load_config(directory, name=f"random-{kind}")
    save_checkpoint(build_model(config).eval(), config, directory, TINY_FIXTURE_DIR)
    return directory


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(model: Path, *options: str) -> Iterator[str]:
    """`jinaclip serve` in a subprocess; yields its root URL once /health answers."""
    port = free_port()
    script = Path(sys.executable).with_name("jinaclip")
    command = [str(script), "serve", "--model", str(model), "--port", str(port)]
    command += ["--device", "cpu", "--log-level", "warning", *options]
    env = {key: value for key, value in os.environ.items() if key != "JINACLIP_SERVE_API_KEY"}
    process = subprocess.Popen(command, env=env)
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}")
            try:
                httpx.get(f"{root}/health").raise_for_status()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise TimeoutError("server did not start") from None
                time.sleep(0.25)
        yield root
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


@dataclass
class Row:
    batching: str
    clients: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    per_batch: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


async def load(
    root: str, clients: int, seconds: float, inputs: int
) -> tuple[list[float], int, float]:
    """`clients` workers posting back to back for `seconds`; latencies (s), errors, elapsed.

    aiohttp, not httpx: at 64 connections httpx's async pool, not the server, was the limit
    (about 100 req/s where aiohttp drives the same server past 1,000).
    """
    import aiohttp

    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(worker_id: int, stop_at: float, record: bool) -> None:
            nonlocal errors
            n = 0
            while time.perf_counter() < stop_at:
                text = [f"client {worker_id} query {n}: a photo of a cat on a mat"] * inputs
                body = {"model": "jina-clip-v1", "input": text}
                started = time.perf_counter()
                async with session.post(f"{root}/v1/embeddings", json=body) as response:
                    await response.read()
                    status = response.status
                if record:
                    latencies.append(time.perf_counter() - started)
                    errors += status != 200
                n += 1

        warm_until = time.perf_counter() + 1.0
        await asyncio.gather(*(worker(i, warm_until, False) for i in range(clients)))
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(*(worker(i, stop_at, True) for i in range(clients)))
        elapsed = time.perf_counter() - started
    return latencies, errors, elapsed


def batching_counts(root: str) -> tuple[int, int]:
    stats: dict[str, Any] = httpx.get(f"{root}/health").json()["batching"]
    return int(stats["requests"]), int(stats["batches"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=TINY_FIXTURE_DIR)
    parser.add_argument("--random-model", choices=sorted(RANDOM_MODELS), default=None)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--inputs-per-request", type=int, default=1)
    parser.add_argument("--max-batch-size", type=int, default=64)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        model = args.model
        if args.random_model:
            model = write_random_model(args.random_model, Path(scratch))
        rows: list[Row] = []
        modes = {
            "on": [
                "--max-batch-size",
                str(args.max_batch_size),
                "--max-wait-ms",
                str(args.max_wait_ms),
            ],
            "off": ["--no-dynamic-batching"],
        }
        for mode, options in modes.items():
            with served(model, *options) as root:
                for clients in args.concurrency:
                    before = batching_counts(root)
                    latencies, errors, elapsed = asyncio.run(
                        load(root, clients, args.seconds, args.inputs_per_request)
                    )
                    after = batching_counts(root)
                    merged = (after[0] - before[0]) / max(1, after[1] - before[1])
                    ms = np.asarray(latencies) * 1000.0
                    rows.append(
                        Row(
                            mode,
                            clients,
                            len(latencies),
                            errors,
                            elapsed,
                            float(np.percentile(ms, 50)),
                            float(np.percentile(ms, 99)),
                            merged,
                        )
                    )

    name = f"random {args.random_model}" if args.random_model else Path(model).name
    print(
        f"\nmodel {name}, {args.inputs_per_request} text(s) per request, {args.seconds:.0f} s per "
        f"row, {os.cpu_count()} CPUs, torch on CPU\n"
    )
    print("| batching | clients | requests | errors | req/s | p50 ms | p99 ms | requests/batch |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r.batching} | {r.clients} | {r.requests} | {r.errors} | {r.rate:.1f} | "
            f"{r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.per_batch:.1f} |"
        )


if __name__ == "__main__":
    main()

"""`jinaclip serve` as a user starts it: the console script in a subprocess, real sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

from jinaclip.local.encoder import LocalEncoder
from jinaclip.remote.client import RemoteEncoder
from jinaclip.server.cli import API_KEY_ENV
from tests.server.conftest import TINY_INFO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_command_answers_remote_encoder_with_local_vectors(
    tiny_fixture_dir: Path, local_encoder: LocalEncoder
) -> None:
    port = free_port()
    script = Path(sys.executable).with_name("jinaclip")
    env = {**os.environ, API_KEY_ENV: "cli-key"}
    command = [
        str(script),
        "serve",
        "--model",
        str(tiny_fixture_dir),
        "--port",
        str(port),
        "--device",
        "cpu",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.communicate()[0].decode()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health").json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.25)
        assert (health["model"], health["dim"], health["device"]) == ("jina-clip-v1", 96, "cpu")
        base_url = f"http://127.0.0.1:{port}/v1"
        with RemoteEncoder(base_url=base_url, api_key="cli-key", model_info=TINY_INFO) as remote:
            got = remote.embed_texts(["a photo of a cat"])
        np.testing.assert_allclose(got, local_encoder.embed_texts(["a photo of a cat"]), atol=1e-5)
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output

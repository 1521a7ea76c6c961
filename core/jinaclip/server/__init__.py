"""`jinaclip serve`: a local model behind a Jina-API-compatible HTTP endpoint (the `serve` extra).

`create_app` builds the Starlette app around any `Encoder`; `serve` loads a local model and
runs it with uvicorn; `ServerThread` runs an app in the background (tests, benchmarks).

    jinaclip serve --model jinaai/jina-clip-v1 --port 8080 --api-key "$KEY"
    RemoteEncoder(base_url="http://127.0.0.1:8080/v1", api_key=KEY).embed_texts(["a cat"])

Image URLs in requests are fetched only from public addresses unless `--allow-private-urls`;
`GET /health` reports the model, its width, the device and the batching counters.
"""

from __future__ import annotations

from jinaclip.server.app import ServeConfig, create_app
from jinaclip.server.batching import DynamicBatcher
from jinaclip.server.launch import build_app, serve
from jinaclip.server.runner import ServerThread

__all__ = ["DynamicBatcher", "ServeConfig", "ServerThread", "build_app", "create_app", "serve"]

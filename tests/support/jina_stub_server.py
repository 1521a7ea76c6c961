"""A real HTTP server on 127.0.0.1 that speaks the Jina Embeddings API, for tests and benchmarks.

By default it is a *correct* API: `POST /v1/embeddings` validates the body with
`jinaclip.remote.schema.EmbeddingRequest` (extra fields such as `encoding_format` are a 422,
as are parameters the model does not take), then answers every input with a deterministic
unit vector derived from the input (`expected_embedding`), in the requested
`embedding_type`, with `usage` counted by the published rules. Tests can script faults.

Usage::

    with JinaStubServer() as server:          # or JinaStubServer(latency=0.05)
        enc = RemoteEncoder(base_url=server.base_url, api_key="k")
        server.script(Reply(status=429, headers={"Retry-After": "0"}), Reply())
        enc.embed_texts(["a"])
        server.requests        # every request received: RecordedRequest(headers, body, json)
        server.max_in_flight   # most requests handled at the same time

`Reply` fields: `status`, `headers`, `body` (dict/list -> JSON, str/bytes as is; None -> the
correct response), `delay` (seconds before answering), `drop` (close the connection without
answering), `indices` ("shuffle" | "missing" | "duplicate": tamper with a correct response).
Scripted replies are used in arrival order; once they run out the server answers correctly.
Vectors have the model's width; `dim=` overrides it and lets unknown model names through.
A request's `dimensions` truncates and renormalises, as Matryoshka models do.
`JinaStubServer(api_key="k")` also demands `Authorization: Bearer k` (401 otherwise).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import random
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

import numpy as np
from PIL import Image
from pydantic import ValidationError

from jinaclip.models import KNOWN_MODELS
from jinaclip.remote.schema import EmbeddingRequest, ImageDoc, TextDoc, encode_embedding
from jinaclip.remote.tokens import ImageSize, estimate_image_tokens, estimate_text_tokens

#: Factor applied to vectors when the request says `normalized: false`, so tests can tell.
UNNORMALIZED_SCALE = 2.5


@dataclass
class Reply:
    """One scripted answer (see the module docstring)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | list[Any] | str | bytes | None = None
    delay: float = 0.0
    drop: bool = False
    indices: Literal["shuffle", "missing", "duplicate"] | None = None


@dataclass
class RecordedRequest:
    """What the server received (and from which client port), before any fault was applied."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int = 0

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def inputs(self) -> list[Any]:
        return list(self.json["input"])

    def image_bytes(self) -> list[bytes]:
        """Decoded bytes of every base64 image input, in request order."""
        return [
            base64.b64decode(item["image"])
            for item in self.inputs
            if isinstance(item, dict) and "image" in item and not _is_url(item["image"])
        ]


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _seed_bytes(item: str | TextDoc | ImageDoc | dict[str, Any]) -> bytes:
    if isinstance(item, dict):
        item = ImageDoc(image=item["image"]) if "image" in item else TextDoc(text=item["text"])
    if isinstance(item, str):
        return b"text:" + item.encode()
    if isinstance(item, TextDoc):
        return b"text:" + item.text.encode()
    if _is_url(item.image):
        return b"url:" + item.image.encode()
    return b"image:" + base64.b64decode(item.image)


def expected_embedding(
    item: str | TextDoc | ImageDoc | dict[str, Any], dim: int = 768
) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The unit vector the stub returns for one wire input (text and image bytes hash apart)."""
    seed = int.from_bytes(hashlib.sha256(_seed_bytes(item)).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(dim)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


class _BadInput(Exception):
    pass


def _usage_for(item: str | TextDoc | ImageDoc, model: str) -> int:
    if isinstance(item, str):
        return estimate_text_tokens(item)
    if isinstance(item, TextDoc):
        return estimate_text_tokens(item.text)
    info = KNOWN_MODELS.get(model)
    if info is None:
        return 0
    if _is_url(item.image):
        return estimate_image_tokens(None, info)
    try:
        with Image.open(io.BytesIO(base64.b64decode(item.image, validate=True))) as image:
            return estimate_image_tokens(ImageSize(image.width, image.height), info)
    except (OSError, ValueError, binascii.Error) as exc:
        raise _BadInput(f"image is not a decodable image: {exc}") from exc


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops SYNs when many clients connect at once, and the kernel's
    # 1 s SYN retry then shows up as a phantom latency spike.
    request_queue_size = 256


class JinaStubServer:
    """A threaded HTTP server on 127.0.0.1 behaving as the Jina Embeddings API (module docstring)."""

    def __init__(
        self,
        *,
        dim: int | None = None,
        latency: float = 0.0,
        api_key: str | None = None,
        seed: int = 0,
    ) -> None:
        self.dim = dim
        self.latency = latency
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self._rng = random.Random(seed)
        self._httpd = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def attempts(self) -> int:
        """Number of embedding requests received."""
        return len(self.requests)

    def script(self, *replies: Reply) -> None:
        """Queue answers for the next requests, in arrival order."""
        with self._lock:
            self._script.extend(replies)

    def start(self) -> JinaStubServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> JinaStubServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else Reply()

    def correct_response(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """What a correct API answers to this request body: (status, JSON body)."""
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, {"detail": "request body is not JSON"}
        try:
            request = EmbeddingRequest.model_validate(payload)
        except ValidationError as exc:
            errors = [
                {
                    "field": ".".join(str(p) for p in e["loc"]),
                    "message": e["msg"],
                    "type": e["type"],
                }
                for e in exc.errors()
            ]
            return 422, {"detail": "Validation error", "errors": errors}
        info = KNOWN_MODELS.get(request.model)
        if info is None and self.dim is None:
            return 422, {"detail": f"Model {request.model!r} not found"}
        if info is not None:
            extra = [
                name
                for name in ("task", "dimensions", "late_chunking")
                if getattr(request, name) is not None and not info.accepts(name)
            ]
            if extra:
                return 422, {"detail": f"{request.model} does not accept {', '.join(extra)}"}
            if len(request.input) > info.max_items_per_request:
                return 400, {"detail": f"at most {info.max_items_per_request} inputs per request"}
        full_dim = self.dim or (info.dim if info is not None else 0)
        dim = request.dimensions or full_dim
        try:
            tokens = sum(_usage_for(item, request.model) for item in request.input)
        except _BadInput as exc:
            return 400, {"detail": str(exc)}
        embedding_type = request.embedding_type or "float"
        data = []
        for index, item in enumerate(request.input):
            vector = expected_embedding(item, full_dim)[:dim]
            vector = vector / np.linalg.norm(vector)
            if request.normalized is False:
                vector = vector * UNNORMALIZED_SCALE
            data.append(
                {
                    "object": "embedding",
                    "index": index,
                    "embedding": encode_embedding(vector, embedding_type),
                }
            )
        usage = {"total_tokens": tokens, "prompt_tokens": tokens}
        return 200, {"model": request.model, "object": "list", "usage": usage, "data": data}

    def _tamper(self, body: dict[str, Any], how: str) -> dict[str, Any]:
        data = list(body["data"])
        if how == "shuffle":
            while len(data) > 1 and [d["index"] for d in data] == sorted(d["index"] for d in data):
                self._rng.shuffle(data)
        elif how == "missing":
            data = data[:-1]
        elif how == "duplicate":
            data = [*data[:-1], {**data[-1], "index": data[0]["index"]}]
        return {**body, "data": data}

    def _answer(self, request: RecordedRequest) -> tuple[Reply, int, dict[str, str], bytes | None]:
        reply = self._next_reply()
        if reply.drop:
            return reply, 0, {}, None
        if self.api_key is not None and request.headers.get("authorization") != (
            f"Bearer {self.api_key}"
        ):
            status, body_obj = 401, {"detail": "Unauthorized: invalid or missing API key"}
            return reply, status, {}, json.dumps(body_obj).encode()
        if reply.body is None and reply.status == 200:
            status, body_obj = self.correct_response(request.body)
            if status == 200 and reply.indices is not None:
                body_obj = self._tamper(body_obj, reply.indices)
            return reply, status, dict(reply.headers), json.dumps(body_obj).encode()
        body = reply.body
        headers = dict(reply.headers)
        if isinstance(body, dict | list):
            raw = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            raw = body.encode()
        else:
            raw = body or b""
        return reply, reply.status, headers, raw

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read `server.requests`, not the log."""

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/embeddings":
                    self._send(404, {"Content-Type": "application/json"}, b'{"detail":"Not Found"}')
                    return
                recorded = RecordedRequest(
                    "POST",
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    client_port=self.client_address[1],
                )
                with server._lock:
                    server.requests.append(recorded)
                    server._in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server._in_flight)
                try:
                    reply, status, headers, raw = server._answer(recorded)
                    time.sleep(server.latency + reply.delay)
                    if raw is None:
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    headers.setdefault("Content-Type", "application/json")
                    self._send(status, headers, raw)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    self.close_connection = True
                finally:
                    with server._lock:
                        server._in_flight -= 1

            def _send(self, status: int, headers: dict[str, str], raw: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler

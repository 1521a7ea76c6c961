"""Fixtures shared by the adapter tests: fixture images over HTTP, the backends, local servers."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import jinaclip
from jinaclip.models import ModelInfo, get_model_info
from jinaclip.server import ServeConfig, ServerThread, build_app
from tests.support.jina_stub_server import JinaStubServer

STUB_API_KEY = "jina_stub_key_0123456789abcdef"
#: Not the seed the demo model was trained or demonstrated on.
DEMO_GALLERY_SEED = 101
IMAGE_NAMES = (
    "rgb_300x200.png",
    "rgb_224x224.png",
    "rgb_90x400.png",
    "rgba_160x160.png",
    "gray_L_200x260.png",
    "photo_307x300.jpg",
)


def assert_same_vectors(actual: list[list[float]], expected: np.ndarray) -> None:
    """An adapter's output is plain Python floats, equal to the core encoder's float32 rows."""
    assert all(type(value) is float for row in actual for value in row)
    matrix = np.asarray(actual, dtype=np.float32)
    np.testing.assert_array_equal(matrix, expected)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)


@pytest.fixture(scope="session")
def image_paths(tiny_fixture_dir: Path) -> list[Path]:
    """The six fixture images: different sizes, modes and formats, all distinct pictures."""
    return [tiny_fixture_dir / "inputs" / name for name in IMAGE_NAMES]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean."""


@pytest.fixture(scope="session")
def image_base_url(tiny_fixture_dir: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving the fixture images (for URL inputs)."""
    handler = partial(_QuietHandler, directory=str(tiny_fixture_dir / "inputs"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def jina_stub() -> Iterator[JinaStubServer]:
    """A real Jina-API server on 127.0.0.1 that insists on `STUB_API_KEY`."""
    with JinaStubServer(api_key=STUB_API_KEY) as server:
        yield server


@pytest.fixture(scope="module", params=["local", "api"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every adapter test runs once per backend."""
    return str(request.param)


@pytest.fixture(scope="module")
def backend_kwargs(
    backend: str, tiny_fixture_dir: Path, request: pytest.FixtureRequest
) -> dict[str, Any]:
    """Arguments for `make_encoder` and both adapters: the tiny checkpoint on CPU, or the
    API at a local stub server (started only when the api backend is tested)."""
    if backend == "local":
        return {"model": str(tiny_fixture_dir), "device": "cpu"}
    stub: JinaStubServer = request.getfixturevalue("jina_stub")
    return {"model": "jina-clip-v1", "base_url": stub.base_url, "api_key": STUB_API_KEY}


@pytest.fixture(scope="module")
def core_encoder(backend: str, backend_kwargs: dict[str, Any]) -> Iterator[jinaclip.Encoder]:
    """The backend's core encoder, built apart from the adapter's own, to compare against."""
    encoder = jinaclip.make_encoder(backend, **backend_kwargs)
    yield encoder
    encoder.close()


@dataclass(frozen=True)
class ServedModel:
    """A `jinaclip serve` app on 127.0.0.1 running the tiny checkpoint, and how to reach it."""

    base_url: str
    info: ModelInfo

    def api_kwargs(self) -> dict[str, Any]:
        """Adapter arguments for `backend="api"` that reach this server."""
        return {
            "model": self.info.name,
            "base_url": self.base_url,
            "backend_options": {"model_info": self.info},
        }


@pytest.fixture(scope="module")
def served_tiny(tiny_fixture_dir: Path) -> Iterator[ServedModel]:
    """The tiny checkpoint behind the real `jinaclip serve` app, so the api backend returns
    the same model's vectors as the local backend."""
    encoder = jinaclip.LocalEncoder.from_pretrained(str(tiny_fixture_dir), device="cpu")
    info = replace(get_model_info("jina-clip-v1"), name="jina-clip-v1-tiny", dim=encoder.dim)
    config = ServeConfig(served_model_name=info.name, model_info=info)
    with ServerThread(build_app(encoder, str(tiny_fixture_dir), config)) as server:
        yield ServedModel(server.base_url, info)
    encoder.close()


@dataclass(frozen=True)
class DemoGallery:
    """Held-out pictures of the demo model's world, with paraphrased captions and re-drawn
    pictures of the same scenes as queries; exactly one gallery picture answers each query."""

    images: list[Path]
    captions: list[str]
    query_images: list[Path]


@pytest.fixture(scope="session")
def demo_gallery(tmp_path_factory: pytest.TempPathFactory) -> DemoGallery:
    from jinaclip.demo import synthetic

    folder = tmp_path_factory.mktemp("demo-gallery")
    examples = synthetic.gallery(DEMO_GALLERY_SEED)
    caption_rng = random.Random(DEMO_GALLERY_SEED + 1)
    render_rng = random.Random(DEMO_GALLERY_SEED + 2)
    images, queries = [], []
    for number, example in enumerate(examples):
        images.append(folder / f"gallery-{number:02d}.png")
        example.image.save(images[-1])
        queries.append(folder / f"query-{number:02d}.png")
        synthetic.render(example.scene, render_rng).save(queries[-1])
    return DemoGallery(
        images=images,
        captions=[synthetic.caption(example.scene, caption_rng) for example in examples],
        query_images=queries,
    )

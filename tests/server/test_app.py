"""`jinaclip serve` over real sockets: RemoteEncoder and raw HTTP against the tiny fixture model."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from jinaclip.errors import AuthenticationError, BadRequestError
from jinaclip.images import ImageLimits
from jinaclip.local.encoder import LocalEncoder
from jinaclip.remote.client import RemoteEncoder
from jinaclip.server import ServerThread
from tests.server.conftest import TINY_DIM, TINY_INFO

ATOL = 1e-5


def post(server: ServerThread, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(f"{server.base_url}/embeddings", json=body, headers=headers, timeout=60)


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def vectors(response: httpx.Response) -> np.ndarray[Any, np.dtype[np.float32]]:
    data = sorted(response.json()["data"], key=lambda item: item["index"])
    return np.asarray([item["embedding"] for item in data], dtype=np.float32)


def test_texts_through_remote_encoder_equal_local_vectors(
    server: ServerThread,
    remote: Callable[..., RemoteEncoder],
    local_encoder: LocalEncoder,
    fixture_texts: list[str],
) -> None:
    got = remote(server).embed_texts(fixture_texts)
    assert got.shape == (len(fixture_texts), TINY_DIM)
    np.testing.assert_allclose(got, local_encoder.embed_texts(fixture_texts), atol=ATOL)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)


def test_images_in_every_client_form_equal_local_vectors(
    server: ServerThread,
    remote: Callable[..., RemoteEncoder],
    local_encoder: LocalEncoder,
    fixture_images: list[Path],
) -> None:
    first = fixture_images[0]
    data = first.read_bytes()
    forms: list[Any] = [
        *[str(p) for p in fixture_images],
        data,
        io.BytesIO(data),
        Image.open(io.BytesIO(data)),
        "data:image/png;base64," + base64.b64encode(data).decode(),
    ]
    got = remote(server).embed_images(forms)
    expected = local_encoder.embed_images([*fixture_images, first, first, first, first])
    np.testing.assert_allclose(got, expected, atol=ATOL)


async def test_mixed_texts_and_images_in_one_request_keep_input_order(
    server: ServerThread,
    remote: Callable[..., RemoteEncoder],
    local_encoder: LocalEncoder,
    fixture_texts: list[str],
    fixture_images: list[Path],
) -> None:
    mixed: list[tuple[Any, object]] = [
        ("image", str(fixture_images[1])),
        ("text", fixture_texts[0]),
        ("image", str(fixture_images[4])),
        ("text", fixture_texts[2]),
    ]
    got = await remote(server).aembed_mixed(mixed)
    texts = local_encoder.embed_texts([fixture_texts[0], fixture_texts[2]])
    images = local_encoder.embed_images([fixture_images[1], fixture_images[4]])
    np.testing.assert_allclose(got, np.stack([images[0], texts[0], images[1], texts[1]]), atol=ATOL)


def test_base64_embedding_type_and_unnormalized_vectors_match_local(
    server: ServerThread,
    remote: Callable[..., RemoteEncoder],
    local_encoder: LocalEncoder,
    fixture_texts: list[str],
) -> None:
    got = remote(server, embedding_type="base64").embed_texts(fixture_texts, normalize=False)
    raw = local_encoder.embed_texts(fixture_texts, normalize=False)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)
    np.testing.assert_allclose(got, raw, atol=1e-4)


def test_binary_and_ubinary_embeddings_pack_the_signs(
    server: ServerThread, local_encoder: LocalEncoder, fixture_texts: list[str]
) -> None:
    body = {
        "model": "jina-clip-v1",
        "input": fixture_texts[:2],
        "embedding_type": ["ubinary", "binary"],
    }
    response = post(server, body)
    assert response.status_code == 200, response.text
    signs = local_encoder.embed_texts(fixture_texts[:2]) > 0
    for item, expected in zip(response.json()["data"], signs, strict=True):
        ubinary = np.unpackbits(np.asarray(item["embedding"]["ubinary"], dtype=np.uint8))
        binary = np.unpackbits(
            np.asarray(item["embedding"]["binary"], dtype=np.int8).view(np.uint8)
        )
        assert (ubinary == expected).all()
        assert (binary == expected).all()


def test_legacy_url_bytes_and_encoding_type_are_accepted(
    start_server: Callable[..., ServerThread],
    image_host: str,
    local_encoder: LocalEncoder,
    fixture_images: list[Path],
) -> None:
    server = start_server(allow_private_urls=True)
    body = {
        "model": "jina-clip-v1",
        "encoding_type": "float",
        "input": [
            {"url": f"{image_host}/{fixture_images[2].name}"},
            {"bytes": b64(fixture_images[3])},
            {"image": f"{image_host}/{fixture_images[5].name}"},
        ],
    }
    response = post(server, body)
    assert response.status_code == 200, response.text
    expected = local_encoder.embed_images([fixture_images[2], fixture_images[3], fixture_images[5]])
    np.testing.assert_allclose(vectors(response), expected, atol=ATOL)


def test_usage_counts_tokenizer_tokens_and_image_tiles(
    server: ServerThread,
    local_encoder: LocalEncoder,
    fixture_texts: list[str],
    tiny_fixture_dir: Path,
) -> None:
    # rgb_300x200 needs 2 x 1 tiles of 224 px; rgb_90x400 needs 1 x 2.
    inputs = tiny_fixture_dir / "inputs"
    body = {
        "model": "jina-clip-v1",
        "input": [
            {"text": fixture_texts[1]},
            fixture_texts[3],
            {"image": b64(inputs / "rgb_300x200.png")},
            {"image": b64(inputs / "rgb_90x400.png")},
        ],
    }
    response = post(server, body)
    assert response.status_code == 200, response.text
    text_tokens = sum(
        len(ids) for ids in local_encoder.tokenizer.encode([fixture_texts[1], fixture_texts[3]])
    )
    usage = response.json()["usage"]
    assert usage == {"total_tokens": text_tokens + 4000, "prompt_tokens": text_tokens + 4000}
    assert response.json()["model"] == "jina-clip-v1"


def test_health_reports_model_dim_and_device(server: ServerThread) -> None:
    health = httpx.get(f"{server.root_url}/health").json()
    assert health["model"] == "jina-clip-v1"
    assert health["dim"] == TINY_DIM
    assert health["device"] == "cpu"
    assert health["batching"]["enabled"] is True


def test_served_model_name_is_configurable_and_enforced(
    start_server: Callable[..., ServerThread], remote: Callable[..., RemoteEncoder]
) -> None:
    server = start_server(served_model_name="clip-tiny")
    ok = remote(server, model_info=replace(TINY_INFO, name="clip-tiny")).embed_texts(["a cat"])
    assert ok.shape == (1, TINY_DIM)
    response = post(server, {"model": "jina-clip-v1", "input": ["a cat"]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "model"


# ---- errors ----------------------------------------------------------------------------


def test_undecodable_image_is_a_400_naming_every_bad_index(
    server: ServerThread, fixture_images: list[Path]
) -> None:
    body = {
        "model": "jina-clip-v1",
        "input": [
            "fine text",
            {"image": base64.b64encode(b"not an image at all").decode()},
            {"image": b64(fixture_images[0])},
            {"image": base64.b64encode(b"\x89PNG\r\n\x1a\ntruncated").decode()},
        ],
    }
    response = post(server, body)
    assert response.status_code == 400
    payload = response.json()
    assert "input 1" in payload["detail"]
    assert "input 3" in payload["detail"]
    assert [e["field"] for e in payload["errors"]] == ["input.1", "input.3"]


def test_loopback_image_url_is_refused_by_default_through_the_client(
    server: ServerThread,
    remote: Callable[..., RemoteEncoder],
    image_host: str,
    fixture_images: list[Path],
) -> None:
    url = f"{image_host}/{fixture_images[1].name}"
    with pytest.raises(
        BadRequestError, match=r"input 1: .*non-public address 127\.0\.0\.1"
    ) as info:
        remote(server).embed_images([str(fixture_images[0]), url])
    assert info.value.status_code == 400


def test_wrong_or_missing_api_key_is_an_authentication_error(
    start_server: Callable[..., ServerThread], remote: Callable[..., RemoteEncoder]
) -> None:
    server = start_server(api_key="s3cret-key")
    assert remote(server, api_key="s3cret-key").embed_texts(["ok"]).shape == (1, TINY_DIM)
    with pytest.raises(AuthenticationError) as info:
        remote(server, api_key="wrong-key").embed_texts(["ok"])
    assert info.value.status_code == 401
    response = post(server, {"model": "jina-clip-v1", "input": ["ok"]})
    assert response.status_code == 401
    assert "Unauthorized" in response.json()["detail"]


def test_too_many_items_is_a_bad_request(
    start_server: Callable[..., ServerThread], remote: Callable[..., RemoteEncoder]
) -> None:
    server = start_server(max_items=3)
    with pytest.raises(BadRequestError, match="at most 3") as info:
        remote(server).embed_texts(["a", "b", "c", "d"])
    assert info.value.status_code == 400


def test_oversized_body_is_413(start_server: Callable[..., ServerThread]) -> None:
    server = start_server(max_body_bytes=1000)
    response = post(server, {"model": "jina-clip-v1", "input": ["x" * 2000]})
    assert response.status_code == 413
    assert "1,000 bytes" in response.json()["detail"]


def test_image_over_the_pixel_limit_is_refused_before_decoding(
    start_server: Callable[..., ServerThread], tiny_fixture_dir: Path
) -> None:
    server = start_server(image_limits=ImageLimits(max_pixels=50_000))
    image = b64(tiny_fixture_dir / "inputs" / "rgb_300x200.png")
    response = post(server, {"model": "jina-clip-v1", "input": [{"image": image}]})
    assert response.status_code == 400
    assert "over the limit of 50,000" in response.json()["detail"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"encoding_format": "float"}, "encoding_format"),
        ({"task": "retrieval.query"}, "task"),
        ({"dimensions": 64}, "dimensions"),
    ],
)
def test_unknown_or_unaccepted_field_is_422_extra_forbidden(
    server: ServerThread, extra: dict[str, Any], field: str
) -> None:
    response = post(server, {"model": "jina-clip-v1", "input": ["a"], **extra})
    assert response.status_code == 422
    payload = response.json()
    assert payload["errors"][0]["type"] == "extra_forbidden"
    assert payload["errors"][0]["field"] == field
    assert field in payload["detail"]


def test_extra_key_in_an_input_object_names_its_index(server: ServerThread) -> None:
    body = {"model": "jina-clip-v1", "input": ["a", {"text": "b", "lang": "en"}]}
    response = post(server, body)
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "input.1.lang",
        "message": "Extra inputs are not permitted",
        "type": "extra_forbidden",
        "input": "en",
    }


def test_image_strings_are_never_read_as_server_paths(
    server: ServerThread, fixture_images: list[Path]
) -> None:
    for value in (str(fixture_images[0]), f"file://{fixture_images[0]}"):
        response = post(server, {"model": "jina-clip-v1", "input": [{"image": value}]})
        assert response.status_code == 422, value
        assert response.json()["errors"][0]["field"] == "input.0.image"


def test_text_over_the_context_is_422_unless_truncate(
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server(model_info=replace(TINY_INFO, context_length=16))
    long_text = "the cat sat on the mat " * 10
    refused = post(server, {"model": "jina-clip-v1", "input": ["short", long_text]})
    assert refused.status_code == 422
    assert "input 1" in refused.json()["detail"]
    accepted = post(
        server, {"model": "jina-clip-v1", "input": ["short", long_text], "truncate": True}
    )
    assert accepted.status_code == 200, accepted.text
    assert len(accepted.json()["data"]) == 2


def test_malformed_json_and_unknown_route_answer_json_errors(server: ServerThread) -> None:
    response = httpx.post(f"{server.base_url}/embeddings", content=b"{not json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    missing = httpx.get(f"{server.root_url}/v1/nothing")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}

"""JinaClipEmbedding: LlamaIndex's embedding contract on top of the core encoders."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from llama_index.core.embeddings import MultiModalEmbedding
from llama_index.core.schema import ImageDocument, ImageNode
from PIL import Image

import jinaclip
from jinaclip.errors import AuthenticationError, InvalidInputError
from llama_index.embeddings.jinaclip import JinaClipEmbedding
from tests.integrations.conftest import STUB_API_KEY, assert_same_vectors
from tests.support.jina_stub_server import JinaStubServer

TEXTS = ["a red square", "two blue circles", "a photo of a cat"]
SECRET = "jina_test_secret_do_not_leak_0123456789"


def _png_stream() -> io.BytesIO:
    stream = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(stream, format="PNG")
    stream.seek(0)
    return stream


def test_is_a_llama_index_multimodal_embedding_named_jinaclipembedding(
    llama_embed: JinaClipEmbedding,
) -> None:
    assert isinstance(llama_embed, MultiModalEmbedding)
    assert JinaClipEmbedding.class_name() == "JinaClipEmbedding"
    assert llama_embed.to_dict()["class_name"] == "JinaClipEmbedding"


def test_model_name_is_the_encoders_real_model_name(
    llama_embed: JinaClipEmbedding, core_encoder: jinaclip.Encoder
) -> None:
    assert llama_embed.model_name == core_encoder.model_name
    assert llama_embed.model_name != "unknown"
    assert llama_embed.dim == core_encoder.dim


def test_text_query_and_batch_vectors_equal_the_core_encoders(
    llama_embed: JinaClipEmbedding, core_encoder: jinaclip.Encoder
) -> None:
    assert_same_vectors(
        llama_embed.get_text_embedding_batch(TEXTS), core_encoder.embed_texts(TEXTS)
    )
    assert_same_vectors(
        [llama_embed.get_text_embedding(TEXTS[1])], core_encoder.embed_texts(TEXTS[1:2])
    )
    assert_same_vectors(
        [llama_embed.get_query_embedding(TEXTS[2])], core_encoder.embed_texts(TEXTS[2:3])
    )


def test_image_vectors_equal_the_core_encoders_for_paths_and_bytesio(
    llama_embed: JinaClipEmbedding, core_encoder: jinaclip.Encoder, image_paths: list[Path]
) -> None:
    paths = [str(path) for path in image_paths]
    expected = core_encoder.embed_images(paths)
    assert_same_vectors(llama_embed.get_image_embedding_batch(paths), expected)
    streams = [io.BytesIO(path.read_bytes()) for path in image_paths]
    assert_same_vectors(llama_embed.get_image_embedding_batch(streams), expected)
    assert_same_vectors(
        [llama_embed.get_image_embedding(paths[3])], core_encoder.embed_images(paths[3:4])
    )


def test_image_urls_and_data_uris_give_the_core_encoders_vectors(
    llama_embed: JinaClipEmbedding,
    core_encoder: jinaclip.Encoder,
    image_paths: list[Path],
    image_base_url: str,
) -> None:
    url = f"{image_base_url}/{image_paths[0].name}"
    data_uri = "data:image/jpeg;base64," + base64.b64encode(image_paths[5].read_bytes()).decode()
    expected = core_encoder.embed_images([url, data_uri])
    assert_same_vectors(llama_embed.get_image_embedding_batch([url, data_uri]), expected)


def test_resolved_image_documents_and_nodes_give_the_core_encoders_vectors(
    llama_embed: JinaClipEmbedding, core_encoder: jinaclip.Encoder, image_paths: list[Path]
) -> None:
    path = image_paths[2]
    encoded = base64.b64encode(path.read_bytes()).decode()
    resolved = [
        ImageDocument(image_path=str(path)).resolve_image(),
        ImageDocument(image=encoded).resolve_image(),
        ImageNode(image=encoded).resolve_image(),
        ImageNode(image_path=str(path)).resolve_image(),
    ]
    expected = core_encoder.embed_images([path.read_bytes()] * 3 + [str(path)])
    assert_same_vectors(llama_embed.get_image_embedding_batch(resolved), expected)


async def test_async_twins_return_the_sync_vectors(
    llama_embed: JinaClipEmbedding, image_paths: list[Path]
) -> None:
    paths = [str(path) for path in image_paths[:3]]
    assert await llama_embed.aget_text_embedding_batch(TEXTS) == (
        llama_embed.get_text_embedding_batch(TEXTS)
    )
    assert await llama_embed.aget_text_embedding(TEXTS[0]) == llama_embed.get_text_embedding(
        TEXTS[0]
    )
    assert await llama_embed.aget_query_embedding(TEXTS[1]) == llama_embed.get_query_embedding(
        TEXTS[1]
    )
    assert await llama_embed.aget_image_embedding_batch(paths) == (
        llama_embed.get_image_embedding_batch(paths)
    )
    stream = io.BytesIO(image_paths[4].read_bytes())
    assert await llama_embed.aget_image_embedding(stream) == llama_embed.get_image_embedding(
        str(image_paths[4])
    )


async def test_async_image_batches_are_one_awaited_encoder_call_each(
    llama_embed: JinaClipEmbedding, image_paths: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = llama_embed.encoder
    original = encoder.aembed_images
    calls: list[int] = []

    async def observed(images: list[object], *, normalize: bool = True) -> np.ndarray:
        calls.append(len(images))
        return await original(images, normalize=normalize)

    monkeypatch.setattr(encoder, "aembed_images", observed)
    vectors = await llama_embed.aget_image_embedding_batch([str(p) for p in image_paths])
    assert calls == [len(image_paths)]
    assert len(vectors) == len(image_paths)


def test_bad_images_fail_the_whole_call_naming_every_bad_index(
    llama_embed: JinaClipEmbedding, image_paths: list[Path], tmp_path: Path
) -> None:
    missing = str(tmp_path / "missing.png")
    with pytest.raises(InvalidInputError) as caught:
        llama_embed.get_image_embedding_batch(
            [str(image_paths[0]), missing, str(image_paths[1]), "not an image"]
        )
    assert caught.value.indices == (1, 3)


async def test_bad_images_fail_the_async_call_too(
    llama_embed: JinaClipEmbedding, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        await llama_embed.aget_image_embedding(str(tmp_path / "missing.png"))
    assert caught.value.indices == (0,)


def test_wraps_a_given_encoder_without_taking_ownership(core_encoder: jinaclip.Encoder) -> None:
    embed = JinaClipEmbedding(encoder=core_encoder)
    assert embed.encoder is core_encoder
    assert embed.model_name == core_encoder.model_name
    embed.close()  # must not close the caller's encoder
    assert len(core_encoder.embed_texts(["still open"])) == 1


def test_local_backend_loads_a_checkpoint_directory(tiny_fixture_dir: Path) -> None:
    embed = JinaClipEmbedding(backend="local", model=str(tiny_fixture_dir), device="cpu")
    expected = jinaclip.LocalEncoder.from_pretrained(str(tiny_fixture_dir), device="cpu")
    assert_same_vectors(embed.get_text_embedding_batch(TEXTS), expected.embed_texts(TEXTS))
    embed.close()


def test_serialisation_round_trips_and_never_holds_the_key(jina_stub: JinaStubServer) -> None:
    embed = JinaClipEmbedding(backend="api", api_key=SECRET, base_url=jina_stub.base_url)
    dumped = [
        json.dumps(embed.to_dict()),
        embed.to_json(),
        json.dumps(embed.to_payload()),
        repr(embed),
        str(embed),
    ]
    assert not [text for text in dumped if SECRET in text]
    assert embed.to_payload()["backend"] == "api"
    restored = JinaClipEmbedding.from_dict(embed.to_dict())
    assert (restored.backend, restored.base_url, restored.model_name) == (
        "api",
        jina_stub.base_url,
        "jina-clip-v1",
    )
    embed.close()
    restored.close()


@pytest.mark.parametrize("env_name", ["JINA_API_KEY", "JINAAI_API_KEY"])
async def test_api_key_from_the_environment_is_sent_on_sync_and_async_calls(
    monkeypatch: pytest.MonkeyPatch, env_name: str, jina_stub: JinaStubServer
) -> None:
    monkeypatch.setenv(env_name, STUB_API_KEY)
    embed = JinaClipEmbedding(backend="api", base_url=jina_stub.base_url)
    assert embed.api_key is not None
    assert embed.api_key.get_secret_value() == STUB_API_KEY
    assert len(embed.get_text_embedding("sync")) == embed.dim
    assert len(await embed.aget_text_embedding("async")) == embed.dim
    assert len(await embed.aget_image_embedding(_png_stream())) == embed.dim
    embed.close()


def test_jina_api_key_wins_over_jinaai_api_key(
    monkeypatch: pytest.MonkeyPatch, jina_stub: JinaStubServer
) -> None:
    monkeypatch.setenv("JINAAI_API_KEY", "jina_older_name_wrong_key")
    monkeypatch.setenv("JINA_API_KEY", STUB_API_KEY)
    embed = JinaClipEmbedding(backend="api", base_url=jina_stub.base_url)
    assert len(embed.get_query_embedding("which key?")) == embed.dim
    embed.close()


async def test_a_wrong_key_is_an_authentication_error_not_a_vector(
    jina_stub: JinaStubServer,
) -> None:
    embed = JinaClipEmbedding(backend="api", api_key="jina_wrong", base_url=jina_stub.base_url)
    with pytest.raises(AuthenticationError) as caught:
        await embed.aget_text_embedding("refused")
    assert "jina_wrong" not in str(caught.value)
    embed.close()


def test_local_backend_never_reads_an_api_key(
    monkeypatch: pytest.MonkeyPatch, core_encoder: jinaclip.Encoder
) -> None:
    monkeypatch.setenv("JINA_API_KEY", SECRET)
    assert JinaClipEmbedding(encoder=core_encoder).api_key is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "local", "api_key": SECRET}, "backend='api' only"),
        ({"backend": "local", "base_url": "http://127.0.0.1:9"}, "backend='api' only"),
        ({"backend": "api", "device": "cpu"}, "backend='local' only"),
        ({"backend": "api", "backend_options": {"api_key": SECRET}}, "not in backend_options"),
    ],
)
def test_arguments_the_backend_would_ignore_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        JinaClipEmbedding(**kwargs)
    assert SECRET not in str(caught.value)

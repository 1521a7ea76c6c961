"""JinaClipEmbeddings: LangChain's embedding contract on top of the core encoders."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings
from PIL import Image

import jinaclip
from jinaclip.errors import AuthenticationError, InvalidInputError
from langchain_jinaclip import JinaClipEmbeddings
from tests.integrations.conftest import STUB_API_KEY, assert_same_vectors
from tests.support.jina_stub_server import JinaStubServer

TEXTS = ["a red square", "two blue circles", "a photo of a cat"]
SECRET = "jina_test_secret_do_not_leak_0123456789"


def test_is_a_langchain_embeddings_reporting_the_encoders_model(
    lc_embed: JinaClipEmbeddings, core_encoder: jinaclip.Encoder
) -> None:
    assert isinstance(lc_embed, Embeddings)
    assert lc_embed.model_name == core_encoder.model_name
    assert lc_embed.dim == core_encoder.dim


def test_documents_and_query_equal_the_core_encoders_vectors(
    lc_embed: JinaClipEmbeddings, core_encoder: jinaclip.Encoder
) -> None:
    assert_same_vectors(lc_embed.embed_documents(TEXTS), core_encoder.embed_texts(TEXTS))
    assert_same_vectors([lc_embed.embed_query(TEXTS[0])], core_encoder.embed_texts(TEXTS[:1]))


def test_every_image_form_gives_the_core_encoders_vectors(
    lc_embed: JinaClipEmbeddings,
    core_encoder: jinaclip.Encoder,
    image_paths: list[Path],
    image_base_url: str,
) -> None:
    path = image_paths[5]
    data = path.read_bytes()
    forms: list[jinaclip.ImageInput] = [
        str(path),
        f"{image_base_url}/{path.name}",
        "data:image/jpeg;base64," + base64.b64encode(data).decode(),
        data,
        Image.open(io.BytesIO(data)),
    ]
    assert_same_vectors(lc_embed.embed_image(forms), core_encoder.embed_images(forms))


def test_embed_images_is_embed_image_under_the_community_name(
    lc_embed: JinaClipEmbeddings, core_encoder: jinaclip.Encoder, image_paths: list[Path]
) -> None:
    uris = [str(path) for path in image_paths]
    expected = core_encoder.embed_images(uris)
    assert_same_vectors(lc_embed.embed_images(uris), expected)
    assert_same_vectors(lc_embed.embed_image(uris=uris), expected)


async def test_async_methods_return_the_sync_vectors(
    lc_embed: JinaClipEmbeddings, image_paths: list[Path]
) -> None:
    uris = [str(path) for path in image_paths[:3]]
    assert await lc_embed.aembed_documents(TEXTS) == lc_embed.embed_documents(TEXTS)
    assert await lc_embed.aembed_query(TEXTS[1]) == lc_embed.embed_query(TEXTS[1])
    assert await lc_embed.aembed_image(uris) == lc_embed.embed_image(uris)
    assert await lc_embed.aembed_images(uris) == lc_embed.embed_images(uris)


async def test_async_methods_await_the_encoders_async_path(
    lc_embed: JinaClipEmbeddings, image_paths: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = lc_embed.encoder
    seen: list[str] = []
    for name in ("aembed_texts", "aembed_images"):
        original = getattr(encoder, name)

        async def observed(
            items: list[object], *, normalize: bool = True, _name: str = name, _call=original
        ) -> np.ndarray:
            seen.append(_name)
            return await _call(items, normalize=normalize)

        monkeypatch.setattr(encoder, name, observed)
    await lc_embed.aembed_documents(TEXTS)
    await lc_embed.aembed_image([str(image_paths[0])])
    assert seen == ["aembed_texts", "aembed_images"]


def test_empty_lists_give_empty_results(lc_embed: JinaClipEmbeddings) -> None:
    assert lc_embed.embed_documents([]) == []
    assert lc_embed.embed_image([]) == []


def test_a_lone_string_is_refused_not_split_into_characters(lc_embed: JinaClipEmbeddings) -> None:
    with pytest.raises(TypeError, match="list"):
        lc_embed.embed_documents("abc")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="list"):
        lc_embed.embed_image("photo.jpg")  # type: ignore[arg-type]


def test_bad_images_fail_the_call_naming_every_bad_index(
    lc_embed: JinaClipEmbeddings, image_paths: list[Path], tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        lc_embed.embed_image([str(image_paths[0]), str(tmp_path / "missing.png"), b"", "nope"])
    assert caught.value.indices == (1, 2, 3)


def test_batches_are_split_by_batch_size_in_input_order(
    backend: str,
    backend_kwargs: dict[str, object],
    core_encoder: jinaclip.Encoder,
    image_paths: list[Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    embed = JinaClipEmbeddings(backend=backend, batch_size=2, **backend_kwargs)
    sizes: list[int] = []
    original = embed.encoder.embed_images

    def observed(items: list[object], *, normalize: bool = True) -> np.ndarray:
        sizes.append(len(items))
        return original(items, normalize=normalize)

    monkeypatch.setattr(embed.encoder, "embed_images", observed)
    uris = [str(path) for path in image_paths[:5]]
    vectors = embed.embed_image(uris)
    assert sizes == [2, 2, 1]
    expected = np.concatenate([core_encoder.embed_images(uris[i : i + 2]) for i in (0, 2, 4)])
    assert_same_vectors(vectors, expected)
    embed.close()


def test_split_calls_report_bad_inputs_by_their_position_in_the_whole_list(
    backend: str, backend_kwargs: dict[str, object], image_paths: list[Path], tmp_path: Path
) -> None:
    embed = JinaClipEmbeddings(backend=backend, batch_size=2, **backend_kwargs)
    good = str(image_paths[0])
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(InvalidInputError) as caught:
        embed.embed_image([good, good, good, "nope", good, "also nope"])
    assert caught.value.indices == (3, 5)
    with pytest.raises(InvalidInputError) as caught:
        embed.embed_image([good, good, good, str(corrupt)])
    assert caught.value.indices == (3,)
    embed.close()


def test_wraps_a_given_encoder_without_taking_ownership(core_encoder: jinaclip.Encoder) -> None:
    embed = JinaClipEmbeddings(encoder=core_encoder)
    assert embed.encoder is core_encoder
    embed.close()  # must not close the caller's encoder
    assert len(core_encoder.embed_texts(["still open"])) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "local", "api_key": SECRET}, "backend='api' only"),
        ({"backend": "local", "base_url": "http://127.0.0.1:9"}, "backend='api' only"),
        ({"backend": "api", "device": "cpu"}, "backend='local' only"),
        ({"backend": "api", "backend_options": {"api_key": SECRET}}, "not in backend_options"),
        ({"backend": "local", "unknown_option": 1}, "Extra inputs are not permitted"),
    ],
)
def test_arguments_the_backend_would_ignore_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        JinaClipEmbeddings(**kwargs)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("env_name", ["JINA_API_KEY", "JINAAI_API_KEY"])
def test_api_key_comes_from_the_environment_and_never_shows(
    monkeypatch: pytest.MonkeyPatch, env_name: str
) -> None:
    monkeypatch.setenv(env_name, SECRET)
    embed = JinaClipEmbeddings(backend="api", base_url="http://127.0.0.1:9")
    assert embed.api_key is not None
    assert embed.api_key.get_secret_value() == SECRET
    shown = [repr(embed), str(embed), embed.model_dump_json(), str(embed.model_dump())]
    assert not [text for text in shown if SECRET in text]
    embed.close()


def test_explicit_key_may_use_the_community_field_name(jina_stub: JinaStubServer) -> None:
    embed = JinaClipEmbeddings(
        backend="api", jina_api_key=STUB_API_KEY, base_url=jina_stub.base_url
    )
    assert len(embed.embed_query("sent with the key")) == embed.dim
    embed.close()


async def test_environment_key_is_sent_on_sync_and_async_calls(
    monkeypatch: pytest.MonkeyPatch, jina_stub: JinaStubServer, image_paths: list[Path]
) -> None:
    monkeypatch.setenv("JINA_API_KEY", STUB_API_KEY)
    embed = JinaClipEmbeddings(backend="api", base_url=jina_stub.base_url)
    assert len(embed.embed_documents(["sync"])[0]) == embed.dim
    assert len((await embed.aembed_documents(["async"]))[0]) == embed.dim
    assert len((await embed.aembed_image([str(image_paths[1])]))[0]) == embed.dim
    embed.close()


def test_a_wrong_key_is_an_authentication_error_not_a_vector(jina_stub: JinaStubServer) -> None:
    embed = JinaClipEmbeddings(backend="api", api_key="jina_wrong", base_url=jina_stub.base_url)
    with pytest.raises(AuthenticationError) as caught:
        embed.embed_query("refused")
    assert "jina_wrong" not in str(caught.value)
    embed.close()

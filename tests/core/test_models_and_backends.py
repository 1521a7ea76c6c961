"""The model table drives what the API client may send; backend names translate both ways."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jinaclip.backends import (
    api_key_from_env,
    api_model_name,
    encoder_options,
    local_model_id,
    make_encoder,
)
from jinaclip.encoder import empty_matrix, l2_normalize
from jinaclip.errors import (
    APIError,
    AuthenticationError,
    InputProblem,
    InvalidInputError,
    ModelNotFoundError,
)
from jinaclip.models import KNOWN_MODELS, get_model_info


def test_clip_v1_takes_no_task_and_no_dimensions() -> None:
    info = get_model_info("jina-clip-v1")
    assert (info.dim, info.context_length, info.image_size) == (768, 8192, 224)
    assert info.max_items_per_request == 2048
    assert not info.accepts("task")
    assert not info.accepts("dimensions")
    assert info.accepts("embedding_type")


def test_newer_models_take_task_and_dimensions() -> None:
    for name in ("jina-clip-v2", "jina-embeddings-v3", "jina-embeddings-v4"):
        info = get_model_info(name)
        assert info.accepts("task")
        assert info.accepts("dimensions")
    assert get_model_info("jina-embeddings-v4").max_items_per_request == 512
    assert not get_model_info("jina-embeddings-v3").accepts_images


def test_model_lookup_by_hub_id_and_unknown_name() -> None:
    assert get_model_info("jinaai/jina-clip-v1") is KNOWN_MODELS["jina-clip-v1"]
    with pytest.raises(ModelNotFoundError, match="known models: jina-clip-v1"):
        get_model_info("jina-clip-v9")


def test_model_names_translate_between_backends(tmp_path: Path) -> None:
    assert api_model_name("jinaai/jina-clip-v1") == "jina-clip-v1"
    assert api_model_name("my-custom-model") == "my-custom-model"
    assert local_model_id("jina-clip-v1") == "jinaai/jina-clip-v1"
    assert local_model_id(str(tmp_path)) == str(tmp_path)


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown backend 'cloud'; choose one of local, api"):
        make_encoder("cloud")


def test_l2_normalize_gives_unit_rows_and_refuses_zero_rows() -> None:
    out = l2_normalize([[3.0, 4.0], [0.0, 2.0]])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 1.0]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"rows \[1\]"):
        l2_normalize([[1.0, 0.0], [0.0, 0.0]])
    assert empty_matrix(5).shape == (0, 5)


def test_errors_carry_positions_and_hints() -> None:
    error = InvalidInputError([InputProblem(i, "bad") for i in range(12)])
    assert error.indices == tuple(range(12))
    assert "12 invalid input(s)" in str(error)
    assert "and 2 more" in str(error)
    auth = AuthenticationError("Invalid API key", status_code=401, attempts=1)
    assert isinstance(auth, APIError)
    assert str(auth).startswith("HTTP 401 after 1 attempt(s): Invalid API key (set JINA_API_KEY")


def test_shifted_errors_name_positions_in_the_whole_list() -> None:
    error = InvalidInputError([InputProblem(0, "empty"), InputProblem(2, "bad")])
    shifted = error.shifted(10)
    assert shifted.indices == (10, 12)
    assert "input 12: bad" in str(shifted)


def test_encoder_options_pass_only_what_the_backend_uses() -> None:
    assert encoder_options("local", device="cpu", backend_options={"batch_size": 4}) == {
        "device": "cpu",
        "batch_size": 4,
    }
    assert encoder_options("api", api_key="k", base_url="http://h/v1") == {
        "api_key": "k",
        "base_url": "http://h/v1",
    }


@pytest.mark.parametrize(
    ("backend", "arguments", "message"),
    [
        ("local", {"api_key": "k"}, "apply to backend='api' only"),
        ("local", {"base_url": "http://h"}, "apply to backend='api' only"),
        ("api", {"device": "cuda"}, "applies to backend='local' only"),
        ("api", {"backend_options": {"model": "x", "api_key": "k"}}, "api_key, model as their own"),
        ("gpu", {}, "unknown backend"),
    ],
)
def test_arguments_a_backend_would_ignore_are_refused(
    backend: str, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        encoder_options(backend, **arguments)  # type: ignore[arg-type]


def test_api_key_from_env_prefers_jina_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    assert api_key_from_env() is None
    monkeypatch.setenv("JINAAI_API_KEY", "second")
    assert api_key_from_env() == "second"
    monkeypatch.setenv("JINA_API_KEY", "first")
    assert api_key_from_env() == "first"

"""DynamicBatcher on the real tiny model: merging, size bound, isolation of a failing job."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from jinaclip.errors import InvalidInputError
from jinaclip.local.encoder import LocalEncoder
from jinaclip.server.batching import DynamicBatcher

JOBS = [["a red car"], ["two dogs", "in the snow"], ["hello world, a longer text with more words"]]


@pytest.fixture
def batchers(local_encoder: LocalEncoder) -> Iterator[list[DynamicBatcher]]:
    made: list[DynamicBatcher] = []
    yield made
    for batcher in made:
        batcher.close()


def make(
    local_encoder: LocalEncoder, made: list[DynamicBatcher], **options: object
) -> DynamicBatcher:
    batcher = DynamicBatcher(local_encoder, **options)  # type: ignore[arg-type]
    made.append(batcher)
    return batcher


def test_jobs_queued_together_run_as_one_batch_and_split_back_in_order(
    local_encoder: LocalEncoder, batchers: list[DynamicBatcher]
) -> None:
    batcher = make(local_encoder, batchers, max_wait_s=0.5, max_batch_size=64)
    image = Image.new("RGB", (64, 48), "teal")
    futures = [batcher.submit(texts, [image] if i == 1 else []) for i, texts in enumerate(JOBS)]
    for i, (future, texts) in enumerate(zip(futures, JOBS, strict=True)):
        text_vectors, image_vectors = future.result(timeout=60)
        expected = local_encoder.embed_texts(texts, normalize=False)
        np.testing.assert_allclose(text_vectors, expected, atol=1e-4)
        assert image_vectors.shape == ((1, local_encoder.dim) if i == 1 else (0, local_encoder.dim))
    np.testing.assert_allclose(
        futures[1].result()[1], local_encoder.embed_images([image], normalize=False), atol=1e-4
    )
    stats = batcher.stats()
    assert (stats["requests"], stats["batches"], stats["max_requests_per_batch"]) == (3, 1, 3)
    assert stats["items"] == 5


def test_a_batch_never_exceeds_max_batch_size_unless_one_job_is_larger(
    local_encoder: LocalEncoder, batchers: list[DynamicBatcher]
) -> None:
    batcher = make(local_encoder, batchers, max_wait_s=0.5, max_batch_size=3)
    futures = [
        batcher.submit(["x", "y"], []),
        batcher.submit(["z", "w"], []),
        batcher.submit(["1", "2", "3", "4"], []),
    ]
    for future in futures:
        future.result(timeout=60)
    assert batcher.stats()["batches"] == 3


def test_disabled_batching_runs_every_job_alone(
    local_encoder: LocalEncoder, batchers: list[DynamicBatcher]
) -> None:
    batcher = make(local_encoder, batchers, enabled=False, max_wait_s=0.5)
    futures = [batcher.submit(texts, []) for texts in JOBS]
    for future in futures:
        future.result(timeout=60)
    stats = batcher.stats()
    assert stats["batches"] == stats["requests"] == 3


def test_a_job_the_model_rejects_fails_alone_and_the_others_still_succeed(
    local_encoder: LocalEncoder, batchers: list[DynamicBatcher]
) -> None:
    batcher = make(local_encoder, batchers, max_wait_s=0.5)
    good_first = batcher.submit(["a cat"], [])
    bad = batcher.submit([b"not a str"], [])  # type: ignore[list-item]
    good_last = batcher.submit(["a dog"], [])
    with pytest.raises(InvalidInputError, match="input 0: expected str"):
        bad.result(timeout=60)
    np.testing.assert_allclose(
        good_first.result(timeout=60)[0],
        local_encoder.embed_texts(["a cat"], normalize=False),
        atol=1e-4,
    )
    np.testing.assert_allclose(
        good_last.result(timeout=60)[0],
        local_encoder.embed_texts(["a dog"], normalize=False),
        atol=1e-4,
    )
    assert batcher.stats()["fallbacks"] == 1


def test_close_finishes_queued_jobs_then_refuses_new_ones(
    local_encoder: LocalEncoder, batchers: list[DynamicBatcher]
) -> None:
    batcher = make(local_encoder, batchers, max_wait_s=0.2)
    futures = [batcher.submit(texts, []) for texts in JOBS]
    batcher.close()
    assert all(future.done() and future.exception() is None for future in futures)
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit(["late"], [])

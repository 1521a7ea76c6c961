"""Dynamic batching: requests from many clients share one model call on one worker thread.

A request's inputs are validated and decoded before they join the queue, so a batch only
ever holds usable inputs. The worker takes the oldest waiting job, then keeps taking jobs
until the batch holds `max_batch_size` inputs or `max_wait_s` has passed since it took the
first one, and runs the model once for the texts and once for the images of the whole batch.
Should the model still fail on a merged batch, every job is run again alone, so one request's
failure never becomes another's. Vectors come back raw (unnormalised); each request decides.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
from PIL import Image

from jinaclip.encoder import Encoder, FloatMatrix, empty_matrix

JobResult: TypeAlias = tuple[FloatMatrix, FloatMatrix]
"""(text vectors, image vectors) of one job, each in the job's own order."""


@dataclass(eq=False)
class _Job:
    texts: list[str]
    images: list[Image.Image]
    future: concurrent.futures.Future[JobResult] = field(default_factory=concurrent.futures.Future)

    @property
    def size(self) -> int:
        return len(self.texts) + len(self.images)


@dataclass
class BatchStats:
    """Counters that show whether batching merges requests (served in `/health`)."""

    requests: int = 0
    batches: int = 0
    items: int = 0
    max_requests_per_batch: int = 0
    fallbacks: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "batches": self.batches,
            "items": self.items,
            "max_requests_per_batch": self.max_requests_per_batch,
            "fallbacks": self.fallbacks,
        }


class DynamicBatcher:
    """Merges concurrent jobs into model calls on a single worker thread (module docstring).

    With `enabled=False` every job runs alone, still one at a time on the same thread: the
    baseline the benchmarks compare against.
    """

    def __init__(
        self,
        encoder: Encoder,
        *,
        max_batch_size: int = 64,
        max_wait_s: float = 0.005,
        enabled: bool = True,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        if max_wait_s < 0:
            raise ValueError("max_wait_s must not be negative")
        self._encoder = encoder
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.enabled = enabled
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._stats = BatchStats()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="jinaclip-model", daemon=True)
        self._thread.start()

    def submit(
        self, texts: Sequence[str], images: Sequence[Image.Image]
    ) -> concurrent.futures.Future[JobResult]:
        """Queue one request's inputs; the future gets its raw vectors or the model's exception."""
        if self._closed:
            raise RuntimeError("the batcher is closed")
        job = _Job(list(texts), list(images))
        self._queue.put(job)
        return job.future

    async def embed(self, texts: Sequence[str], images: Sequence[Image.Image]) -> JobResult:
        """Async twin of `submit`: awaits the job without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(texts, images))

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counters: dict[str, Any] = self._stats.as_dict()
        counters.update(
            enabled=self.enabled,
            max_batch_size=self.max_batch_size,
            max_wait_ms=self.max_wait_s * 1000.0,
            queued=self._queue.qsize(),
        )
        return counters

    def close(self) -> None:
        """Finish the jobs already queued, then stop the worker thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()

    def _collect(self, first: _Job) -> tuple[list[_Job], _Job | None, bool]:
        """The batch starting at `first`, the job that did not fit, and whether to stop."""
        batch, size = [first], first.size
        if not self.enabled:
            return batch, None, False
        deadline = time.monotonic() + self.max_wait_s
        while size < self.max_batch_size:
            remaining = deadline - time.monotonic()
            try:
                job = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if job is None:
                return batch, None, True
            if size + job.size > self.max_batch_size:
                return batch, job, False
            batch.append(job)
            size += job.size
        return batch, None, False

    def _work(self) -> None:
        carried: _Job | None = None
        stopping = False
        while True:
            first = carried if carried is not None else (None if stopping else self._queue.get())
            if first is None:
                return
            batch, carried, stop = self._collect(first)
            stopping = stopping or stop
            live = [job for job in batch if job.future.set_running_or_notify_cancel()]
            if live:
                self._execute(live)

    def _execute(self, batch: list[_Job]) -> None:
        try:
            results = self._encode(batch)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
                self._count(batch)
                return
            with self._lock:
                self._stats.fallbacks += 1
            for job in batch:
                try:
                    job.future.set_result(self._encode([job])[0])
                except Exception as alone:
                    job.future.set_exception(alone)
                self._count([job])
            return
        for job, result in zip(batch, results, strict=True):
            job.future.set_result(result)
        self._count(batch)

    def _count(self, batch: list[_Job]) -> None:
        with self._lock:
            stats = self._stats
            stats.requests += len(batch)
            stats.batches += 1
            stats.items += sum(job.size for job in batch)
            stats.max_requests_per_batch = max(stats.max_requests_per_batch, len(batch))

    def _encode(self, batch: list[_Job]) -> list[JobResult]:
        """One model call per modality for the whole batch, split back per job."""
        dim = self._encoder.dim
        texts = [text for job in batch for text in job.texts]
        images = [image for job in batch for image in job.images]
        text_vectors = (
            self._encoder.embed_texts(texts, normalize=False) if texts else empty_matrix(dim)
        )
        image_vectors = (
            self._encoder.embed_images(images, normalize=False) if images else empty_matrix(dim)
        )
        if text_vectors.shape[0] != len(texts) or image_vectors.shape[0] != len(images):
            raise RuntimeError(
                f"the encoder returned {text_vectors.shape[0]} + {image_vectors.shape[0]} vectors "
                f"for {len(texts)} texts + {len(images)} images"
            )
        text_cuts = np.cumsum([len(job.texts) for job in batch])[:-1]
        image_cuts = np.cumsum([len(job.images) for job in batch])[:-1]
        return list(
            zip(
                np.split(text_vectors, text_cuts),
                np.split(image_vectors, image_cuts),
                strict=True,
            )
        )

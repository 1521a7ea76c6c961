"""`LocalEncoder`: jina-clip on this machine's CPU or GPU, behind the `Encoder` protocol.

Texts are tokenized once, sorted by length into batches (padding only to each batch's
longest text) and put back in the caller's order. Images are classified up front
(`to_image_items`), then fetched, decoded and preprocessed by a small thread pool while the
model runs on the caller's thread, so decoding overlaps inference. Calls are atomic: every
bad input is collected by position and raised in one `InvalidInputError`, and once one is
known no further model work is done. The model runs under `torch.inference_mode()`; the
async twins run the whole call in a worker thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import torch
from tqdm.auto import tqdm

from jinaclip.encoder import FloatMatrix, empty_matrix, l2_normalize
from jinaclip.errors import InputProblem, InvalidInputError, ModelNotFoundError
from jinaclip.fetch import FetchPolicy, fetch_image_bytes
from jinaclip.images import ImageLimits, UnusableImageError, decode_image, to_model_rgb
from jinaclip.inputs import ImageInput, ImageItem, to_image_items, validate_texts
from jinaclip.local.config import (
    CONFIG_FILE,
    PREPROCESSOR_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    JinaClipConfig,
    load_preprocess_config,
)
from jinaclip.local.model import JinaClipModel, load_model, save_checkpoint
from jinaclip.local.preprocess import ImagePreprocessor
from jinaclip.local.tokenizer import TOKENIZER_FILES, TextTokenizer
from jinaclip.models import KNOWN_MODELS

_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}
_HUB_FILES = [CONFIG_FILE, WEIGHTS_FILE, PREPROCESSOR_FILE, *TOKENIZER_FILES]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """CUDA when available unless told otherwise."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """bfloat16 on CUDA, float32 elsewhere, unless told otherwise."""
    if dtype is None:
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        return _DTYPES[dtype.lower().removeprefix("torch.")]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; use one of {', '.join(_DTYPES)}") from None


@contextmanager
def exact_float32(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """Turn TF32 off while a float32 model runs on CUDA, then restore the caller's settings.

    cuDNN convolutions (the vision tower's patch embedding) use TF32 by default, which moves
    float32 embeddings by about 1e-4: a caller who asks for float32 gets float32 arithmetic.
    """
    if device.type != "cuda" or dtype != torch.float32:
        yield
        return
    cudnn = torch.backends.cudnn
    matmul_tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with cudnn.flags(
            enabled=cudnn.enabled,
            benchmark=cudnn.benchmark,
            deterministic=cudnn.deterministic,
            allow_tf32=False,
        ):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul_tf32


def resolve_checkpoint_dir(
    name_or_path: str | os.PathLike[str],
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """A local directory as is; otherwise a hub id from the cache or, if allowed, the hub."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    name = str(name_or_path)
    known = KNOWN_MODELS.get(name)
    if known is not None and known.hf_repo is not None:
        name = known.hf_repo
    if path.exists() or name.startswith((".", "/", "~")) or name.count("/") != 1:
        raise ModelNotFoundError(
            f"{name!r} is neither a checkpoint directory nor a hub id like 'jinaai/jina-clip-v1'"
        )
    import huggingface_hub
    from huggingface_hub import constants

    offline = constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").lower() in (
        "1",
        "true",
        "yes",
        "on",
    )
    cache = Path(cache_dir) if cache_dir is not None else Path(constants.HF_HUB_CACHE)
    try:
        snapshot = huggingface_hub.snapshot_download(
            name,
            revision=revision,
            cache_dir=cache,
            allow_patterns=_HUB_FILES,
            local_files_only=offline,
        )
    except Exception as exc:
        mode = "offline mode (HF_HUB_OFFLINE) is on and " if offline else ""
        raise ModelNotFoundError(
            f"cannot load {name!r}: {mode}it is not in the Hugging Face cache at {cache} and the "
            f"hub could not provide it ({type(exc).__name__}: {exc}). Download it while online, "
            "or pass the path of a local checkpoint directory."
        ) from exc
    return Path(str(snapshot))


class LocalEncoder:
    """jina-clip-v1 (or any jina-clip-shaped checkpoint) running natively in PyTorch.

    Build it with `LocalEncoder.from_pretrained(dir_or_hub_id)`. Returns float32 (n, dim)
    matrices in input order, unit L2 norm unless `normalize=False`.
    """

    def __init__(
        self,
        model: JinaClipModel,
        config: JinaClipConfig,
        tokenizer: TextTokenizer,
        preprocessor: ImagePreprocessor,
        *,
        device: torch.device,
        dtype: torch.dtype,
        batch_size: int | None = None,
        image_batch_size: int | None = None,
        max_batch_tokens: int | None = None,
        num_workers: int | None = None,
        progress: bool | None = None,
        image_limits: ImageLimits | None = None,
        fetch_policy: FetchPolicy | None = None,
        tokenizer_dir: Path | None = None,
        compile: bool = False,
    ) -> None:
        defaults = _CUDA_BATCHING if device.type == "cuda" else _CPU_BATCHING
        batch_size = batch_size or defaults.texts
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self._model: JinaClipModel | None = model.to(device=device, dtype=dtype).eval()
        self._model.requires_grad_(False)
        if compile:
            self._model.compile_towers()
        self.config = config
        self.tokenizer = tokenizer
        self.preprocessor = preprocessor
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.image_batch_size = image_batch_size or defaults.images
        self.max_batch_tokens = max_batch_tokens or defaults.tokens
        self.num_workers = num_workers or min(8, os.cpu_count() or 1)
        self.progress = progress
        self.image_limits = image_limits or ImageLimits.from_env()
        self.fetch_policy = fetch_policy or FetchPolicy(max_bytes=self.image_limits.max_bytes)
        self._tokenizer_dir = tokenizer_dir
        self._pool: ThreadPoolExecutor | None = None
        self._model_lock = threading.Lock()
        self._logit_scale = float(model.logit_scale.detach().float().exp())

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike[str],
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        max_length: int = 512,
        *,
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> LocalEncoder:
        """Load a checkpoint directory or a hub id (e.g. `jinaai/jina-clip-v1`).

        `max_length` caps tokens per text ([CLS] and [SEP] included; up to the model's 8192).
        Other options: batch_size, image_batch_size, max_batch_tokens (defaults: 32, 32,
        16384 on CPU; 128, 256, 65536 on CUDA), num_workers (decode threads), progress,
        image_limits, fetch_policy, compile (torch.compile both towers: slower first call,
        faster after; worth it on a GPU for large jobs).
        """
        directory = resolve_checkpoint_dir(name_or_path, revision=revision, cache_dir=cache_dir)
        is_hub_id = not Path(name_or_path).expanduser().is_dir()
        name = str(name_or_path) if is_hub_id else None
        model, config = load_model(directory, name=name)
        if not 2 <= max_length <= config.text.max_position_embeddings:
            raise ValueError(
                f"max_length must be between 2 and {config.text.max_position_embeddings}, "
                f"got {max_length}"
            )
        tokenizer = TextTokenizer.from_directory(directory, max_length)
        vocab = tokenizer.vocab_size
        if vocab > config.text.vocab_size:
            raise CheckpointError(
                f"the tokenizer has {vocab} tokens but the embedding has only "
                f"{config.text.vocab_size} rows"
            )
        preprocess = load_preprocess_config(directory, config.vision.image_size)
        if preprocess.size != config.vision.image_size:
            raise CheckpointError(
                f"{PREPROCESSOR_FILE} size {preprocess.size} differs from the vision tower's "
                f"image_size {config.vision.image_size}"
            )
        _check_known_model(config)
        resolved = resolve_device(device)
        return cls(
            model,
            config,
            tokenizer,
            ImagePreprocessor(preprocess),
            device=resolved,
            dtype=resolve_dtype(dtype, resolved),
            tokenizer_dir=directory,
            **options,
        )

    @property
    def model_name(self) -> str:
        return self.config.name

    @property
    def dim(self) -> int:
        return self.config.dim

    @property
    def logit_scale(self) -> float:
        """exp of the checkpoint's stored logit scale: `logits = logit_scale * cosine`."""
        return self._logit_scale

    @property
    def model(self) -> JinaClipModel:
        if self._model is None:
            raise RuntimeError("this LocalEncoder is closed")
        return self._model

    def embed_texts(self, texts: Sequence[str], *, normalize: bool = True) -> FloatMatrix:
        """Embed texts; float32 (len(texts), dim) in input order."""
        checked = validate_texts(texts)
        model = self.model
        if not checked:
            return empty_matrix(self.dim)
        ids = self.tokenizer.encode(checked)
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        results = _DeviceResults(out)
        with self._progress_bar(len(ids), "texts") as bar:
            for batch in self._length_sorted_batches(ids):
                input_ids, mask = self._to_device(*self._padded(ids, batch))
                with self._model_lock, self._inference():
                    results.add(batch, model.encode_text(input_ids, mask))
                bar.update(len(batch))
        results.flush()
        return l2_normalize(out) if normalize else out

    def _padded(self, ids: list[list[int]], batch: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids of `batch` padded to its longest text, and the attention mask (CPU)."""
        lengths = np.array([len(ids[i]) for i in batch])
        input_ids = np.full(
            (len(batch), int(lengths.max())), self.config.text.pad_token_id, dtype=np.int64
        )
        for row, index in enumerate(batch):
            input_ids[row, : lengths[row]] = ids[index]
        mask = np.arange(input_ids.shape[1])[None, :] < lengths[:, None]
        return torch.from_numpy(input_ids), torch.from_numpy(mask.astype(np.int64))

    def _to_device(self, *tensors: torch.Tensor) -> list[torch.Tensor]:
        """Host tensors onto the model's device; on CUDA through pinned memory, without
        waiting, so the host prepares the next batch while the GPU works on this one."""
        if self.device.type != "cuda":
            return list(tensors)
        return [t.pin_memory().to(self.device, non_blocking=True) for t in tensors]

    def _length_sorted_batches(self, ids: list[list[int]]) -> Iterator[list[int]]:
        """Indices, longest first, cut into batches of at most batch_size texts and
        max_batch_tokens padded tokens (a batch always holds at least one text)."""
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        batch: list[int] = []
        for index in order:
            longest = len(ids[batch[0]]) if batch else len(ids[index])
            if batch and (
                len(batch) >= self.batch_size or (len(batch) + 1) * longest > self.max_batch_tokens
            ):
                yield batch
                batch = []
            batch.append(index)
        if batch:
            yield batch

    def embed_images(self, images: Sequence[ImageInput], *, normalize: bool = True) -> FloatMatrix:
        """Embed images in any `ImageInput` form; float32 (len(images), dim) in input order."""
        items = to_image_items(images)
        model = self.model
        if not items:
            return empty_matrix(self.dim)
        out = np.empty((len(items), self.dim), dtype=np.float32)
        results = _DeviceResults(out)
        problems: list[InputProblem] = []
        pending: list[tuple[int, npt.NDArray[np.uint8]]] = []
        needs_http = any(item.url is not None for item in items)
        client = httpx.Client(timeout=self.fetch_policy.timeout_s) if needs_http else None
        try:
            with self._progress_bar(len(items), "images") as bar:
                for index, result in self._pixels_in_order(items, client):
                    if isinstance(result, str):
                        problems.append(InputProblem(index, result))
                    elif not problems:
                        pending.append((index, result))
                        if len(pending) >= self.image_batch_size:
                            self._run_vision(model, pending, results)
                            pending = []
                    bar.update(1)
                if not problems and pending:
                    self._run_vision(model, pending, results)
                results.flush()
        finally:
            if client is not None:
                client.close()
        if problems:
            raise InvalidInputError(problems)
        return l2_normalize(out) if normalize else out

    def _run_vision(
        self,
        model: JinaClipModel,
        pending: list[tuple[int, npt.NDArray[np.uint8]]],
        results: _DeviceResults,
    ) -> None:
        """uint8 crops go to the device as they are and are normalised there."""
        (crops,) = self._to_device(torch.from_numpy(np.stack([array for _, array in pending])))
        with self._model_lock, self._inference():
            pixels = self.preprocessor.normalize(crops).to(self.dtype)
            results.add([index for index, _ in pending], model.encode_image(pixels))

    def _pixels_in_order(
        self, items: list[ImageItem], client: httpx.Client | None
    ) -> Iterator[tuple[int, npt.NDArray[np.uint8] | str]]:
        """(index, uint8 crop or the reason it failed), in input order, decoded in the pool
        with a bounded number of images in flight so memory stays flat for long lists."""
        pool = self._executor()
        window = max(2 * self.image_batch_size, self.num_workers)
        in_flight: deque[tuple[int, Future[npt.NDArray[np.uint8] | str]]] = deque()
        next_index = 0
        while next_index < len(items) or in_flight:
            while next_index < len(items) and len(in_flight) < window:
                item = items[next_index]
                in_flight.append((next_index, pool.submit(self._load_pixels, item, client)))
                next_index += 1
            index, future = in_flight.popleft()
            yield index, future.result()

    def _load_pixels(
        self, item: ImageItem, client: httpx.Client | None
    ) -> npt.NDArray[np.uint8] | str:
        """Fetch/read, decode and crop one image; an unusable image returns its reason."""
        try:
            if item.image is not None:
                rgb = to_model_rgb(item.image, self.image_limits)
            else:
                if item.url is not None:
                    data = fetch_image_bytes(item.url, self.fetch_policy, client)
                else:
                    data = item.read_bytes(self.image_limits.max_bytes)
                rgb = decode_image(data, self.image_limits)
            return self.preprocessor.crop_array(rgb)
        except UnusableImageError as exc:
            return str(exc)
        except OSError as exc:
            return f"cannot read {item.describe()}: {exc}"

    async def aembed_texts(self, texts: Sequence[str], *, normalize: bool = True) -> FloatMatrix:
        """`embed_texts` in a worker thread: the event loop keeps running meanwhile."""
        return await asyncio.to_thread(self.embed_texts, texts, normalize=normalize)

    async def aembed_images(
        self, images: Sequence[ImageInput], *, normalize: bool = True
    ) -> FloatMatrix:
        """`embed_images` in a worker thread: the event loop keeps running meanwhile."""
        return await asyncio.to_thread(self.embed_images, images, normalize=normalize)

    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Write a checkpoint directory in the real jina-clip layout (float32 safetensors)."""
        if self._tokenizer_dir is None:
            raise RuntimeError("this encoder was not loaded from a directory; no tokenizer files")
        return save_checkpoint(
            self.model,
            self.config,
            Path(directory),
            self._tokenizer_dir,
            preprocess=self.preprocessor.config,
        )

    def close(self) -> None:
        """Stop the decode threads and drop the model (frees GPU memory)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._model is not None:
            self._model = None
            if self.device.type == "cuda":
                torch.cuda.empty_cache()

    def __enter__(self) -> LocalEncoder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"LocalEncoder(model={self.model_name!r}, dim={self.dim}, device={self.device}, "
            f"dtype={self.dtype})"
        )

    @contextmanager
    def _inference(self) -> Iterator[None]:
        """No autograd, and float32 means float32 (no TF32) on CUDA."""
        with torch.inference_mode(), exact_float32(self.device, self.dtype):
            yield

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.num_workers, thread_name_prefix="jinaclip-decode")
        return self._pool

    def _progress_bar(self, total: int, unit: str) -> Any:
        enabled = self.progress
        if enabled is None:
            enabled = sys.stderr.isatty() and total >= 4 * self.batch_size
        return tqdm(total=total, unit=unit, disable=not enabled, leave=False)


@dataclass(frozen=True, slots=True)
class _BatchingDefaults:
    texts: int
    images: int
    tokens: int


#: CPU: small batches keep memory and the attention bias small. CUDA: large enough to keep
#: an H100 busy (benchmarks/RESULTS.md), small enough for a 16 GB card in bfloat16.
_CPU_BATCHING = _BatchingDefaults(texts=32, images=32, tokens=16_384)
_CUDA_BATCHING = _BatchingDefaults(texts=128, images=256, tokens=65_536)


class _DeviceResults:
    """Batch outputs left on the device and copied into `out` a few batches at a time.

    Copying each batch back as soon as it is queued would make the host wait for the GPU
    after every batch; this way it waits once per `flush_every` batches, and device memory
    holds at most that many batches of vectors.
    """

    def __init__(self, out: FloatMatrix, flush_every: int = 8) -> None:
        self.out = out
        self.flush_every = flush_every
        self._pending: list[tuple[list[int], torch.Tensor]] = []

    def add(self, indices: list[int], vectors: torch.Tensor) -> None:
        self._pending.append((indices, vectors))
        if len(self._pending) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        rows = [index for indices, _ in self._pending for index in indices]
        vectors = torch.cat([v for _, v in self._pending]).float().cpu().numpy()
        self._pending = []
        self.out[rows] = vectors


def _check_known_model(config: JinaClipConfig) -> None:
    """A checkpoint named like a known model must have its width and image size."""
    info = KNOWN_MODELS.get(config.name)
    if info is None:
        return
    if info.dim != config.dim or (info.image_size not in (None, config.vision.image_size)):
        raise CheckpointError(
            f"checkpoint named {config.name!r} has dim {config.dim} and image size "
            f"{config.vision.image_size}, but {info.name} has {info.dim} and {info.image_size}"
        )

"""The `Encoder` protocol both backends satisfy, and the few helpers they share.

Adapters and the CLI are written against this protocol only, so swapping the local model
for the hosted API (or a `jinaclip serve` instance) never changes what a vector means:
float32, shape (n, dim), the caller's order, unit L2 norm unless asked otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeAlias, runtime_checkable

import numpy as np
import numpy.typing as npt

from jinaclip.inputs import ImageInput

FloatMatrix: TypeAlias = npt.NDArray[np.float32]


@runtime_checkable
class Encoder(Protocol):
    """One model that embeds texts and images into the same space."""

    @property
    def model_name(self) -> str:
        """The model's name, e.g. `jina-clip-v1` (never a path with secrets in it)."""
        ...

    @property
    def dim(self) -> int:
        """Width of every returned vector."""
        ...

    def embed_texts(self, texts: Sequence[str], *, normalize: bool = True) -> FloatMatrix:
        """Embed texts; returns float32 (len(texts), dim) in input order."""
        ...

    def embed_images(self, images: Sequence[ImageInput], *, normalize: bool = True) -> FloatMatrix:
        """Embed images given in any `ImageInput` form; float32 (len(images), dim) in input order."""
        ...

    async def aembed_texts(self, texts: Sequence[str], *, normalize: bool = True) -> FloatMatrix:
        """Async twin of `embed_texts`; never blocks the event loop."""
        ...

    async def aembed_images(
        self, images: Sequence[ImageInput], *, normalize: bool = True
    ) -> FloatMatrix:
        """Async twin of `embed_images`; never blocks the event loop."""
        ...

    def close(self) -> None:
        """Release connections, threads or device memory held by the encoder."""
        ...


def l2_normalize(vectors: npt.ArrayLike) -> FloatMatrix:
    """Row-wise unit norm in float32. A zero row is an error, never a silent zero vector."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {matrix.shape}")
    norms = np.linalg.norm(matrix.astype(np.float64), axis=1, keepdims=True)
    bad = np.flatnonzero((norms[:, 0] == 0) | ~np.isfinite(norms[:, 0]))
    if bad.size:
        raise ValueError(f"cannot normalise rows {bad.tolist()[:10]}: zero or non-finite norm")
    normalized: FloatMatrix = (matrix / norms).astype(np.float32)
    return normalized


def empty_matrix(dim: int) -> FloatMatrix:
    """The result for an empty input list: shape (0, dim), not an error."""
    return np.zeros((0, dim), dtype=np.float32)

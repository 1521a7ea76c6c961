"""Regression against the real jina-clip-v1 weights, when a copy is available (JINACLIP_V1_DIR)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from jinaclip.local.encoder import LocalEncoder

REAL_DIR = os.environ.get("JINACLIP_V1_DIR")

pytestmark = [
    pytest.mark.realweights,
    pytest.mark.skipif(not REAL_DIR, reason="set JINACLIP_V1_DIR to a jina-clip-v1 directory"),
]


def test_hello_world_starts_like_the_published_jina_clip_v1_vector() -> None:
    assert REAL_DIR is not None
    with LocalEncoder.from_pretrained(Path(REAL_DIR), device="cpu") as encoder:
        assert encoder.dim == 768
        vector = encoder.embed_texts(["hello world"])[0]
    np.testing.assert_allclose(
        vector[:5], [-0.0862, -0.0101, -0.0056, 0.0375, -0.0472], atol=1e-3, rtol=0
    )

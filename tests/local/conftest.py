"""Fixtures for the native local backend: the golden fixture's encoder and tiny random checkpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from jinaclip.local.config import JinaClipConfig, TextConfig, VisionConfig
from jinaclip.local.encoder import LocalEncoder
from jinaclip.local.model import build_model, save_checkpoint
from tests.support.paths import TINY_FIXTURE_DIR

#: A very small jina-clip-shaped model: 2 text layers, 1 vision layer at 64 px (4x4 patches).
TINY_CONFIG = JinaClipConfig(
    text=TextConfig(
        vocab_size=576,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
    ),
    vision=VisionConfig(
        width=32, layers=1, head_width=16, patch_size=16, image_size=64, pt_hw_seq_len=4
    ),
    projection_dim=32,
    name="jina-clip-test-random",
)


def build_random_checkpoint(
    directory: Path, config: JinaClipConfig = TINY_CONFIG, seed: int = 0
) -> Path:
    """Save a randomly initialised model in the real key layout, with the fixture's tokenizer.

    Every parameter gets seeded noise so LayerNorms and biases are non-trivial.
    """
    torch.manual_seed(seed)
    model = build_model(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    return save_checkpoint(model, config, directory, TINY_FIXTURE_DIR)


@pytest.fixture(scope="session")
def random_checkpoint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_random_checkpoint(tmp_path_factory.mktemp("tiny-random"))


@pytest.fixture(scope="session")
def random_encoder(random_checkpoint_dir: Path) -> Iterator[LocalEncoder]:
    encoder = LocalEncoder.from_pretrained(random_checkpoint_dir, device="cpu", batch_size=4)
    yield encoder
    encoder.close()


@pytest.fixture(scope="session")
def fixture_encoder(tiny_fixture_dir: Path) -> Iterator[LocalEncoder]:
    encoder = LocalEncoder.from_pretrained(tiny_fixture_dir, device="cpu")
    yield encoder
    encoder.close()


@pytest.fixture(scope="session")
def expected(tiny_fixture_dir: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((tiny_fixture_dir / "expected.json").read_text())
    return loaded


@pytest.fixture(scope="session")
def expected_arrays(tiny_fixture_dir: Path) -> dict[str, np.ndarray]:
    with np.load(tiny_fixture_dir / "expected.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="session")
def fixture_texts(tiny_fixture_dir: Path) -> list[str]:
    texts: list[str] = json.loads((tiny_fixture_dir / "inputs" / "texts.json").read_text())
    return texts


def with_text(config: JinaClipConfig, **changes: object) -> JinaClipConfig:
    """`config` with some text-tower sizes changed."""
    return replace(config, text=replace(config.text, **changes))  # type: ignore[arg-type]

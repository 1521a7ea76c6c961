"""Tokenizer: tokenizer.json through `tokenizers`, WordPiece fallback from vocab.txt, truncation."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from jinaclip.local.config import CheckpointError
from jinaclip.local.tokenizer import TextTokenizer
from tests.support.paths import TINY_FIXTURE_DIR


def test_vocab_txt_fallback_tokenizes_like_tokenizer_json(
    tmp_path: Path, fixture_texts: list[str]
) -> None:
    for name in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(TINY_FIXTURE_DIR / name, tmp_path / name)
    fallback = TextTokenizer.from_directory(tmp_path, 512)
    reference = TextTokenizer.from_directory(TINY_FIXTURE_DIR, 512)
    assert fallback.encode(fixture_texts) == reference.encode(fixture_texts)


def test_texts_are_truncated_to_max_length_with_cls_and_sep(
    expected: dict[str, Any], fixture_texts: list[str]
) -> None:
    tokenizer = TextTokenizer.from_directory(TINY_FIXTURE_DIR, 16)
    ids = tokenizer.encode([fixture_texts[5], "a photo of a cat."])
    assert len(ids[0]) == 16
    assert ids[0][0] == 101
    assert ids[0][-1] == 102
    assert ids[0][:15] == expected["text"]["items"][5]["input_ids"][:15]
    assert ids[1] == expected["text"]["items"][0]["input_ids"]


def test_empty_text_is_just_cls_and_sep() -> None:
    assert TextTokenizer.from_directory(TINY_FIXTURE_DIR).encode([""]) == [[101, 102]]


def test_vocab_size_is_the_tokenizers_not_the_embeddings() -> None:
    assert TextTokenizer.from_directory(TINY_FIXTURE_DIR).vocab_size == 550


def test_a_directory_without_tokenizer_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"neither tokenizer\.json nor vocab\.txt"):
        TextTokenizer.from_directory(tmp_path)


def test_max_length_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="max_length"):
        TextTokenizer.from_directory(TINY_FIXTURE_DIR, 1)

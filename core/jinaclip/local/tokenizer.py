"""The BERT WordPiece tokenizer of jina-clip, through the `tokenizers` library only.

`tokenizer.json` is read directly (never `auto_map`, never remote code); without it a
WordPiece tokenizer is built from `vocab.txt` and the lowercase settings of
`tokenizer_config.json`. Texts are truncated to `max_length` tokens including `[CLS]` and
`[SEP]`, as `encode_text` does; padding is left to the encoder, which pads each
length-sorted batch only to its own longest text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece

from jinaclip.local.config import CheckpointError

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)


class TextTokenizer:
    """Texts -> lists of token ids, `[CLS] ... [SEP]`, at most `max_length` long."""

    def __init__(self, tokenizer: Tokenizer, max_length: int) -> None:
        if max_length < 2:
            raise ValueError(f"max_length must be at least 2 ([CLS] and [SEP]), got {max_length}")
        self.max_length = max_length
        self._tokenizer = tokenizer
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_length)

    @classmethod
    def from_directory(cls, directory: Path, max_length: int = 512) -> TextTokenizer:
        """Load from `tokenizer.json`, else build WordPiece from `vocab.txt`."""
        path = directory / "tokenizer.json"
        if path.is_file():
            return cls(Tokenizer.from_file(str(path)), max_length)
        vocab = directory / "vocab.txt"
        if not vocab.is_file():
            raise CheckpointError(f"{directory} has neither tokenizer.json nor vocab.txt")
        return cls(_wordpiece_from_vocab(vocab, _tokenizer_config(directory)), max_length)

    @property
    def vocab_size(self) -> int:
        """Tokens the tokenizer can emit (special tokens included)."""
        size: int = self._tokenizer.get_vocab_size(with_added_tokens=True)
        return size

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, truncated; no padding."""
        return [list(encoding.ids) for encoding in self._tokenizer.encode_batch(list(texts))]


def _tokenizer_config(directory: Path) -> dict[str, Any]:
    path = directory / "tokenizer_config.json"
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    return raw if isinstance(raw, dict) else {}


def _wordpiece_from_vocab(vocab: Path, config: dict[str, Any]) -> Tokenizer:
    tokens = vocab.read_text(encoding="utf-8").splitlines()
    ids = {token: index for index, token in enumerate(tokens)}
    cls_token = str(config.get("cls_token", "[CLS]"))
    sep_token = str(config.get("sep_token", "[SEP]"))
    unk_token = str(config.get("unk_token", "[UNK]"))
    missing = [t for t in (cls_token, sep_token, unk_token) if t not in ids]
    if missing:
        raise CheckpointError(f"{vocab} lacks the special tokens {missing}")
    tokenizer = Tokenizer(WordPiece(ids, unk_token=unk_token))
    lowercase = bool(config.get("do_lower_case", True))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=bool(config.get("tokenize_chinese_chars", True)),
        strip_accents=config.get("strip_accents"),
        lowercase=lowercase,
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{cls_token} $A {sep_token}",
        special_tokens=[(cls_token, ids[cls_token]), (sep_token, ids[sep_token])],
    )
    return tokenizer

"""`JinaClipModel`: both towers and the logit scale as one trainable `nn.Module`.

This is the public building block for loading, saving and training jina-clip-shaped models.
It works with autograd (no inference mode here; `LocalEncoder` adds that). Checkpoints are
read and written in the real jina-clip-v1 key layout (`text_model.transformer.*`,
`vision_model.*` with the original EVA names, a 0-d `logit_scale`), safetensors only.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from torch import nn

from jinaclip.local import text as text_tower
from jinaclip.local import vision as vision_tower
from jinaclip.local.config import (
    CONFIG_FILE,
    PREPROCESSOR_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    JinaClipConfig,
    PreprocessConfig,
    load_config,
    preprocess_config_dict,
)
from jinaclip.local.tokenizer import TOKENIZER_FILES

LOGIT_SCALE_KEY = "logit_scale"


class JinaClipModel(nn.Module):
    """Text tower (JinaBERT v2), vision tower (EVA02 on timm) and the stored log logit scale."""

    def __init__(self, config: JinaClipConfig) -> None:
        super().__init__()
        self.config = config
        self.text_model = text_tower.JinaBertModel(config.text)
        self.vision_model = vision_tower.build_vision_tower(config.vision)
        self.logit_scale = nn.Parameter(torch.tensor(config.logit_scale_init_value))

    def encode_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean-pooled text embeddings (B, dim), float32, not normalised."""
        return self.text_model.encode(input_ids, attention_mask)

    def encode_image(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """CLS-token image embeddings (B, dim), float32, not normalised."""
        features: torch.Tensor = self.vision_model(pixel_values)
        return features.float()

    def set_fused_attn(self, enabled: bool) -> None:
        """SDPA (True, default) or the manual softmax attention (False) in both towers."""
        self.text_model.set_fused_attn(enabled)
        vision_tower.set_fused_attn(self.vision_model, enabled)

    def compile_towers(self) -> None:
        """`torch.compile` both towers in place (state-dict names unchanged). The text tower
        is compiled for dynamic shapes, since every batch has its own length."""
        self.text_model.compile(dynamic=True)
        self.vision_model.compile()

    def checkpoint_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights under the real jina-clip checkpoint names."""
        state = self.state_dict()
        out: dict[str, torch.Tensor] = {LOGIT_SCALE_KEY: state[LOGIT_SCALE_KEY]}
        out.update(text_tower.to_checkpoint_keys(_sub(state, "text_model.")))
        out.update(vision_tower.to_checkpoint_keys(_sub(state, "vision_model.")))
        return out

    def load_checkpoint_state_dict(self, checkpoint: Mapping[str, torch.Tensor]) -> None:
        """Load weights in the checkpoint layout; missing, unexpected or misshapen keys raise."""
        claimed = (text_tower.CHECKPOINT_PREFIX, vision_tower.CHECKPOINT_PREFIX)
        foreign = [k for k in checkpoint if k != LOGIT_SCALE_KEY and not k.startswith(claimed)]
        mapped: dict[str, torch.Tensor] = {}
        if LOGIT_SCALE_KEY in checkpoint:
            mapped[LOGIT_SCALE_KEY] = checkpoint[LOGIT_SCALE_KEY].reshape(())
        for key, value in text_tower.checkpoint_filter_fn(checkpoint).items():
            mapped["text_model." + key] = value
        for key, value in vision_tower.checkpoint_filter_fn(checkpoint).items():
            mapped["vision_model." + key] = value
        expected = self.state_dict()
        missing = [k for k in expected if k not in mapped]
        unexpected = foreign + [_checkpoint_name(k) for k in mapped if k not in expected]
        misshapen = [
            f"{k} {tuple(mapped[k].shape)} (model expects {tuple(v.shape)})"
            for k, v in expected.items()
            if k in mapped and mapped[k].shape != v.shape
        ]
        if missing or unexpected or misshapen:
            raise CheckpointError(_key_report(missing, unexpected, misshapen))
        self.load_state_dict(mapped, strict=True)


def _sub(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def _checkpoint_name(model_key: str) -> str:
    """A model key shown the way it is spelled in the checkpoint file."""
    if model_key.startswith("text_model."):
        return text_tower.CHECKPOINT_PREFIX + model_key[len("text_model.") :]
    if model_key.startswith("vision_model."):
        sub = {model_key[len("vision_model.") :]: torch.empty(0)}
        return next(iter(vision_tower.to_checkpoint_keys(sub)))
    return model_key


def _key_report(missing: list[str], unexpected: list[str], misshapen: list[str]) -> str:
    parts = ["checkpoint does not match the model built from config.json"]
    if missing:
        names = ", ".join(_checkpoint_name(k) for k in missing)
        parts.append(f"missing keys ({len(missing)}): {names}")
    if unexpected:
        parts.append(f"unexpected keys ({len(unexpected)}): {', '.join(unexpected)}")
    if misshapen:
        parts.append(f"shape mismatches ({len(misshapen)}): {', '.join(misshapen)}")
    return "; ".join(parts)


def build_model(config: JinaClipConfig) -> JinaClipModel:
    """A randomly initialised model with the sizes in `config` (float32, CPU, train mode)."""
    return JinaClipModel(config)


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file on CPU; no pickle is ever read."""
    from safetensors.torch import load_file

    if not path.is_file():
        raise CheckpointError(f"{path} is missing (only safetensors weights are loaded)")
    tensors: dict[str, torch.Tensor] = load_file(str(path), device="cpu")
    return tensors


def load_model(
    directory: Path | str, *, name: str | None = None
) -> tuple[JinaClipModel, JinaClipConfig]:
    """Build the model from `config.json` and load `model.safetensors` (strict, by key)."""
    directory = Path(directory)
    config = load_config(directory, name=name)
    model = build_model(config)
    model.load_checkpoint_state_dict(read_safetensors(directory / WEIGHTS_FILE))
    model.eval()
    return model, config


def save_checkpoint(
    model: JinaClipModel,
    config: JinaClipConfig,
    directory: Path | str,
    tokenizer_dir_or_files: Path | str | Iterable[Path | str],
    preprocess: PreprocessConfig | None = None,
) -> Path:
    """Write a loadable checkpoint directory in the real key layout.

    Writes config.json, model.safetensors (float32, contiguous), preprocessor_config.json,
    and copies the tokenizer files (from a directory: those of `TOKENIZER_FILES` present;
    or the given files). Returns the directory.
    """
    from safetensors.torch import save_file

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.detach().to(device="cpu", dtype=torch.float32).contiguous()
        for k, v in model.checkpoint_state_dict().items()
    }
    save_file(state, str(out / WEIGHTS_FILE), metadata={"format": "pt"})
    (out / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
    preprocess = preprocess or PreprocessConfig(size=config.vision.image_size)
    (out / PREPROCESSOR_FILE).write_text(
        json.dumps(preprocess_config_dict(preprocess), indent=2) + "\n", encoding="utf-8"
    )
    for source in _tokenizer_sources(tokenizer_dir_or_files):
        if source.resolve() != (out / source.name).resolve():
            shutil.copyfile(source, out / source.name)
    return out


def _tokenizer_sources(spec: Path | str | Iterable[Path | str]) -> list[Path]:
    if isinstance(spec, str | Path):
        path = Path(spec)
        if path.is_dir():
            found = [path / name for name in TOKENIZER_FILES if (path / name).is_file()]
            if not any(p.name in ("tokenizer.json", "vocab.txt") for p in found):
                raise CheckpointError(f"{path} has neither tokenizer.json nor vocab.txt")
            return found
        files = [path]
    else:
        files = [Path(p) for p in spec]
    absent = [str(p) for p in files if not p.is_file()]
    if absent:
        raise CheckpointError(f"tokenizer files not found: {', '.join(absent)}")
    return files

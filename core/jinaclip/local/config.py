"""jina-clip `config.json` and `preprocessor_config.json` -> small dataclasses (open_clip style).

A new jina-clip-shaped model is a config, not new code: every size comes from here. The
real config.json carries no text-tower sizes, so `TextConfig` starts from the JinaBERT v2
base defaults and overlays `text_config.hf_model_config_kwargs`, as the reference code does.
Features the native towers do not implement (projection heads, post-norm vision blocks,
non-GLU text MLPs) are refused with `CheckpointError` instead of being silently ignored.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jinaclip.errors import JinaClipError

CONFIG_FILE = "config.json"
PREPROCESSOR_FILE = "preprocessor_config.json"
WEIGHTS_FILE = "model.safetensors"

#: OpenAI CLIP normalisation, the jina-clip-v1 preprocessor's values.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class CheckpointError(JinaClipError, ValueError):
    """A checkpoint directory whose config or weights do not describe a loadable jina-clip model."""


@dataclass(frozen=True, slots=True)
class TextConfig:
    """JinaBERT v2 text tower; defaults are `jinaai/jina-bert-flash-implementation` (v2 base)."""

    vocab_size: int = 30528  # embedding rows (padded to a multiple of 64), not len(tokenizer)
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072  # GLU: gated_layers has 2x this many rows
    layer_norm_eps: float = 1e-12
    type_vocab_size: int = 2
    pad_token_id: int = 0
    max_position_embeddings: int = 8192  # informational: positions come from ALiBi only

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


@dataclass(frozen=True, slots=True)
class VisionConfig:
    """EVA02 vision tower, sizes in the reference `JinaCLIPVisionConfig` field names."""

    width: int = 768
    layers: int = 12
    head_width: int = 64
    patch_size: int = 16
    image_size: int = 224
    mlp_ratio: float = 2.6667
    qkv_bias: bool = True
    rope_embeddings: bool = True
    pt_hw_seq_len: int = 14
    intp_freq: bool = False
    subln: bool = True
    ls_init_value: float | None = None

    @property
    def num_heads(self) -> int:
        return self.width // self.head_width

    @property
    def grid_size(self) -> int:
        return self.image_size // self.patch_size


@dataclass(frozen=True, slots=True)
class PreprocessConfig:
    """What `preprocessor_config.json` says about turning an RGB image into pixel values."""

    size: int = 224
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD


@dataclass(frozen=True, slots=True)
class JinaClipConfig:
    """The whole model: two towers, no projections, one shared embedding width."""

    text: TextConfig = field(default_factory=TextConfig)
    vision: VisionConfig = field(default_factory=VisionConfig)
    projection_dim: int = 768
    logit_scale_init_value: float = 2.6592
    name: str = "jina-clip-v1"

    @property
    def dim(self) -> int:
        return self.projection_dim

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, name: str | None = None) -> JinaClipConfig:
        """Parse a jina_clip config.json dict; unsupported architecture switches raise."""
        model_type = raw.get("model_type")
        if model_type not in (None, "jina_clip"):
            raise CheckpointError(f"config.json has model_type {model_type!r}, not 'jina_clip'")
        if raw.get("add_projections", False):
            raise CheckpointError("add_projections=true is not supported by the native towers")
        text = _text_config(raw.get("text_config") or {})
        vision = _vision_config(raw.get("vision_config") or {})
        dim = int(raw.get("projection_dim", text.hidden_size))
        if dim != text.hidden_size or dim != vision.width:
            raise CheckpointError(
                f"projection_dim {dim} must equal the text hidden size {text.hidden_size} and "
                f"the vision width {vision.width} (models without projection layers)"
            )
        label = name or str(raw.get("_name_or_path") or "jina-clip")
        return cls(
            text=text,
            vision=vision,
            projection_dim=dim,
            logit_scale_init_value=float(raw.get("logit_scale_init_value", 2.6592)),
            name=label.rstrip("/").split("/")[-1] or "jina-clip",
        )

    def to_dict(self) -> dict[str, Any]:
        """The config.json the reference code writes (real field names, no remote-code map)."""
        text = asdict(self.text)
        text.update(hidden_act="gelu", mlp_type="glu", use_flash_attn=False, use_qk_norm=False)
        vision = asdict(self.vision)
        vision.update(
            embed_dim=self.vision.width,
            post_norm=False,
            naive_swiglu=True,
            proj_type=None,
            model_type="jina_clip_vision",
        )
        return {
            "_name_or_path": self.name,
            "add_projections": False,
            "architectures": ["JinaCLIPModel"],
            "logit_scale_init_value": self.logit_scale_init_value,
            "model_type": "jina_clip",
            "projection_dim": self.projection_dim,
            "text_config": {
                "embed_dim": self.projection_dim,
                "hf_model_config_kwargs": text,
                "hf_model_name_or_path": "jinaai/jina-bert-flash-implementation",
                "model_type": "jina_clip_text",
                "pooler_type": "mean_pooler",
                "proj_bias": False,
                "proj_type": None,
            },
            "torch_dtype": "float32",
            "vision_config": vision,
        }


def _text_config(raw: dict[str, Any]) -> TextConfig:
    kwargs: dict[str, Any] = dict(raw.get("hf_model_config_kwargs") or {})
    checks = {
        "pooler_type": (raw.get("pooler_type", "mean_pooler"), "mean_pooler"),
        "proj_type": (raw.get("proj_type"), None),
        "mlp_type": (kwargs.get("mlp_type", "glu"), "glu"),
        "hidden_act": (kwargs.get("hidden_act", "gelu"), "gelu"),
        "use_qk_norm": (kwargs.get("use_qk_norm", False), False),
    }
    for key, (value, supported) in checks.items():
        if value != supported:
            raise CheckpointError(
                f"text_config {key}={value!r} is not supported (expected {supported!r})"
            )
    known = set(TextConfig.__dataclass_fields__)
    return TextConfig(**{k: v for k, v in kwargs.items() if k in known})


def _vision_config(raw: dict[str, Any]) -> VisionConfig:
    if raw.get("post_norm", False):
        raise CheckpointError("vision_config post_norm=true is not supported")
    if raw.get("proj_type") is not None:
        raise CheckpointError(f"vision_config proj_type={raw['proj_type']!r} is not supported")
    if not raw.get("naive_swiglu", True):
        raise CheckpointError("vision_config naive_swiglu=false is not supported")
    width = int(raw.get("width", 768))
    if int(raw.get("embed_dim", width)) != width:
        raise CheckpointError("vision_config embed_dim differs from width: needs a projection")
    known = set(VisionConfig.__dataclass_fields__)
    vision = VisionConfig(**{k: v for k, v in raw.items() if k in known})
    if vision.width % vision.head_width:
        raise CheckpointError(
            f"vision width {vision.width} is not a multiple of head_width {vision.head_width}"
        )
    if vision.rope_embeddings and not vision.intp_freq and vision.pt_hw_seq_len != vision.grid_size:
        raise CheckpointError(
            f"vision pt_hw_seq_len {vision.pt_hw_seq_len} must equal the patch grid "
            f"{vision.grid_size} when intp_freq is false (as in the reference RoPE)"
        )
    return vision


def load_config(directory: Path, *, name: str | None = None) -> JinaClipConfig:
    """Read `config.json` from a checkpoint directory."""
    path = directory / CONFIG_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path} is missing: not a jina-clip checkpoint directory") from exc
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path} must hold a JSON object")
    return JinaClipConfig.from_dict(raw, name=name)


def load_preprocess_config(directory: Path, default_size: int) -> PreprocessConfig:
    """Read `preprocessor_config.json`; absent means the CLIP defaults at the tower's size."""
    path = directory / PREPROCESSOR_FILE
    if not path.is_file():
        return PreprocessConfig(size=default_size)
    raw = json.loads(path.read_text(encoding="utf-8"))
    size = raw.get("size", default_size)
    if isinstance(size, dict):
        size = size.get("shortest_edge", size.get("height", default_size))
    mean = tuple(float(x) for x in raw.get("mean", raw.get("image_mean", CLIP_MEAN)))
    std = tuple(float(x) for x in raw.get("std", raw.get("image_std", CLIP_STD)))
    if len(mean) != 3 or len(std) != 3:
        raise CheckpointError(f"{path}: mean and std need 3 values each")
    if raw.get("resize_mode", "shortest") != "shortest":
        raise CheckpointError(f"{path}: resize_mode {raw['resize_mode']!r} is not supported")
    if raw.get("interpolation", "bicubic") != "bicubic":
        raise CheckpointError(f"{path}: interpolation {raw['interpolation']!r} is not supported")
    return PreprocessConfig(
        size=int(size), mean=(mean[0], mean[1], mean[2]), std=(std[0], std[1], std[2])
    )


def preprocess_config_dict(config: PreprocessConfig) -> dict[str, Any]:
    """The preprocessor_config.json the reference processor reads."""
    return {
        "fill_color": 0,
        "image_processor_type": "JinaCLIPImageProcessor",
        "interpolation": "bicubic",
        "mean": list(config.mean),
        "processor_class": "JinaCLIPProcessor",
        "resize_mode": "shortest",
        "size": config.size,
        "std": list(config.std),
    }

"""JinaBERT v2 text tower, written natively in torch: ALiBi, GLU MLP, post-LN, mean pooling.

Module names equal the checkpoint's `text_model.transformer.*` names, so the key map is a
prefix strip. There is no position table: the ALiBi bias is built for each batch's actual
length, which is what lets the tower read up to 8192 tokens. Attention goes through
`scaled_dot_product_attention` with the bias as an additive mask, or through a manual
softmax path (`fused_attn=False`) kept for reference checks; both share the bias code and
process queries in chunks so an 8192-token sequence never materialises a full L x L bias.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from jinaclip.local.config import TextConfig

CHECKPOINT_PREFIX = "text_model.transformer."
#: Buffers some BERT checkpoints carry that the native tower recomputes (or never needs).
_DERIVED_KEYS = ("embeddings.position_ids",)
#: Upper bound on attention-bias elements held at once (B x heads x query chunk x keys).
#: On CUDA the bias of a whole 512 x 512-token batch fits, so SDPA runs once per layer;
#: on CPU smaller chunks keep memory traffic down.
_BIAS_BUDGET_CPU = 1 << 25
_BIAS_BUDGET_CUDA = 1 << 30


def alibi_slopes(num_heads: int) -> list[float]:
    """Press et al. ALiBi slopes; a non-power-of-two head count borrows from the next power."""

    def power_of_two(n: int) -> list[float]:
        start = 2.0 ** (-(2.0 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    if math.log2(num_heads).is_integer():
        return power_of_two(num_heads)
    closest = 2 ** math.floor(math.log2(num_heads))
    return power_of_two(closest) + alibi_slopes(2 * closest)[0::2][: num_heads - closest]


def attention_bias(
    slopes: torch.Tensor,
    key_mask: torch.Tensor,
    q_start: int,
    q_end: int,
    dtype: torch.dtype,
    *,
    has_padding: bool | None = None,
) -> torch.Tensor:
    """Additive bias for queries q_start..q_end: symmetric ALiBi `-slope*|i-j|`, and the most
    negative float on pad keys. Shape (B, heads, Lq, L), or (1, heads, Lq, L) without padding.
    `has_padding` spares the check (a device sync on CUDA) when the caller already knows."""
    device = key_mask.device
    query_pos = torch.arange(q_start, q_end, device=device, dtype=torch.float32)
    key_pos = torch.arange(key_mask.shape[1], device=device, dtype=torch.float32)
    distance = (query_pos[:, None] - key_pos[None, :]).abs_()
    alibi = distance[None] * slopes.to(device=device, dtype=torch.float32).neg()[:, None, None]
    bias = alibi[None]
    pad = ~key_mask.bool()
    if has_padding is None:
        has_padding = bool(pad.any())
    if has_padding:
        bias = bias.masked_fill(pad[:, None, None, :], torch.finfo(torch.float32).min)
    return bias.to(dtype)


class AttentionBias:
    """The bias for one batch, cut into query chunks of at most `budget` elements each.

    A single chunk is built once and shared by every layer; longer inputs rebuild each
    chunk when a layer needs it, so memory stays bounded at 8192 tokens.
    """

    def __init__(
        self, slopes: list[float], key_mask: torch.Tensor, dtype: torch.dtype, budget: int
    ) -> None:
        batch, self.length = key_mask.shape
        self.slopes = torch.tensor(slopes, dtype=torch.float32, device=key_mask.device)
        self.key_mask = key_mask
        self.dtype = dtype
        # Without padding the bias is one (1, heads, Lq, L) tensor broadcast over the batch.
        self.has_padding = bool((key_mask == 0).any())
        bias_batch = batch if self.has_padding else 1
        per_row = bias_batch * len(slopes) * self.length
        self.chunk = max(1, min(self.length, budget // max(per_row, 1)))
        self._whole: torch.Tensor | None = None

    def _bias(self, start: int, end: int) -> torch.Tensor:
        return attention_bias(
            self.slopes, self.key_mask, start, end, self.dtype, has_padding=self.has_padding
        )

    @property
    def num_chunks(self) -> int:
        return -(-self.length // self.chunk)

    def chunks(self) -> Iterator[tuple[int, int, torch.Tensor]]:
        """(query start, query end, bias) for every chunk, in order."""
        if self.chunk >= self.length:
            if self._whole is None:
                self._whole = self._bias(0, self.length)
            yield 0, self.length, self._whole
            return
        for start in range(0, self.length, self.chunk):
            end = min(start + self.chunk, self.length)
            yield start, end, self._bias(start, end)


class JinaBertEmbeddings(nn.Module):
    """Word plus token-type embeddings; no position embeddings (ALiBi carries position)."""

    def __init__(self, config: TextConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        # Every token has type 0, as in `encode_text`.
        embedded: torch.Tensor = (
            self.word_embeddings(input_ids) + self.token_type_embeddings.weight[0]
        )
        return embedded


class JinaBertAttention(nn.Module):
    """Fused-QKV self-attention (rows q | k | v, head-major) with an additive ALiBi bias."""

    def __init__(self, config: TextConfig) -> None:
        super().__init__()
        if config.hidden_size % config.num_attention_heads:
            raise ValueError(
                f"hidden_size {config.hidden_size} is not a multiple of "
                f"num_attention_heads {config.num_attention_heads}"
            )
        self.num_heads = config.num_attention_heads
        self.head_dim = config.head_dim
        self.Wqkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.out_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.fused_attn = True

    def forward(self, hidden: torch.Tensor, bias: AttentionBias) -> torch.Tensor:
        batch, length, width = hidden.shape
        qkv = self.Wqkv(hidden).view(batch, length, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, heads, L, head_dim)
        outputs = []
        for start, end, chunk_bias in bias.chunks():
            query = q[:, :, start:end]
            if self.fused_attn:
                out = F.scaled_dot_product_attention(query, k, v, attn_mask=chunk_bias)
            else:
                scores = (query @ k.transpose(-2, -1)) / math.sqrt(self.head_dim) + chunk_bias
                out = scores.softmax(dim=-1) @ v
            outputs.append(out)
        attended = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)
        projected: torch.Tensor = self.out_proj(
            attended.transpose(1, 2).reshape(batch, length, width)
        )
        return projected


class JinaBertGLU(nn.Module):
    """GLU MLP: exact GELU on the first half of `gated_layers`, times the second half, then `wo`."""

    def __init__(self, config: TextConfig) -> None:
        super().__init__()
        self.intermediate_size = config.intermediate_size
        self.gated_layers = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=False)
        self.wo = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        gated = self.gated_layers(hidden)
        activated = (
            F.gelu(gated[..., : self.intermediate_size]) * gated[..., self.intermediate_size :]
        )
        out: torch.Tensor = self.wo(activated)
        return out


class JinaBertLayer(nn.Module):
    """Post-LN block: LN(h + attn(h)), then LN(h + glu(h))."""

    def __init__(self, config: TextConfig) -> None:
        super().__init__()
        self.mixer = JinaBertAttention(config)
        self.norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = JinaBertGLU(config)
        self.norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden: torch.Tensor, bias: AttentionBias) -> torch.Tensor:
        hidden = self.norm1(hidden + self.mixer(hidden, bias))
        out: torch.Tensor = self.norm2(hidden + self.mlp(hidden))
        return out


class JinaBertEncoder(nn.Module):
    """The stack of layers, named as in the checkpoint (`encoder.layers.N`)."""

    def __init__(self, config: TextConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(JinaBertLayer(config) for _ in range(config.num_hidden_layers))


class JinaBertModel(nn.Module):
    """The text tower: token ids and attention mask in, mean-pooled embedding out."""

    def __init__(self, config: TextConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = JinaBertEmbeddings(config)
        self.emb_ln = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.encoder = JinaBertEncoder(config)
        # A plain list, not a buffer: `.to(bfloat16)` must not round the slopes.
        self.slopes = alibi_slopes(config.num_attention_heads)

    def set_fused_attn(self, enabled: bool) -> None:
        """SDPA (True, default) or the manual softmax path (False) in every layer."""
        for module in self.modules():
            if isinstance(module, JinaBertAttention):
                module.fused_attn = enabled

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token states after the last layer, (B, L, hidden)."""
        hidden = self.emb_ln(self.embeddings(input_ids))
        budget = _BIAS_BUDGET_CUDA if hidden.device.type == "cuda" else _BIAS_BUDGET_CPU
        bias = AttentionBias(self.slopes, attention_mask, hidden.dtype, budget)
        for layer in self.encoder.layers:
            hidden = layer(hidden, bias)
        out: torch.Tensor = hidden
        return out

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean over the non-pad tokens, in float32 whatever the weights' dtype."""
        states: torch.Tensor = self(input_ids, attention_mask)  # __call__: .compile() applies
        hidden = states.float()
        mask = attention_mask.to(hidden.dtype).unsqueeze(-1)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def checkpoint_filter_fn(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Checkpoint keys `text_model.transformer.*` -> this tower's keys (a prefix strip).

    Keys of other towers are ignored; derived buffers are dropped. Pure, so it is tested on
    synthetic dicts; unknown names pass through and the loader reports them.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if not key.startswith(CHECKPOINT_PREFIX):
            continue
        name = key[len(CHECKPOINT_PREFIX) :]
        if name in _DERIVED_KEYS:
            continue
        out[name] = value
    return out


def to_checkpoint_keys(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """This tower's keys -> the checkpoint's `text_model.transformer.*` layout (for saving)."""
    return {CHECKPOINT_PREFIX + key: value for key, value in state_dict.items()}

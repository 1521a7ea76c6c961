"""Where the GPU time goes in each tower of the full-size jina-clip-v1 architecture.

Runs one text batch and one image batch of the real sizes (random weights) under
`torch.profiler`, then prints, per workload, the share of CUDA time by kernel family
(matrix products, attention, normalisation and elementwise, copies) and the achieved
TFLOP/s of the whole forward against the dense bf16 peak passed as `--peak-tflops`.

    uv run python -m benchmarks.profile_gpu                     # eager
    uv run python -m benchmarks.profile_gpu --compile           # torch.compile both towers
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable, Sequence

import torch

from jinaclip.local.config import JinaClipConfig
from jinaclip.local.model import JinaClipModel, build_model

#: Kernel-name fragments -> family, checked in order (names are lower-cased first).
FAMILIES: tuple[tuple[str, str], ...] = (
    ("flash", "attention"),
    ("fmha", "attention"),
    ("attention", "attention"),
    ("softmax", "attention"),
    ("gemm", "matrix products"),
    ("matmul", "matrix products"),
    ("sm90", "matrix products"),
    ("cutlass", "matrix products"),
    ("nvjet", "matrix products"),
    ("conv", "matrix products"),
    ("layer_norm", "normalisation"),
    ("norm", "normalisation"),
    ("memcpy", "copies"),
    ("copy", "copies"),
    ("cat", "copies"),
    ("triton", "fused elementwise (compiled)"),
)


def family(kernel: str) -> str:
    name = kernel.lower()
    for fragment, label in FAMILIES:
        if fragment in name:
            return label
    return "elementwise and other"


def text_flops(config: JinaClipConfig, batch: int, length: int) -> float:
    """Forward FLOPs of the text tower: 2 x weights x tokens plus the attention products."""
    t = config.text
    per_layer = 3 * t.hidden_size**2 + t.hidden_size**2 + 3 * t.hidden_size * t.intermediate_size
    tokens = batch * length
    attention = 4 * length * t.hidden_size * tokens
    return float(t.num_hidden_layers * (2 * per_layer * tokens + attention))


def vision_flops(config: JinaClipConfig, batch: int) -> float:
    """Forward FLOPs of the vision tower at its image size (CLS plus patch tokens)."""
    v = config.vision
    tokens_per_image = v.grid_size**2 + 1
    hidden = int(v.width * v.mlp_ratio)
    per_layer = 4 * v.width**2 + 3 * v.width * hidden
    tokens = batch * tokens_per_image
    attention = 4 * tokens_per_image * v.width * tokens
    patch = 2 * 3 * v.patch_size**2 * v.width * batch * v.grid_size**2
    return float(v.layers * (2 * per_layer * tokens + attention) + patch)


def profile(
    label: str, fn: Callable[[], object], flops: float, peak: float, repeats: int
) -> list[Sequence[object]]:
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / repeats
    activities = [torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as prof:
        fn()
        torch.cuda.synchronize()
    by_family: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        device_us = getattr(event, "self_device_time_total", 0.0)
        if device_us > 0:
            by_family[family(event.key)] += device_us
    total = sum(by_family.values()) or 1.0
    achieved = flops / seconds / 1e12
    rows: list[Sequence[object]] = [
        (label, "wall per batch", f"{seconds * 1000:.1f} ms", f"{achieved:.0f} TFLOP/s", ""),
        (label, "share of peak", "", f"{100 * achieved / peak:.0f}%", ""),
    ]
    for name, us in sorted(by_family.items(), key=lambda kv: -kv[1]):
        rows.append((label, name, f"{us / 1000:.1f} ms", "", f"{100 * us / total:.0f}%"))
    rows.append((label, "GPU busy / wall", "", "", f"{100 * total / 1e6 / seconds:.0f}%"))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--text-batch", type=int, default=256)
    parser.add_argument("--text-lengths", default="128,512")
    parser.add_argument("--image-batch", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="H100 SXM dense bf16")
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args(argv)

    dtype = getattr(torch, args.dtype)
    config = JinaClipConfig()
    torch.manual_seed(0)
    model: JinaClipModel = build_model(config).to("cuda", dtype).eval()
    if args.compile:
        model.compile_towers()
    print(
        f"jina-clip-v1 architecture, random weights, {dtype}, {torch.cuda.get_device_name()}, "
        f"torch {torch.__version__}, compile={args.compile}"
    )
    rows: list[Sequence[object]] = []
    with torch.inference_mode():
        for length in (int(n) for n in args.text_lengths.split(",")):
            ids = torch.randint(1000, 30000, (args.text_batch, length), device="cuda")
            mask = torch.ones_like(ids)
            rows += profile(
                f"text {args.text_batch}x{length} tok",
                lambda ids=ids, mask=mask: model.encode_text(ids, mask),
                text_flops(config, args.text_batch, length),
                args.peak_tflops,
                args.repeats,
            )
        size = config.vision.image_size
        pixels = torch.randn(args.image_batch, 3, size, size, device="cuda", dtype=dtype)
        rows += profile(
            f"vision {args.image_batch} images",
            lambda: model.encode_image(pixels),
            vision_flops(config, args.image_batch),
            args.peak_tflops,
            args.repeats,
        )
    print("\n| workload | part | time | rate | share of GPU time |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


if __name__ == "__main__":
    main()

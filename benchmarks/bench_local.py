"""Throughput of the native local encoder at full jina-clip-v1 size (random weights).

Builds the real architecture (768-d, 12 text + 12 vision layers) with random weights, so
no download is needed, and prints tables whose ratios are measured side by side in one run:

- texts/s at 16, 128 and 512 tokens, and images/s end to end from PNG bytes vs model alone;
- length-sorted batching (what `LocalEncoder` does) vs unsorted vs padded-to-max on a
  16..512-token mix;
- SDPA vs manual attention, for both towers;
- our vision tower vs open_clip's `EVA02-B-16` visual tower at random init.

    uv run python -m benchmarks.bench_local --quick                 # CPU, a few minutes
    uv run python -m benchmarks.bench_local --device cuda --dtype bfloat16 \\
        --batch-sizes 16,64,256 --compile                           # GPU sweep, peak memory

Timings are medians of `--repeats` interleaved runs after one warm-up run each.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from PIL import Image

from jinaclip.local.config import JinaClipConfig, PreprocessConfig
from jinaclip.local.encoder import LocalEncoder, resolve_device, resolve_dtype
from jinaclip.local.model import JinaClipModel, build_model
from jinaclip.local.preprocess import ImagePreprocessor
from jinaclip.local.tokenizer import TextTokenizer
from tests.support.paths import TINY_FIXTURE_DIR


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    parser.add_argument("--dtype", default=None, help="float32, bfloat16, float16")
    parser.add_argument(
        "--batch-sizes", default="32", help="comma-separated text/image batch sizes"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="few items, one repeat (CPU)")
    parser.add_argument("--compile", action="store_true", help="torch.compile both towers")
    parser.add_argument("--no-open-clip", action="store_true", help="skip the open_clip row")
    parser.add_argument("--workers", type=int, default=None, help="image decode threads")
    return parser.parse_args(argv)


def compare(
    fns: dict[str, Callable[[], object]], repeats: int, sync: Callable[[], None]
) -> dict[str, float]:
    """Median seconds per call of each function, after one warm-up call each.

    Runs are interleaved (A, B, C, A, B, C, ...) so a load change on a shared machine hits
    every contender alike, and the ratios stay meaningful.
    """
    for fn in fns.values():
        fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def text_of(tokens: int) -> str:
    """A text that tokenizes to exactly `tokens` ids ([CLS] and [SEP] included)."""
    return " ".join(["the"] * (tokens - 2))


def realistic_mix(count: int, seed: int = 0) -> list[str]:
    """Token lengths spread over 16..512, skewed short like real passages."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.exp(rng.uniform(np.log(16), np.log(512), count)).astype(int), 16, 512)
    return [text_of(int(n)) for n in lengths]


def png_bytes(count: int, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        pixels = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "PNG", compress_level=1)
        out.append(buffer.getvalue())
    return out


def padded_batches(
    tokenizer: TextTokenizer, texts: list[str], batch_size: int, *, sort: bool, pad_to: int | None
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    ids = tokenizer.encode(texts)
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i])) if sort else list(range(len(ids)))
    batches = []
    for start in range(0, len(order), batch_size):
        chunk = [ids[i] for i in order[start : start + batch_size]]
        width = pad_to or max(map(len, chunk))
        input_ids = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, token_ids in enumerate(chunk):
            input_ids[row, : len(token_ids)] = torch.tensor(token_ids)
        batches.append((input_ids, (input_ids != 0).long()))
    return batches


def run_batches(
    model: JinaClipModel, batches: list[tuple[torch.Tensor, torch.Tensor]], device: torch.device
) -> None:
    with torch.inference_mode():
        for input_ids, mask in batches:
            model.encode_text(input_ids.to(device), mask.to(device))


def run_vision(
    model: JinaClipModel,
    pixels: torch.Tensor,
    batch_size: int,
    device: torch.device,
    dtype: torch.dtype,
) -> None:
    with torch.inference_mode():
        for start in range(0, len(pixels), batch_size):
            model.encode_image(pixels[start : start + batch_size].to(device, dtype))


class _EchoedRows(list[Sequence[object]]):
    """Rows that are also printed as they come, so a run cut short still reports."""

    def append(self, row: Sequence[object]) -> None:
        print("  " + " | ".join(str(cell) for cell in row), flush=True)
        super().append(row)


def print_table(title: str, header: Sequence[str], rows: list[Sequence[object]]) -> None:
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    repeats = 2 if args.quick else args.repeats
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    scale = 1 if args.quick else 4

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    config = JinaClipConfig()
    torch.manual_seed(0)
    model = build_model(config)
    tokenizer = TextTokenizer.from_directory(TINY_FIXTURE_DIR, 512)
    preprocessor = ImagePreprocessor(PreprocessConfig(size=config.vision.image_size))
    encoder = LocalEncoder(
        model,
        config,
        tokenizer,
        preprocessor,
        device=device,
        dtype=dtype,
        batch_size=batch_sizes[0],
        num_workers=args.workers,
        progress=False,
        compile=args.compile,
    )
    params = sum(p.numel() for p in encoder.model.parameters()) / 1e6
    print(
        f"jina-clip-v1 architecture, random weights, {params:.0f}M parameters, {device}, {dtype}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, compile={args.compile}"
    )

    def peak_mib() -> str:
        if device.type != "cuda":
            return "-"
        peak = torch.cuda.max_memory_allocated() / 2**20
        torch.cuda.reset_peak_memory_stats()
        return f"{peak:.0f}"

    counts = {16: 32 * scale, 128: 8 * scale, 512: 4 * scale}
    rows = _EchoedRows()
    for batch_size in batch_sizes:
        encoder.batch_size = encoder.image_batch_size = batch_size
        encoder.max_batch_tokens = batch_size * 512  # the batch column is the real batch
        for tokens, count in counts.items():
            # On a GPU, at least eight full batches, so launch overhead and the last partial
            # batch do not dominate.
            texts = [text_of(tokens)] * (count if device.type == "cpu" else 8 * batch_size)
            peak_mib()
            seconds = compare({"t": lambda t=texts: encoder.embed_texts(t)}, repeats, sync)["t"]
            rows.append(
                (
                    batch_size,
                    f"text {tokens} tok",
                    len(texts),
                    f"{len(texts) / seconds:,.2f}",
                    f"{len(texts) * tokens / seconds:,.0f}",
                    peak_mib(),
                )
            )
        pngs = png_bytes(4 * scale if device.type == "cpu" else 4 * batch_size)
        pixels = torch.from_numpy(
            np.stack([preprocessor(Image.open(io.BytesIO(b)).convert("RGB")) for b in pngs])
        )
        vision_fns: dict[str, Callable[[], object]] = {
            "end to end": lambda p=pngs: encoder.embed_images(p),
            "model alone": lambda p=pixels, b=batch_size: run_vision(
                encoder.model, p, b, device, dtype
            ),
        }
        vision = compare(vision_fns, repeats, sync)
        for name, seconds in vision.items():
            peak_mib()
            vision_fns[name]()
            sync()
            rows.append(
                (
                    batch_size,
                    f"images {name} (PNG 640x480)",
                    len(pngs),
                    f"{len(pngs) / seconds:,.2f}",
                    "-",
                    peak_mib(),
                )
            )
        ratio = vision["end to end"] / vision["model alone"]
        rows.append(
            (batch_size, "images: end-to-end time / model-alone time", "", f"{ratio:.2f}x", "", "")
        )
    print_table(
        "Throughput",
        ["batch", "workload", "items", "items/s", "tokens/s", "peak MiB"],
        rows,
    )

    batch_size = batch_sizes[0]
    mix = realistic_mix(16 * scale)
    mix_batch = min(batch_size, len(mix) // 4)  # at least four batches, or sorting cannot help
    strategies = {
        "length-sorted (LocalEncoder)": padded_batches(
            tokenizer, mix, mix_batch, sort=True, pad_to=None
        ),
        "unsorted, pad to batch max": padded_batches(
            tokenizer, mix, mix_batch, sort=False, pad_to=None
        ),
        "padded to 512": padded_batches(tokenizer, mix, mix_batch, sort=False, pad_to=512),
    }
    results = compare(
        {name: lambda b=b: run_batches(encoder.model, b, device) for name, b in strategies.items()},
        repeats,
        sync,
    )
    base = results["length-sorted (LocalEncoder)"]
    print_table(
        f"Batching on {len(mix)} texts of 16..512 tokens (batch {mix_batch})",
        ["strategy", "padded tokens", "texts/s", "time vs sorted"],
        [
            (
                name,
                sum(ids.numel() for ids, _ in strategies[name]),
                f"{len(mix) / sec:.2f}",
                f"{sec / base:.2f}x",
            )
            for name, sec in results.items()
        ],
    )

    texts_128 = [text_of(128)] * (4 * scale)
    texts_512 = [text_of(512)] * (2 * scale)
    images = pixels[: 2 * scale]

    def vision_images() -> None:
        run_vision(encoder.model, images, batch_size, device, dtype)

    def attention(fused: bool, fn: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            encoder.model.set_fused_attn(fused)
            try:
                return fn()
            finally:
                encoder.model.set_fused_attn(True)

        return run

    attention_rows: list[Sequence[object]] = []
    for label, fn in (
        ("text 128 tok", lambda: encoder.embed_texts(texts_128)),
        ("text 512 tok", lambda: encoder.embed_texts(texts_512)),
        ("vision 224 px", vision_images),
    ):
        timing = compare(
            {"sdpa": attention(True, fn), "manual": attention(False, fn)}, repeats, sync
        )
        sdpa, manual = timing["sdpa"], timing["manual"]
        attention_rows.append(
            (label, f"{sdpa * 1000:.0f}", f"{manual * 1000:.0f}", f"{manual / sdpa:.2f}x")
        )
    print_table(
        "SDPA vs manual attention",
        ["workload", "SDPA ms", "manual ms", "manual / SDPA"],
        attention_rows,
    )

    if not args.no_open_clip:
        import open_clip

        visual = (
            open_clip.create_model("EVA02-B-16", pretrained=None).visual.to(device, dtype).eval()
        )

        def open_clip_alone() -> None:
            with torch.inference_mode():
                visual(images.to(device, dtype))

        towers = compare({"ours": vision_images, "open_clip": open_clip_alone}, repeats, sync)
        print_table(
            f"Vision tower vs open_clip EVA02-B-16 (random init, {len(images)} images)",
            ["tower", "ms", "time vs ours"],
            [
                ("ours (timm Eva, RoPE grid 14, no head)", f"{towers['ours'] * 1000:.0f}", "1.00x"),
                (
                    "open_clip EVA02-B-16 visual (timm Eva + proj)",
                    f"{towers['open_clip'] * 1000:.0f}",
                    f"{towers['open_clip'] / towers['ours']:.2f}x",
                ),
            ],
        )
    encoder.close()


if __name__ == "__main__":
    main()

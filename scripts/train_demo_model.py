"""Train the demo checkpoint in core/jinaclip/demo/model/ from synthetic shapes, on CPU.

    uv run python scripts/train_demo_model.py            # rewrites the committed checkpoint
    uv run python scripts/train_demo_model.py --out /tmp/demo-model --steps 200

The model is jina-clip-shaped (JinaBERT v2 text tower, EVA02 vision tower on timm, built
by `jinaclip.local.model.build_model` and saved in the real jina-clip-v1 layout), only
small: it exists so `jinaclip demo`, the CLI and the cookbook work offline. Training is a
symmetric InfoNCE loss over batches of distinct synthetic scenes drawn fresh every step:
text-image on two views of each scene, plus image-image and text-text between the views
(jina-clip-v1 was also trained on text pairs; here that is what makes paraphrases and
redrawn pictures find each other). It is seeded and deterministic for a given thread count;
the default 3000 steps take about 14 minutes on 2 CPU cores. At the end the saved
directory is loaded back through `LocalEncoder.from_pretrained` and measured on a held-out
gallery drawn with another seed: that is the number the tests pin.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from jinaclip.demo import DEMO_MODEL_DIR
from jinaclip.demo import synthetic as syn
from jinaclip.local.config import JinaClipConfig, PreprocessConfig, TextConfig, VisionConfig
from jinaclip.local.encoder import LocalEncoder
from jinaclip.local.model import JinaClipModel, build_model, save_checkpoint
from jinaclip.local.preprocess import ImagePreprocessor
from jinaclip.local.tokenizer import TextTokenizer

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MODEL_NAME = "jina-clip-v1-demo"
#: Held-out seed: the tests and the demo draw their galleries from other seeds than training.
EVAL_SEED = 20_241_101
RENDER_SIZE = 128


def build_tokenizer(directory: Path) -> Tokenizer:
    """A lowercase BERT WordPiece tokenizer over the caption vocabulary, saved in BERT layout.

    The vocabulary is built directly (specials, every caption word whole, then single
    characters and their `##` continuations for unseen words), so it is the same on every run.
    """
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words: set[str] = set()
    for line in syn.vocabulary_corpus():
        words.update(w for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(line)))
    characters = list("abcdefghijklmnopqrstuvwxyz0123456789") + list(".,;:!?'\"-()&/")
    pieces = sorted(words - set(characters)) + characters + [f"##{c}" for c in characters]
    vocab = {token: index for index, token in enumerate([*SPECIAL_TOKENS, *pieces])}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(directory / "tokenizer.json"))
    ordered = sorted(vocab, key=vocab.__getitem__)
    (directory / "vocab.txt").write_text("\n".join(ordered) + "\n", encoding="utf-8")
    special = {
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
        "pad_token": "[PAD]",
        "sep_token": "[SEP]",
        "unk_token": "[UNK]",
    }
    (directory / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
    config = {
        "added_tokens_decoder": {
            str(vocab[t]): {
                "content": t,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
            for t in SPECIAL_TOKENS
        },
        "clean_up_tokenization_spaces": True,
        "do_basic_tokenize": True,
        "do_lower_case": True,
        "model_max_length": 512,
        "never_split": None,
        "strip_accents": None,
        "tokenize_chinese_chars": True,
        "tokenizer_class": "BertTokenizer",
        **special,
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    return tokenizer


def demo_config(vocab_size: int, args: argparse.Namespace) -> JinaClipConfig:
    """Small towers of the real architecture; embedding rows padded to a multiple of 64."""
    width = args.width
    text = TextConfig(
        vocab_size=-(-vocab_size // 64) * 64,
        hidden_size=width,
        num_hidden_layers=args.text_layers,
        num_attention_heads=width // 32,
        intermediate_size=2 * width,
    )
    grid = args.image_size // args.patch_size
    vision = VisionConfig(
        width=width,
        layers=args.vision_layers,
        head_width=32,
        patch_size=args.patch_size,
        image_size=args.image_size,
        pt_hw_seq_len=grid,
    )
    return JinaClipConfig(text=text, vision=vision, projection_dim=width, name=MODEL_NAME)


def all_scenes() -> list[syn.Scene]:
    """Every distinct scene; a training batch samples these without replacement."""
    singles = [
        syn.Scene(shape, colour, 1, size, position)
        for shape in syn.SHAPES
        for colour in syn.COLOURS
        for size in syn.SIZES
        for position in syn.POSITIONS
    ]
    groups = [
        syn.Scene(shape, colour, count, "small", "center")
        for shape in syn.SHAPES
        for colour in syn.COLOURS
        for count in syn.COUNTS[1:]
    ]
    return singles + groups


def _pad(ids: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(len(row) for row in ids)
    padded = torch.zeros(len(ids), length, dtype=torch.long)
    mask = torch.zeros(len(ids), length, dtype=torch.long)
    for i, row in enumerate(ids):
        padded[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return padded, mask


def infonce(
    a: torch.Tensor, b: torch.Tensor, scale: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Symmetric contrastive loss: row i of `a` belongs with row i of `b`."""
    logits = scale * a @ b.T
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def train(
    model: JinaClipModel,
    tokenizer: TextTokenizer,
    preprocessor: ImagePreprocessor,
    args: argparse.Namespace,
) -> None:
    rng = random.Random(args.seed)
    scenes = all_scenes()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embed" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embed" not in n)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.98),
    )
    warmup = max(1, args.steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (
            min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        ),
    )
    labels = torch.arange(args.batch_size)
    model.train()
    started = time.perf_counter()
    for step in range(args.steps):
        batch = rng.sample(scenes, args.batch_size)
        # Two views of every scene: two drawings (other jitter, background, layout) and two
        # captions (other templates and synonyms), each pair run through its tower at once.
        pixels = torch.from_numpy(
            np.stack([preprocessor(syn.render(s, rng, RENDER_SIZE)) for s in batch * 2])
        )
        ids, mask = _pad(tokenizer.encode([syn.caption(s, rng) for s in batch * 2]))
        images = F.normalize(model.encode_image(pixels), dim=-1).chunk(2)
        texts = F.normalize(model.encode_text(ids, mask), dim=-1).chunk(2)
        scale = model.logit_scale.exp().clamp(max=100.0)
        # Text-image on both views, as CLIP; plus image-image and text-text pairs, as
        # jina-clip's joint training does, so pictures and paraphrases also find each other.
        loss = (
            infonce(texts[0], images[0], scale, labels)
            + infonce(texts[1], images[1], scale, labels)
            + args.same_modality_weight * infonce(images[0], images[1], scale, labels)
            + args.same_modality_weight * infonce(texts[0], texts[1], scale, labels)
        ) / (2 + 2 * args.same_modality_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 50 == 0 or step == args.steps - 1:
            elapsed = time.perf_counter() - started
            print(f"step {step:5d}  loss {loss.item():.3f}  {elapsed:6.0f} s", flush=True)


def evaluate(encoder: LocalEncoder, seed: int) -> dict[str, float]:
    """Recall@1 on a held-out gallery: one picture per (colour, shape), 1-3 shapes each."""
    gallery = syn.gallery(seed, size=RENDER_SIZE, counts=syn.COUNTS)
    images = encoder.embed_images([e.image for e in gallery])
    captions = encoder.embed_texts([e.caption for e in gallery])
    paraphrases = encoder.embed_texts([e.paraphrase for e in gallery])
    truth = np.arange(len(gallery))
    return {
        "text_to_image_r@1": float(np.mean((captions @ images.T).argmax(1) == truth)),
        "image_to_text_r@1": float(np.mean((images @ captions.T).argmax(1) == truth)),
        "paraphrase_text_to_text_r@1": float(
            np.mean((captions @ paraphrases.T).argmax(1) == truth)
        ),
        "gallery_size": float(len(gallery)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEMO_MODEL_DIR)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--text-layers", type=int, default=2)
    parser.add_argument("--vision-layers", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--patch-size", type=int, default=16)
    parser.add_argument(
        "--same-modality-weight",
        type=float,
        default=0.5,
        help="weight of the image-image and text-text terms (0: CLIP's text-image loss only)",
    )
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    cpu_started, wall_started = time.process_time(), time.perf_counter()

    with tempfile.TemporaryDirectory() as scratch:
        tokenizer_dir = Path(scratch)
        build_tokenizer(tokenizer_dir)
        tokenizer = TextTokenizer.from_directory(tokenizer_dir)
        config = demo_config(tokenizer.vocab_size, args)
        preprocess = PreprocessConfig(size=args.image_size)
        model = build_model(config)
        params = sum(p.numel() for p in model.parameters())
        print(f"{MODEL_NAME}: {params:,} parameters, vocabulary {tokenizer.vocab_size}")
        train(model, tokenizer, ImagePreprocessor(preprocess), args)
        save_checkpoint(model.eval(), config, args.out, tokenizer_dir, preprocess)

    cpu_s, wall_s = time.process_time() - cpu_started, time.perf_counter() - wall_started
    with LocalEncoder.from_pretrained(args.out, device="cpu") as encoder:
        metrics = evaluate(encoder, EVAL_SEED)
    size = sum(f.stat().st_size for f in args.out.iterdir())
    print(f"saved {args.out} ({size / 1e6:.2f} MB) after {wall_s:.0f} s wall, {cpu_s:.0f} s CPU")
    pictures = int(metrics.pop("gallery_size"))
    print(f"held-out recall@1 (seed {EVAL_SEED}, {pictures} pictures):")
    for name, value in metrics.items():
        print(f"  {name:30s} {value:.3f}")


if __name__ == "__main__":
    main()

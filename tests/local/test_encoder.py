"""LocalEncoder on tiny random checkpoints: order, batching, inputs of every kind, errors, async."""

from __future__ import annotations

import asyncio
import http.server
import io
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import jinaclip
from jinaclip.errors import InvalidInputError, ModelNotFoundError
from jinaclip.local.encoder import LocalEncoder, resolve_dtype
from tests.local.conftest import TINY_CONFIG, build_random_checkpoint, with_text

DIM = TINY_CONFIG.dim
TEXTS = [
    "a photo of a cat.",
    "two dogs playing in the snow near a red barn, while a small bird sings " * 3,
    "hello",
    "",
    "the quick brown fox jumps over the lazy dog",
    "x " * 40,
]


def _picture(size: tuple[int, int] = (80, 60), seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def _encoded(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def test_satisfies_the_encoder_protocol(random_encoder: LocalEncoder) -> None:
    assert isinstance(random_encoder, jinaclip.Encoder)
    assert random_encoder.dim == DIM
    assert random_encoder.model_name == "jina-clip-test-random"


def test_results_are_unit_norm_float32_in_input_order(random_encoder: LocalEncoder) -> None:
    together = random_encoder.embed_texts(TEXTS)
    assert together.dtype == np.float32
    assert together.shape == (len(TEXTS), DIM)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-6)
    for index, text in enumerate(TEXTS):
        np.testing.assert_allclose(
            together[index], random_encoder.embed_texts([text])[0], atol=1e-5
        )


def test_a_text_embeds_the_same_in_any_batch(random_checkpoint_dir: Path) -> None:
    vectors = []
    for batch_size in (1, 2, 3, 64):
        with LocalEncoder.from_pretrained(
            random_checkpoint_dir, device="cpu", batch_size=batch_size
        ) as enc:
            vectors.append(enc.embed_texts(TEXTS, normalize=False))
    for other in vectors[1:]:
        np.testing.assert_allclose(other, vectors[0], atol=1e-5, rtol=0)


def test_order_survives_many_batches_and_result_flushes(random_checkpoint_dir: Path) -> None:
    texts = [f"text number {i} " + "word " * (i % 7) for i in range(30)]
    pictures = [_picture(seed=i) for i in range(20)]
    with LocalEncoder.from_pretrained(random_checkpoint_dir, device="cpu", batch_size=64) as enc:
        text_reference = enc.embed_texts(texts)
        image_reference = enc.embed_images(pictures)
    with LocalEncoder.from_pretrained(
        random_checkpoint_dir, device="cpu", batch_size=1, image_batch_size=1
    ) as enc:
        np.testing.assert_allclose(enc.embed_texts(texts), text_reference, atol=1e-5, rtol=0)
        np.testing.assert_allclose(enc.embed_images(pictures), image_reference, atol=1e-5, rtol=0)


def test_batches_are_length_sorted_and_respect_the_token_budget(
    random_encoder: LocalEncoder,
) -> None:
    ids = [[0] * n for n in (5, 50, 7, 300, 20, 6)]
    old = random_encoder.max_batch_tokens
    random_encoder.max_batch_tokens = 320
    try:
        batches = list(random_encoder._length_sorted_batches(ids))
    finally:
        random_encoder.max_batch_tokens = old
    assert batches == [[3], [1, 4, 2, 5], [0]]
    assert sorted(i for batch in batches for i in batch) == list(range(6))


def test_normalize_false_returns_raw_mean_pooled_vectors(random_encoder: LocalEncoder) -> None:
    raw = random_encoder.embed_texts(TEXTS[:2], normalize=False)
    normalized = random_encoder.embed_texts(TEXTS[:2])
    np.testing.assert_allclose(
        raw / np.linalg.norm(raw, axis=1, keepdims=True), normalized, atol=1e-6
    )
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)


def test_empty_inputs_give_zero_rows(random_encoder: LocalEncoder) -> None:
    assert random_encoder.embed_texts([]).shape == (0, DIM)
    assert random_encoder.embed_images([]).shape == (0, DIM)


def test_8192_token_text_embeds_on_a_tiny_tower_with_both_attention_paths(
    tmp_path: Path,
) -> None:
    one_layer = with_text(TINY_CONFIG, num_hidden_layers=1, num_attention_heads=2)
    build_random_checkpoint(tmp_path, one_layer)
    text = "word " * 9000
    with LocalEncoder.from_pretrained(tmp_path, device="cpu", max_length=8192) as enc:
        assert len(enc.tokenizer.encode([text])[0]) == 8192
        fused = enc.embed_texts([text])
        enc.model.set_fused_attn(False)
        manual = enc.embed_texts([text])
    assert np.isfinite(fused).all()
    np.testing.assert_allclose(fused, manual, atol=1e-5, rtol=0)


def test_bad_texts_are_all_named_by_index(random_encoder: LocalEncoder) -> None:
    with pytest.raises(InvalidInputError) as info:
        random_encoder.embed_texts(["fine", 3, None, "fine"])  # type: ignore[list-item]
    assert info.value.indices == (1, 2)


def test_every_input_form_of_one_image_gives_the_same_vector(
    random_encoder: LocalEncoder, tmp_path: Path
) -> None:
    import base64

    data = _encoded(_picture())
    path = tmp_path / "pic.png"
    path.write_bytes(data)
    forms: list[jinaclip.ImageInput] = [
        data,
        str(path),
        path,
        path.as_uri(),
        io.BytesIO(data),
        Image.open(io.BytesIO(data)),
        "data:image/png;base64," + base64.b64encode(data).decode(),
        base64.b64encode(data).decode(),
    ]
    vectors = random_encoder.embed_images(forms)
    for vector in vectors[1:]:
        np.testing.assert_allclose(vector, vectors[0], atol=1e-6)


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("RGBA", "PNG"),
        ("P", "PNG"),
        ("L", "PNG"),
        ("CMYK", "JPEG"),
        ("I;16", "PNG"),
        ("LA", "PNG"),
        ("1", "PNG"),
        ("RGB", "JPEG"),
    ],
)
def test_every_image_mode_embeds_like_its_rgb_conversion(
    random_encoder: LocalEncoder, mode: str, fmt: str
) -> None:
    source = _picture()
    image = source.convert("I;16") if mode == "I;16" else source.convert(mode)
    data = _encoded(image, fmt)
    decoded = Image.open(io.BytesIO(data))
    assert decoded.mode == mode
    vector, rgb_vector = random_encoder.embed_images([data, decoded.convert("RGB")])
    np.testing.assert_allclose(vector, rgb_vector, atol=1e-6)


def test_rgba_alpha_is_dropped_not_composited(random_encoder: LocalEncoder) -> None:
    rgba = _picture().convert("RGBA")
    rgba.putalpha(0)
    dropped, colours, white = random_encoder.embed_images(
        [_encoded(rgba), _picture(), Image.new("RGB", rgba.size, "white")]
    )
    np.testing.assert_allclose(dropped, colours, atol=1e-6)
    assert not np.allclose(dropped, white, atol=1e-3)


def test_animated_gif_embeds_its_first_frame(random_encoder: LocalEncoder) -> None:
    frames = [_picture(seed=1).convert("P"), _picture(seed=2).convert("P")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    gif = Image.open(io.BytesIO(buffer.getvalue()))
    assert gif.n_frames == 2
    first = gif.convert("RGB")
    gif.seek(1)
    second = gif.convert("RGB")
    animated, one, two = random_encoder.embed_images([buffer.getvalue(), first, second])
    np.testing.assert_allclose(animated, one, atol=1e-6)
    assert not np.allclose(animated, two, atol=1e-3)


def test_exif_orientation_6_embeds_like_the_rotated_pixels(random_encoder: LocalEncoder) -> None:
    upright = _picture((90, 60))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _encoded(upright, "JPEG", quality=95, exif=exif)
    # Pixel copies: a PIL image that still carried the EXIF tag would be rotated again.
    stored = Image.fromarray(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    rotated = Image.fromarray(np.asarray(stored.transpose(Image.Transpose.ROTATE_270)))
    assert rotated.size == (60, 90)
    from_exif, from_pixels, unrotated = random_encoder.embed_images([data, rotated, stored])
    np.testing.assert_allclose(from_exif, from_pixels, atol=1e-6)
    assert not np.allclose(from_exif, unrotated, atol=1e-3)


def test_unclassifiable_images_are_all_named_by_index(
    random_encoder: LocalEncoder, tmp_path: Path
) -> None:
    good = _encoded(_picture())
    with pytest.raises(InvalidInputError) as info:
        random_encoder.embed_images(["no such file", good, 42, str(tmp_path / "missing.png")])  # type: ignore[list-item]
    assert info.value.indices == (0, 2, 3)


def test_undecodable_images_are_all_named_and_no_model_work_follows(
    random_checkpoint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = _encoded(_picture())
    truncated = good[: len(good) // 2]
    with LocalEncoder.from_pretrained(
        random_checkpoint_dir, device="cpu", image_batch_size=1
    ) as enc:
        calls: list[int] = []
        original = enc.model.encode_image

        def counting(pixels: torch.Tensor) -> torch.Tensor:
            calls.append(pixels.shape[0])
            return original(pixels)

        monkeypatch.setattr(enc.model, "encode_image", counting)
        with pytest.raises(InvalidInputError) as info:
            enc.embed_images([b"not an image at all", good, truncated, good])
        assert info.value.indices == (0, 2)
        assert "input 2" in str(info.value)
        assert calls == []


def test_image_urls_are_fetched_and_http_errors_named(random_encoder: LocalEncoder) -> None:
    data = _encoded(_picture())

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/pic.png":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        from_url, from_bytes = random_encoder.embed_images([f"{base}/pic.png", data])
        np.testing.assert_allclose(from_url, from_bytes, atol=1e-6)
        with pytest.raises(InvalidInputError) as info:
            random_encoder.embed_images([data, f"{base}/missing.png"])
        assert info.value.indices == (1,)
        assert "404" in str(info.value)
    finally:
        server.shutdown()
        server.server_close()


async def test_async_twins_match_sync_and_never_block_the_event_loop(
    random_encoder: LocalEncoder,
) -> None:
    texts = ["a fairly long sentence about nothing in particular " * 6] * 200
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    vectors = await random_encoder.aembed_texts(texts)
    images = await random_encoder.aembed_images([_encoded(_picture())] * 8)
    done.set()
    await task
    assert ticks - before >= 3
    np.testing.assert_allclose(vectors[:2], random_encoder.embed_texts(texts[:2]), atol=1e-5)
    np.testing.assert_allclose(images[0], random_encoder.embed_images([_picture()])[0], atol=1e-6)


def test_save_pretrained_round_trips(random_encoder: LocalEncoder, tmp_path: Path) -> None:
    random_encoder.save_pretrained(tmp_path)
    with LocalEncoder.from_pretrained(tmp_path, device="cpu") as reloaded:
        np.testing.assert_allclose(
            reloaded.embed_texts(TEXTS), random_encoder.embed_texts(TEXTS), atol=1e-6
        )
        assert reloaded.logit_scale == pytest.approx(random_encoder.logit_scale)


def test_logit_scale_is_exp_of_the_stored_value(random_encoder: LocalEncoder) -> None:
    stored = float(random_encoder.model.logit_scale.detach())
    assert random_encoder.logit_scale == pytest.approx(np.exp(stored), rel=1e-6)


def test_make_encoder_builds_a_local_encoder_from_a_directory(random_checkpoint_dir: Path) -> None:
    encoder = jinaclip.make_encoder("local", str(random_checkpoint_dir), device="cpu")
    try:
        assert isinstance(encoder, LocalEncoder)
        assert encoder.embed_texts(["hi"]).shape == (1, DIM)
    finally:
        encoder.close()


@pytest.mark.parametrize("name", ["jinaai/jina-clip-v1", "jina-clip-v1"])
def test_unreachable_hub_id_raises_model_not_found_naming_id_and_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError) as info:
        LocalEncoder.from_pretrained(name, cache_dir=tmp_path)
    message = str(info.value)
    assert "jinaai/jina-clip-v1" in message
    assert str(tmp_path) in message
    assert "HF_HUB_OFFLINE" in message


def test_a_missing_local_path_is_model_not_found(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="neither a checkpoint directory"):
        LocalEncoder.from_pretrained(str(tmp_path / "nope"))


def test_device_and_dtype_defaults_follow_the_device() -> None:
    assert resolve_dtype(None, torch.device("cpu")) == torch.float32
    assert resolve_dtype(None, torch.device("cuda")) == torch.bfloat16
    assert resolve_dtype("bf16", torch.device("cpu")) == torch.bfloat16
    with pytest.raises(ValueError, match="unknown dtype"):
        resolve_dtype("int3", torch.device("cpu"))


def test_a_closed_encoder_refuses_work(random_checkpoint_dir: Path) -> None:
    encoder = LocalEncoder.from_pretrained(random_checkpoint_dir, device="cpu")
    encoder.close()
    with pytest.raises(RuntimeError, match="closed"):
        encoder.embed_texts(["hi"])


def test_progress_bar_is_shown_when_asked(
    random_checkpoint_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with LocalEncoder.from_pretrained(random_checkpoint_dir, device="cpu", progress=True) as enc:
        enc.embed_texts(TEXTS)
    assert "texts" in capsys.readouterr().err

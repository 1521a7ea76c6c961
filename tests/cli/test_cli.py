"""`jinaclip embed`, `search` and `serve` wiring, run in-process through `main(argv)`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import jinaclip
from jinaclip.cli import main
from jinaclip.demo import DEMO_MODEL_DIR

TEXTS = ["a red square", "two blue circles"]


@pytest.fixture(scope="module")
def tiny_encoder(tiny_fixture_dir: Path) -> jinaclip.LocalEncoder:
    return jinaclip.LocalEncoder.from_pretrained(str(tiny_fixture_dir), device="cpu")


@pytest.fixture
def images(tiny_fixture_dir: Path) -> list[str]:
    inputs = tiny_fixture_dir / "inputs"
    return [str(inputs / "rgb_300x200.png"), str(inputs / "photo_307x300.jpg")]


def _model_args(tiny_fixture_dir: Path) -> list[str]:
    return ["--model", str(tiny_fixture_dir), "--device", "cpu"]


def test_embed_writes_texts_then_images_to_npy_matching_the_encoder(
    tmp_path: Path,
    tiny_fixture_dir: Path,
    tiny_encoder: jinaclip.LocalEncoder,
    images: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    text_file = tmp_path / "texts.txt"
    text_file.write_text(f"{TEXTS[1]}\n\n")
    out = tmp_path / "out.npy"
    argv = ["embed", "--text", TEXTS[0], "--text-file", str(text_file), "--image", images[0]]
    argv += ["--image", images[1], "-o", str(out), *_model_args(tiny_fixture_dir)]

    assert main(argv) == 0

    vectors = np.load(out)
    assert vectors.dtype == np.float32
    assert vectors.shape == (4, tiny_encoder.dim)
    np.testing.assert_allclose(vectors[:2], tiny_encoder.embed_texts(TEXTS), atol=1e-6)
    np.testing.assert_allclose(vectors[2:], tiny_encoder.embed_images(images), atol=1e-6)
    assert "wrote 4 x 96 embeddings" in capsys.readouterr().err


def test_embed_jsonl_records_kind_input_and_unnormalised_vectors_on_request(
    tmp_path: Path,
    tiny_fixture_dir: Path,
    tiny_encoder: jinaclip.LocalEncoder,
    images: list[str],
) -> None:
    image_list = tmp_path / "images.txt"
    image_list.write_text(images[0] + "\n")
    out = tmp_path / "nested" / "out.jsonl"
    argv = ["embed", "--text", TEXTS[0], "--image-list", str(image_list), "--no-normalize"]
    argv += ["--output", str(out), *_model_args(tiny_fixture_dir)]

    assert main(argv) == 0

    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["index"], r["kind"], r["input"]) for r in records] == [
        (0, "text", TEXTS[0]),
        (1, "image", images[0]),
    ]
    raw = tiny_encoder.embed_texts([TEXTS[0]], normalize=False)[0]
    np.testing.assert_allclose(records[0]["embedding"], raw, atol=1e-5)
    assert np.linalg.norm(records[0]["embedding"]) > 1.5


def test_embed_without_output_prints_jsonl_and_defaults_to_the_demo_checkpoint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["embed", "--text", "a red star", "--device", "cpu"]) == 0

    (line,) = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert record["model"] == "jina-clip-v1-demo"
    demo = jinaclip.LocalEncoder.from_pretrained(str(DEMO_MODEL_DIR), device="cpu")
    np.testing.assert_allclose(record["embedding"], demo.embed_texts(["a red star"])[0], atol=1e-6)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["embed"], "nothing to embed"),
        (["embed", "--text", "x", "-o", "out.csv"], "must end in .jsonl or .npy"),
        (["embed", "--text-file", "/no/such/file.txt"], "cannot read /no/such/file.txt"),
        (["embed", "--text", "x", "--backend", "api", "--device", "cpu"], "--device applies"),
        (["search", "/no/such/folder", "query"], "not a folder"),
    ],
)
def test_usage_errors_exit_2_with_a_message_and_no_traceback(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_every_missing_image_is_reported_by_its_position_among_all_inputs(
    tmp_path: Path,
    tiny_fixture_dir: Path,
    images: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out.npy"
    argv = ["embed", "--text", "x", "--image", images[0], "--image", "/no/such.png"]
    argv += ["--image", "/no/other.png", "-o", str(out), *_model_args(tiny_fixture_dir)]

    assert main(argv) == 2

    err = capsys.readouterr().err
    assert "2 invalid input(s)" in err
    assert "input 2: string '/no/such.png' is not an existing file" in err
    assert "input 3: string '/no/other.png'" in err
    assert not out.exists()


def test_an_undecodable_image_exits_2_naming_its_position(
    tmp_path: Path, tiny_fixture_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot an image")
    argv = ["embed", "--text", "x", "--image", str(broken), *_model_args(tiny_fixture_dir)]

    assert main(argv) == 2

    out, err = capsys.readouterr()
    assert "1 invalid input(s), nothing was embedded: input 1:" in err
    assert out == ""


def test_an_unusable_model_exits_1_with_the_library_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["embed", "--text", "x", "--model", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "config.json" in err
    assert "Traceback" not in err


def test_argparse_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["embed", "--backend", "nope"])
    assert exc.value.code == 2


@pytest.fixture
def search_folder(tmp_path: Path, tiny_fixture_dir: Path) -> Path:
    root = tmp_path / "library"
    root.mkdir()
    for name in ("rgb_300x200.png", "rgb_90x400.png", "photo_307x300.jpg"):
        shutil.copy(tiny_fixture_dir / "inputs" / name, root / name)
    (root / "notes.txt").write_text("two dogs playing in the snow")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot an image")
    return root


def _search(root: Path, query: str, tiny_fixture_dir: Path, *extra: str) -> int:
    return main(["search", str(root), query, *_model_args(tiny_fixture_dir), *extra])


def test_search_ranks_an_identical_image_first_and_skips_unreadable_files(
    search_folder: Path, tiny_fixture_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = str(search_folder / "rgb_90x400.png")

    assert _search(search_folder, query, tiny_fixture_dir, "--image-query", "-k", "2") == 0

    out, err = capsys.readouterr()
    rows = out.splitlines()[2:]
    assert len(rows) == 2
    assert rows[0].split()[1:] == ["1.000", "image", "rgb_90x400.png"]
    assert "skipping broken.png" in err
    assert "4 files searchable: 0 from the cache, 4 embedded now" in err


def test_second_search_reuses_cached_vectors_and_re_embeds_only_changed_files(
    search_folder: Path, tiny_fixture_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _search(search_folder, "snow", tiny_fixture_dir, "--kind", "text") == 0
    first = capsys.readouterr()
    assert "1 files searchable: 0 from the cache, 1 embedded now" in first.err
    assert first.out.splitlines()[2].split()[2:] == ["text", "notes.txt"]

    assert _search(search_folder, "snow", tiny_fixture_dir) == 0
    assert "4 files searchable: 1 from the cache, 3 embedded now" in capsys.readouterr().err

    (search_folder / "notes.txt").write_text("a cat asleep on a sofa, by the window")
    assert _search(search_folder, "snow", tiny_fixture_dir) == 0
    assert "4 files searchable: 3 from the cache, 1 embedded now" in capsys.readouterr().err

    assert _search(search_folder, "snow", tiny_fixture_dir, "--reindex") == 0
    assert "4 files searchable: 0 from the cache, 4 embedded now" in capsys.readouterr().err


def test_search_text_query_score_equals_the_encoders_cosine(
    search_folder: Path,
    tiny_fixture_dir: Path,
    tiny_encoder: jinaclip.LocalEncoder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    query = "two dogs playing in the snow"

    assert _search(search_folder, query, tiny_fixture_dir, "--kind", "text", "-k", "1") == 0

    row = capsys.readouterr().out.splitlines()[2].split()
    assert row[2:] == ["text", "notes.txt"]
    assert float(row[1]) == pytest.approx(1.0, abs=1e-3)
    query_vector = tiny_encoder.embed_texts([query])[0]
    assert float(tiny_encoder.embed_texts([query])[0] @ query_vector) == pytest.approx(1.0, 1e-5)


def test_serve_is_wired_to_the_server_command() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--help"])
    assert exc.value.code == 0


def test_console_script_is_installed_and_reports_the_version() -> None:
    script = Path(sys.executable).with_name("jinaclip")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.strip() == f"jinaclip {jinaclip.__version__}"

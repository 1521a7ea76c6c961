"""The search cache: reuse while a file is unchanged, re-embed when it changes, forget the gone."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from jinaclip.search_store import VectorCache, scan_folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha")
    (root / "sub" / "b.md").write_text("beta")
    (root / "c.png").write_bytes(b"\x89PNG not really")
    (root / "ignored.csv").write_text("x,y")
    (root / "empty.txt").write_text("")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "d.txt").write_text("hidden")
    return root


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 4)).astype(np.float32)


def test_scan_folder_finds_images_and_texts_but_skips_hidden_empty_and_other_files(
    folder: Path,
) -> None:
    records = scan_folder(folder)
    assert [(r.relpath, r.kind) for r in records] == [
        ("a.txt", "text"),
        ("c.png", "image"),
        ("sub/b.md", "text"),
    ]


def test_unchanged_files_are_served_from_the_cache_with_the_stored_vectors(
    folder: Path,
) -> None:
    records = scan_folder(folder)
    vectors = _vectors(len(records))
    with VectorCache.for_folder(folder) as cache:
        hits, misses = cache.lookup("m", records)
        assert hits == {}
        assert misses == records
        cache.store("m", records, vectors)
    with VectorCache.for_folder(folder) as cache:
        hits, misses = cache.lookup("m", scan_folder(folder))
    assert misses == []
    for i, record in enumerate(records):
        np.testing.assert_array_equal(hits[record.relpath], vectors[i])
    assert (folder / ".jinaclip" / "index.sqlite").is_file()


def test_changed_content_is_a_miss_but_a_touched_file_with_the_same_bytes_is_a_hit(
    folder: Path,
) -> None:
    records = scan_folder(folder)
    with VectorCache.for_folder(folder) as cache:
        cache.store("m", records, _vectors(len(records)))
        (folder / "a.txt").write_text("ALPHA")  # same size, new bytes
        stat = (folder / "sub" / "b.md").stat()
        os.utime(folder / "sub" / "b.md", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        os.utime(folder / "a.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns + 2 * 10**9))
        hits, misses = cache.lookup("m", scan_folder(folder))
    assert [r.relpath for r in misses] == ["a.txt"]
    assert sorted(hits) == ["c.png", "sub/b.md"]


def test_vectors_are_kept_per_model_and_pruned_when_files_disappear(folder: Path) -> None:
    records = scan_folder(folder)
    with VectorCache.for_folder(folder, folder.parent / "cache") as cache:
        cache.store("model-a", records, _vectors(len(records)))
        _, misses = cache.lookup("model-b", records)
        assert misses == records
        (folder / "c.png").unlink()
        dropped = cache.prune("model-a", [r.relpath for r in scan_folder(folder)])
        assert dropped == 1
        assert cache.count("model-a") == 2
    assert (folder.parent / "cache" / "index.sqlite").is_file()
    assert not (folder / ".jinaclip").exists()


def test_store_refuses_a_vector_count_that_does_not_match_the_records(folder: Path) -> None:
    records = scan_folder(folder)
    with VectorCache.for_folder(folder) as cache, pytest.raises(ValueError, match="3 records"):
        cache.store("m", records, _vectors(2))

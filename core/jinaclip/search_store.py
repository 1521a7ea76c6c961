"""The persistent vector cache behind `jinaclip search`: sqlite rows of float32 blobs.

A folder is embedded once; a second search re-embeds only what changed. A cached vector is
reused when its file has the same path, size and mtime, or the same size and sha256 (a file
that was only touched), under the same model key. Vectors of files that disappeared are
dropped. One sqlite file holds everything, so the cache is safe to delete at any time.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from jinaclip.encoder import FloatMatrix

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"})
TEXT_SUFFIXES = frozenset({".txt", ".md"})
CACHE_DIR_NAME = ".jinaclip"
DB_NAME = "index.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, path)
)
"""

FileKind = Literal["image", "text"]


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One searchable file: its path relative to the indexed folder and what `stat` says."""

    root: Path
    relpath: str
    kind: FileKind
    size: int
    mtime_ns: int

    @property
    def path(self) -> Path:
        return self.root / self.relpath

    def sha256(self) -> str:
        digest = hashlib.sha256()
        with self.path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


def file_kind(path: Path) -> FileKind | None:
    """`image` or `text` by suffix; None for files search ignores."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in TEXT_SUFFIXES:
        return "text"
    return None


def scan_folder(root: Path) -> list[FileRecord]:
    """Every image and text file under `root`, sorted, skipping hidden folders and empty files."""
    records = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        kind = file_kind(path)
        stat = path.stat()
        if kind is None or stat.st_size == 0:
            continue
        records.append(FileRecord(root, relative.as_posix(), kind, stat.st_size, stat.st_mtime_ns))
    return records


class VectorCache:
    """Vectors keyed by (model, path), valid while the file's size and mtime or hash match."""

    def __init__(self, db_path: Path) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self.db_path = db_path
        self._db = sqlite3.connect(db_path)
        self._db.execute(_SCHEMA)
        self._db.commit()

    @classmethod
    def for_folder(cls, root: Path, cache_dir: Path | None = None) -> VectorCache:
        """The cache of `root`: `root/.jinaclip/index.sqlite` unless `cache_dir` is given."""
        return cls((cache_dir or root / CACHE_DIR_NAME) / DB_NAME)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> VectorCache:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def lookup(
        self, model: str, records: Sequence[FileRecord]
    ) -> tuple[dict[str, FloatMatrix], list[FileRecord]]:
        """Cached vectors of unchanged files by relpath, and the records that need embedding."""
        rows = {
            row[0]: row[1:]
            for row in self._db.execute(
                "SELECT path, size, mtime_ns, sha256, dim, vector FROM vectors WHERE model = ?",
                (model,),
            )
        }
        hits: dict[str, FloatMatrix] = {}
        misses: list[FileRecord] = []
        for record in records:
            row = rows.get(record.relpath)
            if row is None or row[0] != record.size:
                misses.append(record)
                continue
            _, mtime_ns, sha256, dim, blob = row
            if mtime_ns != record.mtime_ns:
                if sha256 != record.sha256():
                    misses.append(record)
                    continue
                self._db.execute(
                    "UPDATE vectors SET mtime_ns = ? WHERE model = ? AND path = ?",
                    (record.mtime_ns, model, record.relpath),
                )
            hits[record.relpath] = np.frombuffer(blob, dtype=np.float32).reshape(dim)
        self._db.commit()
        return hits, misses

    def store(self, model: str, records: Sequence[FileRecord], vectors: FloatMatrix) -> None:
        """Remember one vector per record (rows in the same order)."""
        if len(records) != len(vectors):
            raise ValueError(f"{len(records)} records but {len(vectors)} vectors")
        self._db.executemany(
            "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    model,
                    record.relpath,
                    record.kind,
                    record.size,
                    record.mtime_ns,
                    record.sha256(),
                    int(vector.shape[0]),
                    np.ascontiguousarray(vector, dtype=np.float32).tobytes(),
                )
                for record, vector in zip(records, vectors, strict=True)
            ],
        )
        self._db.commit()

    def prune(self, model: str, keep: Iterable[str]) -> int:
        """Forget vectors of files no longer present; returns how many were dropped."""
        present = set(keep)
        stale = [
            (model, path)
            for (path,) in self._db.execute("SELECT path FROM vectors WHERE model = ?", (model,))
            if path not in present
        ]
        self._db.executemany("DELETE FROM vectors WHERE model = ? AND path = ?", stale)
        self._db.commit()
        return len(stale)

    def count(self, model: str) -> int:
        (total,) = self._db.execute(
            "SELECT COUNT(*) FROM vectors WHERE model = ?", (model,)
        ).fetchone()
        return int(total)

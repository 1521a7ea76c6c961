"""Where the shared reference data lives, relative to this checkout (CI has it too)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DIR = REPO_ROOT.parent / "shared"
TINY_FIXTURE_DIR = SHARED_DIR / "fixtures" / "jina-clip-v1-tiny"
TEST_DATA_DIR = REPO_ROOT / "tests" / "data"

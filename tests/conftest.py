"""Session-wide fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.paths import TINY_FIXTURE_DIR


@pytest.fixture(scope="session")
def tiny_fixture_dir() -> Path:
    """The jina-clip-v1-tiny golden checkpoint (../shared/fixtures); CI always has it."""
    assert (TINY_FIXTURE_DIR / "model.safetensors").is_file(), (
        f"reference fixture missing at {TINY_FIXTURE_DIR}; clone next to ../shared"
    )
    return TINY_FIXTURE_DIR


@pytest.fixture(autouse=True)
def _no_ambient_api_key(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Tests never see a developer's real key unless they are marked `live`."""
    if request.node.get_closest_marker("live") is None:
        monkeypatch.delenv("JINA_API_KEY", raising=False)
        monkeypatch.delenv("JINAAI_API_KEY", raising=False)

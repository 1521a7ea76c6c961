"""`jinaclip demo` end to end: offline, LlamaIndex-indexed, tables on stdout, an HTML page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jinaclip.cli import main
from jinaclip.demo.demo import IMAGE_QUERIES, TEXT_QUERIES


def test_demo_prints_ranked_tables_and_writes_a_self_contained_html_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "out" / "demo.html"

    assert main(["demo", "--out", str(page), "--device", "cpu"]) == 0

    out = capsys.readouterr().out
    assert f"HTML page: {page.resolve()}" in out
    for text, _ in TEXT_QUERIES:
        assert f'text query: "{text}"' in out
    assert out.count("image query: picture of") == len(IMAGE_QUERIES)
    assert out.count("rank  score  caption") == len(TEXT_QUERIES) + len(IMAGE_QUERIES)
    found = re.search(r"(\d+)/(\d+) queries found the right picture at rank 1", out)
    assert found is not None
    hits, total = int(found.group(1)), int(found.group(2))
    assert total == len(TEXT_QUERIES) + len(IMAGE_QUERIES)
    assert hits >= total - 2, out

    html = page.read_text()
    assert html.count('src="data:image/png;base64,') >= 3 * total
    assert "a violet rhombus" in html
    assert len(list((page.parent / "images").glob("*.png"))) == 36


def test_demo_top_option_sets_the_hits_per_query(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--out", str(tmp_path / "x.html"), "--top", "1", "--device", "cpu"]) == 0

    out = capsys.readouterr().out
    tables = out.split("rank  score  caption")[1:]
    assert all(re.findall(r"^\d+ ", table, flags=re.M) == ["1 "] for table in tables)

"""The bundled demo: a small jina-clip-shaped checkpoint trained on synthetic shapes, and its job.

`DEMO_MODEL_DIR` loads like any checkpoint (`LocalEncoder.from_pretrained(DEMO_MODEL_DIR)`), so
`jinaclip demo`, the CLI's local default and the cookbook run offline with no download.
It knows only the world of `jinaclip.demo.synthetic`; it is no substitute for jina-clip-v1.
"""

from __future__ import annotations

from pathlib import Path

DEMO_MODEL_DIR = Path(__file__).resolve().parent / "model"

__all__ = ["DEMO_MODEL_DIR"]

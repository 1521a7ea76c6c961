"""`jinaclip demo`: multimodal retrieval you can see working, offline, in a few seconds.

A gallery of synthetic pictures (one per colour and shape) is indexed through the LlamaIndex
adapter in an in-memory `MultiModalVectorStoreIndex`; text queries (worded with synonyms the
gallery captions never use) and image queries (freshly drawn pictures) retrieve from it.
Results are printed as ranked tables and written to a self-contained HTML page.
"""

from __future__ import annotations

import argparse
import base64
import html
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinaclip.demo import synthetic
from jinaclip.errors import JinaClipError

GALLERY_SEED = 7
QUERY_IMAGE_SEED = 11
#: (query, the (colour, shape) it asks for): what a user would type to find a picture the
#: gallery (seed GALLERY_SEED) holds, in synonyms its captions do not use.
TEXT_QUERIES: tuple[tuple[str, tuple[str, str]], ...] = (
    ("a red star", ("red", "star")),
    ("a violet rhombus", ("purple", "diamond")),
    ("a golden plus sign on the right", ("yellow", "cross")),
    ("an orange box", ("orange", "square")),
    ("a pair of blue discs", ("blue", "circle")),
    ("a green triangle", ("green", "triangle")),
)
#: Fresh drawings (other layout, jitter and background) of kinds of picture the gallery holds;
#: the count may differ from the gallery's picture, as for the blue stars.
IMAGE_QUERIES: tuple[synthetic.Scene, ...] = (
    synthetic.Scene("circle", "orange", 2),
    synthetic.Scene("star", "blue", 2),
    synthetic.Scene("triangle", "purple", 2),
)


@dataclass(frozen=True, slots=True)
class Hit:
    rank: int
    score: float
    caption: str
    file: str
    mark: str
    path: Path


@dataclass(frozen=True, slots=True)
class QueryResult:
    label: str
    query_image: Path | None
    hits: list[Hit]


def _mark(found: tuple[str, str], wanted: tuple[str, str]) -> str:
    """HIT for the right colour and shape, `near` for one of the two."""
    if found == wanted:
        return "HIT"
    if found[0] == wanted[0] or found[1] == wanted[1]:
        return "near"
    return ""


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def write_html(path: Path, results: list[QueryResult], model: str) -> None:
    """One section per query: the query, then its hits as cards with inline images."""
    sections = []
    for result in results:
        head = html.escape(result.label)
        if result.query_image is not None:
            head = f'<img class="q" src="{_data_uri(result.query_image)}" alt="query"> {head}'
        cards = "".join(
            f'<figure class="{hit.mark.lower() or "miss"}"><img src="{_data_uri(hit.path)}" '
            f'alt="{html.escape(hit.caption)}"><figcaption>#{hit.rank} · {hit.score:.3f} '
            f"{html.escape(hit.mark)}<br>{html.escape(hit.caption)}</figcaption></figure>"
            for hit in result.hits
        )
        sections.append(f"<section><h2>{head}</h2><div>{cards}</div></section>")
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>jinaclip demo</title><style>
body {{ font-family: sans-serif; margin: 2em; }}
section div {{ display: flex; gap: 1em; }}
figure {{ margin: 0; padding: .5em; border: 3px solid #ddd; width: 140px; font-size: 12px; }}
figure.hit {{ border-color: #2a2; }} figure.near {{ border-color: #dc2; }}
img {{ width: 128px; height: 128px; }} img.q {{ width: 64px; height: 64px; vertical-align: middle; }}
</style></head><body>
<h1>jinaclip demo: {html.escape(model)}</h1>
<p>Text-to-image and image-to-image retrieval over a synthetic gallery, indexed with
LlamaIndex's MultiModalVectorStoreIndex. Green: right colour and shape; yellow: one of the two.</p>
{"".join(sections)}
</body></html>
"""
    path.write_text(page, encoding="utf-8")


def _table(result: QueryResult) -> str:
    from jinaclip.cli import format_table

    rows = [(h.rank, f"{h.score:.3f}", h.caption, h.file, h.mark) for h in result.hits]
    return format_table(("rank", "score", "caption", "file", "hit"), rows)


def run_demo(args: argparse.Namespace) -> int:
    """Build the gallery, index it, query it, print tables and write the HTML page."""
    try:
        from llama_index.core.indices import MultiModalVectorStoreIndex
        from llama_index.core.schema import ImageNode

        from llama_index.embeddings.jinaclip import JinaClipEmbedding
    except ImportError as exc:
        raise JinaClipError(
            f"`jinaclip demo` needs llama-index-embeddings-jinaclip ({exc})"
        ) from None
    from jinaclip.cli import encoder_from_args

    started = time.perf_counter()
    out = Path(args.out)
    images_dir = out.parent / "images"
    images_dir.mkdir(parents=True, exist_ok=True)

    gallery = synthetic.gallery(GALLERY_SEED, counts=synthetic.COUNTS)
    scenes: dict[str, synthetic.Scene] = {}
    nodes = []
    for number, example in enumerate(gallery):
        name = f"{number:02d}-{example.scene.colour}-{example.scene.shape}.png"
        example.image.save(images_dir / name)
        scenes[name] = example.scene
        meta = {"file": name, "caption": example.scene.describe()}
        nodes.append(ImageNode(image_path=str(images_dir / name), id_=name, metadata=meta))

    encoder = encoder_from_args(args)
    embed = JinaClipEmbedding(encoder=encoder)
    try:
        index = MultiModalVectorStoreIndex(nodes=nodes, embed_model=embed, image_embed_model=embed)
        retriever = index.as_retriever(image_similarity_top_k=args.top)
        results: list[QueryResult] = []
        for text, wanted in TEXT_QUERIES:
            found = retriever.text_to_image_retrieve(text)
            results.append(QueryResult(f'"{text}"', None, _hits(found, scenes, wanted, images_dir)))
        rng = random.Random(QUERY_IMAGE_SEED)
        for number, scene in enumerate(IMAGE_QUERIES):
            query_path = out.parent / f"query-{number}-{scene.colour}-{scene.shape}.png"
            synthetic.render(scene, rng).save(query_path)
            found = retriever.image_to_image_retrieve(str(query_path))
            label = f"picture of {scene.describe()} ({query_path.name})"
            results.append(
                QueryResult(label, query_path, _hits(found, scenes, scene.key, images_dir))
            )
        model = encoder.model_name
    finally:
        encoder.close()

    print(f"Indexed {len(gallery)} synthetic pictures with {model} ({args.backend} backend).\n")
    for result in results:
        kind = "image" if result.query_image is not None else "text"
        print(f"{kind} query: {result.label}")
        print(_table(result) + "\n")
    top_hits = sum(bool(r.hits) and r.hits[0].mark == "HIT" for r in results)
    write_html(out, results, model)
    print(f"{top_hits}/{len(results)} queries found the right picture at rank 1.")
    print(f"HTML page: {out.resolve()}")
    print(f"({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return 0


def _hits(
    found: list[Any], scenes: dict[str, synthetic.Scene], wanted: tuple[str, str], images_dir: Path
) -> list[Hit]:
    hits: list[Hit] = []
    for rank, scored in enumerate(found, start=1):
        name = str(scored.node.metadata["file"])
        scene = scenes[name]
        hits.append(
            Hit(
                rank=rank,
                score=float(scored.score or 0.0),
                caption=scene.describe(),
                file=name,
                mark=_mark(scene.key, wanted),
                path=images_dir / name,
            )
        )
    return hits

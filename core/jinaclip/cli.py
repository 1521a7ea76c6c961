"""The `jinaclip` command: `demo`, `embed`, `search` and `serve`.

Every subcommand that embeds takes `--backend local|api`, `--model` and `--device`. The local
backend defaults to the bundled demo checkpoint (`jinaclip.demo.DEMO_MODEL_DIR`), so the
command works offline out of the box; pass `--model jinaai/jina-clip-v1` (or a directory
holding it) for the real model. The api backend defaults to `jina-clip-v1` and reads the key
from `JINA_API_KEY`; `--base-url` points it at another compatible server.

Exit codes: 0 success; 1 a jinaclip error (model, network, API); 2 bad usage or bad input
(unknown option, missing file, unusable image). No traceback is printed for either.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

import numpy as np
from tqdm import tqdm

from jinaclip import __version__
from jinaclip.backends import BACKENDS, DEFAULT_MODEL, make_encoder
from jinaclip.encoder import Encoder, FloatMatrix, empty_matrix
from jinaclip.errors import InputProblem, InvalidInputError, JinaClipError
from jinaclip.inputs import to_image_items
from jinaclip.search_store import FileRecord, VectorCache, scan_folder

EXIT_ERROR = 1
EXIT_USAGE = 2
#: A text file is searched by its beginning: enough for a caption, a note or an abstract.
MAX_TEXT_FILE_CHARS = 8192

T = TypeVar("T")


class UsageError(Exception):
    """The command line or the files it names are unusable: message on stderr, exit 2."""


def _progress_default() -> bool:
    return sys.stderr.isatty()


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """`--backend`, `--model`, `--device`, `--base-url`, `--batch-size`, `--progress`."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "--backend", choices=BACKENDS, default="local", help="where the model runs (default: local)"
    )
    group.add_argument(
        "--model",
        help="local: checkpoint directory or hub id (default: the bundled demo checkpoint); "
        f"api: model name (default: {DEFAULT_MODEL})",
    )
    group.add_argument("--device", help="torch device for the local backend (default: auto)")
    group.add_argument("--base-url", help="api backend: a compatible server instead of Jina's")
    group.add_argument(
        "--batch-size", type=_positive_int, default=32, help="inputs per call (default: 32)"
    )
    group.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show progress bars (default: when stderr is a terminal)",
    )


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def resolve_model(args: argparse.Namespace) -> str:
    """The model the arguments name, with the offline default for the local backend."""
    if args.model:
        return str(args.model)
    if args.backend == "local":
        from jinaclip.demo import DEMO_MODEL_DIR

        return str(DEMO_MODEL_DIR)
    return DEFAULT_MODEL


def encoder_from_args(args: argparse.Namespace) -> Encoder:
    """Build the encoder the common model options describe."""
    options: dict[str, Any] = {}
    if args.backend == "local":
        if args.base_url:
            raise UsageError("--base-url applies to --backend api only")
        if args.device:
            options["device"] = args.device
    else:
        if args.device:
            raise UsageError("--device applies to --backend local only")
        if args.base_url:
            options["base_url"] = args.base_url
    return make_encoder(args.backend, resolve_model(args), **options)


def model_key(args: argparse.Namespace) -> str:
    """Identity of the vectors a model produces, for the search cache.

    A local directory is keyed by its weights file's size and mtime, so retraining or
    replacing a checkpoint in place invalidates cached vectors.
    """
    model = resolve_model(args)
    if args.backend == "local":
        weights = Path(model).expanduser() / "model.safetensors"
        if weights.is_file():
            stat = weights.stat()
            return f"local:{weights.parent.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        return f"local:{model}"
    return f"api:{model}@{args.base_url or 'default'}"


def _batches(items: Sequence[T], size: int) -> list[tuple[int, Sequence[T]]]:
    return [(start, items[start : start + size]) for start in range(0, len(items), size)]


def embed_in_batches(
    embed: Callable[[Sequence[T]], FloatMatrix],
    items: Sequence[T],
    *,
    dim: int,
    batch_size: int,
    progress: bool,
    desc: str,
) -> FloatMatrix:
    """Embed `items` batch by batch under a progress bar.

    A bad input does not stop the scan: every batch is tried, and one `InvalidInputError`
    then names every bad input by its position in the whole list (nothing is returned).
    """
    parts = []
    problems: list[InputProblem] = []
    with tqdm(total=len(items), desc=desc, unit="item", disable=not progress) as bar:
        for start, batch in _batches(items, batch_size):
            try:
                parts.append(embed(batch))
            except InvalidInputError as exc:
                problems.extend(exc.shifted(start).problems)
            bar.update(len(batch))
    if problems:
        raise InvalidInputError(problems)
    return np.concatenate(parts) if parts else empty_matrix(dim)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain fixed-width table; the last column is left unpadded."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --- embed -------------------------------------------------------------------------------


def _read_lines(path: str) -> list[str]:
    """Non-blank lines of a file (`-` is stdin), without their line endings."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text: {exc.reason}") from None
    return [line for line in text.splitlines() if line.strip()]


def _write_jsonl(
    handle: TextIO, inputs: Sequence[tuple[str, str]], vectors: FloatMatrix, model: str
) -> None:
    for index, ((kind, value), vector) in enumerate(zip(inputs, vectors, strict=True)):
        record = {
            "index": index,
            "kind": kind,
            "input": value,
            "model": model,
            "embedding": vector.tolist(),
        }
        handle.write(json.dumps(record) + "\n")


def run_embed(args: argparse.Namespace) -> int:
    texts = list(args.text or [])
    for path in args.text_file or []:
        texts.extend(_read_lines(path))
    images = list(args.image or [])
    for path in args.image_list or []:
        images.extend(line.strip() for line in _read_lines(path))
    if not texts and not images:
        raise UsageError("nothing to embed: pass --text, --text-file, --image or --image-list")
    output = Path(args.output) if args.output else None
    if output is not None and output.suffix not in (".jsonl", ".npy"):
        raise UsageError(f"--output must end in .jsonl or .npy, got {output.name!r}")
    progress = _progress_default() if args.progress is None else args.progress
    normalize = not args.no_normalize
    encoder = encoder_from_args(args)
    try:
        text_vectors = embed_in_batches(
            lambda batch: encoder.embed_texts(batch, normalize=normalize),
            texts,
            dim=encoder.dim,
            batch_size=args.batch_size,
            progress=progress,
            desc="texts",
        )
        try:
            image_vectors = embed_in_batches(
                lambda batch: encoder.embed_images(batch, normalize=normalize),
                images,
                dim=encoder.dim,
                batch_size=args.batch_size,
                progress=progress,
                desc="images",
            )
        except InvalidInputError as exc:
            raise exc.shifted(len(texts)) from None
        model = encoder.model_name
    finally:
        encoder.close()
    vectors = np.concatenate([text_vectors, image_vectors])
    inputs = [("text", t) for t in texts] + [("image", str(i)) for i in images]
    if output is None:
        _write_jsonl(sys.stdout, inputs, vectors, model)
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == ".npy":
        np.save(output, vectors)
    else:
        with output.open("w", encoding="utf-8") as handle:
            _write_jsonl(handle, inputs, vectors, model)
    print(f"wrote {len(vectors)} x {vectors.shape[1]} embeddings to {output}", file=sys.stderr)
    return 0


# --- search ------------------------------------------------------------------------------


def _read_text_file(record: FileRecord) -> str:
    with record.path.open(encoding="utf-8", errors="replace") as handle:
        return handle.read(MAX_TEXT_FILE_CHARS)


def _embed_images_skipping_bad(
    encoder: Encoder, records: list[FileRecord], args: argparse.Namespace, progress: bool
) -> tuple[list[FileRecord], FloatMatrix]:
    """Embed image files; a file the model cannot read is reported and left out."""
    kept: list[FileRecord] = []
    parts: list[FloatMatrix] = []
    with tqdm(total=len(records), desc="images", unit="file", disable=not progress) as bar:
        for _, batch in _batches(records, args.batch_size):
            good = list(batch)
            try:
                vectors = encoder.embed_images([str(r.path) for r in good])
            except InvalidInputError as exc:
                bad = set(exc.indices)
                for problem in exc.problems:
                    print(
                        f"skipping {good[problem.index].relpath}: {problem.reason}", file=sys.stderr
                    )
                good = [r for i, r in enumerate(good) if i not in bad]
                vectors = encoder.embed_images([str(r.path) for r in good])
            kept.extend(good)
            parts.append(vectors)
            bar.update(len(batch))
    return kept, np.concatenate(parts) if parts else empty_matrix(encoder.dim)


def _index_folder(
    encoder: Encoder,
    cache: VectorCache,
    key: str,
    records: list[FileRecord],
    args: argparse.Namespace,
) -> tuple[list[FileRecord], FloatMatrix]:
    """Cached vectors for unchanged files, fresh ones for the rest; returns what is searchable."""
    progress = _progress_default() if args.progress is None else args.progress
    hits, misses = cache.lookup(key, records)
    texts = [r for r in misses if r.kind == "text"]
    text_vectors = embed_in_batches(
        encoder.embed_texts,
        [_read_text_file(r) for r in texts],
        dim=encoder.dim,
        batch_size=args.batch_size,
        progress=progress,
        desc="texts",
    )
    images, image_vectors = _embed_images_skipping_bad(
        encoder, [r for r in misses if r.kind == "image"], args, progress
    )
    cache.store(key, texts + images, np.concatenate([text_vectors, image_vectors]))
    fresh = dict(
        zip([r.relpath for r in texts + images], [*text_vectors, *image_vectors], strict=True)
    )
    cache.prune(key, [r.relpath for r in records])
    searchable = [r for r in records if r.relpath in hits or r.relpath in fresh]
    print(
        f"{len(searchable)} files searchable: {len(hits)} from the cache, "
        f"{len(fresh)} embedded now ({cache.db_path})",
        file=sys.stderr,
    )
    vectors = [hits[r.relpath] if r.relpath in hits else fresh[r.relpath] for r in searchable]
    return searchable, np.stack(vectors) if vectors else empty_matrix(encoder.dim)


def run_search(args: argparse.Namespace) -> int:
    root = Path(args.folder).expanduser()
    if not root.is_dir():
        raise UsageError(f"not a folder: {root}")
    records = [r for r in scan_folder(root) if args.kind in ("all", r.kind)]
    if not records:
        raise UsageError(f"no image or text files to search under {root}")
    if args.image_query:
        to_image_items([args.query])
    encoder = encoder_from_args(args)
    try:
        with VectorCache.for_folder(root, args.cache_dir) as cache:
            if args.reindex:
                cache.prune(model_key(args), [])
            searchable, matrix = _index_folder(encoder, cache, model_key(args), records, args)
        if args.image_query:
            query = encoder.embed_images([args.query])[0]
        else:
            query = encoder.embed_texts([args.query])[0]
    finally:
        encoder.close()
    if not searchable:
        raise UsageError(f"none of the files under {root} could be embedded")
    scores = matrix @ query
    order = np.argsort(-scores, kind="stable")[: args.top]
    rows = [
        (rank, f"{scores[i]:.3f}", searchable[i].kind, searchable[i].relpath)
        for rank, i in enumerate(order, start=1)
    ]
    print(format_table(("rank", "score", "kind", "path"), rows))
    return 0


# --- demo and serve ----------------------------------------------------------------------


def run_demo_command(args: argparse.Namespace) -> int:
    from jinaclip.demo.demo import run_demo

    return run_demo(args)


def _serve_unavailable(_: argparse.Namespace) -> int:
    raise JinaClipError(
        "`jinaclip serve` is not available in this installation (install jinaclip[serve])"
    )


def _add_serve(subparsers: Any) -> None:
    try:
        from jinaclip.server.cli import add_serve_parser, run_serve
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith(("jinaclip.server", "starlette", "uvicorn")):
            raise
        parser = subparsers.add_parser("serve", help="serve the Jina Embeddings API (unavailable)")
        parser.set_defaults(handler=_serve_unavailable)
        return
    parser = add_serve_parser(subparsers)
    parser.set_defaults(handler=run_serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jinaclip",
        description="One embedding model for text and images (jina-clip), local or via the API.",
    )
    parser.add_argument("--version", action="version", version=f"jinaclip {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = subparsers.add_parser(
        "demo",
        help="offline multimodal retrieval on a synthetic gallery (no network, no key)",
        description="Index a synthetic gallery of shapes with the demo checkpoint through "
        "LlamaIndex, run text-to-image and image-to-image queries, print ranked tables and "
        "write an HTML page.",
    )
    demo.add_argument(
        "--out",
        default="jinaclip-demo/index.html",
        help="the HTML page to write; pictures go next to it (default: ./jinaclip-demo/index.html)",
    )
    demo.add_argument("--top", type=_positive_int, default=3, help="hits per query (default: 3)")
    add_model_options(demo)
    demo.set_defaults(handler=run_demo_command)

    embed = subparsers.add_parser(
        "embed",
        help="embed texts and images to JSONL or .npy",
        description="Embed texts first, then images, in the order given. Without --output, "
        "JSON lines go to stdout.",
    )
    embed.add_argument("--text", action="append", metavar="TEXT", help="a text (repeatable)")
    embed.add_argument(
        "--text-file", action="append", metavar="FILE", help="one text per line ('-' = stdin)"
    )
    embed.add_argument(
        "--image", action="append", metavar="IMAGE", help="an image path or URL (repeatable)"
    )
    embed.add_argument(
        "--image-list", action="append", metavar="FILE", help="one image path or URL per line"
    )
    embed.add_argument("-o", "--output", help="out.jsonl or out.npy (default: JSONL on stdout)")
    embed.add_argument(
        "--no-normalize", action="store_true", help="keep raw (unnormalised) vectors"
    )
    add_model_options(embed)
    embed.set_defaults(handler=run_embed)

    search = subparsers.add_parser(
        "search",
        help="search a folder of images and text files",
        description="Embed every image and .txt/.md file under FOLDER (vectors are cached in "
        "FOLDER/.jinaclip and reused while files are unchanged) and print the best matches.",
    )
    search.add_argument("folder", metavar="FOLDER")
    search.add_argument("query", metavar="QUERY", help="a text, or an image with --image-query")
    search.add_argument(
        "--image-query", action="store_true", help="QUERY is an image path or URL, not a text"
    )
    search.add_argument("-k", "--top", type=_positive_int, default=5, help="hits (default: 5)")
    search.add_argument(
        "--kind", choices=("all", "image", "text"), default="all", help="which files to search"
    )
    search.add_argument("--cache-dir", type=Path, help="cache folder (default: FOLDER/.jinaclip)")
    search.add_argument("--reindex", action="store_true", help="ignore cached vectors")
    add_model_options(search)
    search.set_defaults(handler=run_search)

    _add_serve(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `jinaclip` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except UsageError as exc:
        print(f"jinaclip {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except InvalidInputError as exc:
        print(f"jinaclip {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except JinaClipError as exc:
        print(f"jinaclip {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"jinaclip {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

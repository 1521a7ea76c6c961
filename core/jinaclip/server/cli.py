"""`jinaclip serve`: argument parsing for the console script (wired in `jinaclip.cli`)."""

from __future__ import annotations

import argparse
import logging
import os

from jinaclip.images import ImageLimits
from jinaclip.server.app import DEFAULT_MAX_BODY_BYTES, ServeConfig

API_KEY_ENV = "JINACLIP_SERVE_API_KEY"


def add_serve_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Register `serve` and its options; `run_serve` is stored as the `handler` default."""
    parser = subparsers.add_parser(
        "serve",
        help="serve a local model as a Jina-compatible POST /v1/embeddings",
        description=(
            "Serve a local jina-clip model with the Jina Embeddings API's request, response and "
            "error format, so RemoteEncoder(base_url=...) and other Jina clients work unchanged."
        ),
    )
    parser.add_argument("--model", default="jina-clip-v1", help="model directory or hub id")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best)")
    parser.add_argument(
        "--served-model-name",
        default="jina-clip-v1",
        help="the `model` value requests must send (default: jina-clip-v1)",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help=f"require 'Authorization: Bearer KEY' (default: ${API_KEY_ENV}; none: open)",
    )
    parser.add_argument("--max-batch-size", type=int, default=64, help="inputs per model call")
    parser.add_argument(
        "--max-wait-ms", type=float, default=5.0, help="longest a request waits for company"
    )
    parser.add_argument(
        "--no-dynamic-batching",
        action="store_true",
        help="run every request alone instead of merging concurrent ones",
    )
    parser.add_argument(
        "--max-items", type=int, default=None, help="inputs per request (default: the model's)"
    )
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    defaults = ImageLimits.from_env()
    parser.add_argument("--max-image-pixels", type=int, default=defaults.max_pixels)
    parser.add_argument("--max-image-bytes", type=int, default=defaults.max_bytes)
    parser.add_argument(
        "--allow-private-urls",
        action="store_true",
        help="fetch image URLs on loopback/private/link-local hosts (off: SSRF protection)",
    )
    parser.add_argument("--log-level", default="info")
    parser.set_defaults(handler=run_serve)
    return parser


def config_from_args(args: argparse.Namespace) -> ServeConfig:
    for name in ("max_batch_size", "max_body_bytes", "max_image_pixels", "max_image_bytes"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1")
    if args.max_items is not None and args.max_items < 1:
        raise SystemExit("--max-items must be at least 1")
    return ServeConfig(
        served_model_name=args.served_model_name,
        api_key=args.api_key or os.environ.get(API_KEY_ENV) or None,
        dynamic_batching=not args.no_dynamic_batching,
        max_batch_size=args.max_batch_size,
        max_wait_ms=args.max_wait_ms,
        max_items=args.max_items,
        max_body_bytes=args.max_body_bytes,
        image_limits=ImageLimits(max_pixels=args.max_image_pixels, max_bytes=args.max_image_bytes),
        allow_private_urls=args.allow_private_urls,
    )


def run_serve(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the process exit status."""
    from jinaclip.server.launch import serve

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    serve(
        args.model,
        args.host,
        args.port,
        device=args.device,
        config=config_from_args(args),
        log_level=args.log_level,
    )
    return 0

"""`jinaclip serve` arguments -> ServeConfig."""

from __future__ import annotations

import argparse

import pytest
from pydantic import SecretStr

from jinaclip.server.cli import API_KEY_ENV, add_serve_parser, config_from_args, run_serve


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="jinaclip")
    add_serve_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["serve", *argv])


def test_defaults_are_safe_and_api_compatible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    args = parse()
    assert args.handler is run_serve
    assert (args.host, args.model) == ("127.0.0.1", "jina-clip-v1")
    config = config_from_args(args)
    assert config.served_model_name == "jina-clip-v1"
    assert config.api_key is None
    assert config.allow_private_urls is False
    assert config.dynamic_batching is True
    assert config.item_limit() == 2048


def test_options_and_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, "from-env")
    args = parse(
        "--served-model-name",
        "clip",
        "--no-dynamic-batching",
        "--max-items",
        "8",
        "--allow-private-urls",
        "--max-image-pixels",
        "1000",
        "--max-wait-ms",
        "2",
    )
    config = config_from_args(args)
    assert isinstance(config.api_key, SecretStr)
    assert config.api_key.get_secret_value() == "from-env"
    assert "from-env" not in repr(config)
    assert (config.served_model_name, config.dynamic_batching, config.item_limit()) == (
        "clip",
        False,
        8,
    )
    assert config.allow_private_urls is True
    assert config.image_limits.max_pixels == 1000
    assert config.max_wait_ms == 2.0
    assert config_from_args(parse("--api-key", "flag")).api_key == SecretStr("flag")


def test_nonsense_limits_are_refused() -> None:
    with pytest.raises(SystemExit, match="--max-batch-size"):
        config_from_args(parse("--max-batch-size", "0"))

"""URL fetching treats URLs as untrusted: caps, redirects and private targets, on a real server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jinaclip.fetch import FetchPolicy, afetch_image_bytes, fetch_image_bytes
from jinaclip.images import UnusableImageError

PAYLOAD = b"\x89PNG\r\n\x1a\n" + b"x" * 5000


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/image.png":
            self._send(200, PAYLOAD)
        elif self.path.startswith("/hop/"):
            remaining = int(self.path.rsplit("/", 1)[1])
            target = "/image.png" if remaining == 0 else f"/hop/{remaining - 1}"
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_returns_the_served_bytes(base_url: str) -> None:
    assert fetch_image_bytes(f"{base_url}/image.png", FetchPolicy()) == PAYLOAD


async def test_async_fetch_returns_the_served_bytes(base_url: str) -> None:
    assert await afetch_image_bytes(f"{base_url}/image.png", FetchPolicy()) == PAYLOAD


def test_redirects_are_followed_up_to_the_bound(base_url: str) -> None:
    policy = FetchPolicy(max_redirects=2)
    assert fetch_image_bytes(f"{base_url}/hop/1", policy) == PAYLOAD
    with pytest.raises(UnusableImageError, match="redirected more than 2 times"):
        fetch_image_bytes(f"{base_url}/hop/5", policy)


def test_byte_cap_stops_the_download(base_url: str) -> None:
    with pytest.raises(UnusableImageError, match="over the limit of 1,000 bytes"):
        fetch_image_bytes(f"{base_url}/image.png", FetchPolicy(max_bytes=1000))


async def test_async_byte_cap_stops_the_download(base_url: str) -> None:
    with pytest.raises(UnusableImageError, match="over the limit of 1,000 bytes"):
        await afetch_image_bytes(f"{base_url}/image.png", FetchPolicy(max_bytes=1000))


def test_http_error_status_is_reported(base_url: str) -> None:
    with pytest.raises(UnusableImageError, match="answered HTTP 404"):
        fetch_image_bytes(f"{base_url}/missing.png", FetchPolicy())


def test_loopback_target_is_refused_when_private_addresses_are_not_allowed(base_url: str) -> None:
    with pytest.raises(UnusableImageError, match=r"non-public address 127\.0\.0\.1"):
        fetch_image_bytes(f"{base_url}/image.png", FetchPolicy(allow_private=False))


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/x.png", "http://[::1]/x.png"],
)
def test_metadata_and_private_addresses_are_refused_before_connecting(url: str) -> None:
    with pytest.raises(UnusableImageError, match="non-public address"):
        fetch_image_bytes(url, FetchPolicy(allow_private=False))


def test_non_http_schemes_are_never_fetched() -> None:
    with pytest.raises(UnusableImageError, match="scheme 'file'"):
        fetch_image_bytes("file:///etc/passwd", FetchPolicy())


def test_unreachable_host_is_an_image_error_not_a_crash() -> None:
    with pytest.raises(UnusableImageError, match="could not fetch"):
        fetch_image_bytes("http://127.0.0.1:9/x.png", FetchPolicy(timeout_s=2))

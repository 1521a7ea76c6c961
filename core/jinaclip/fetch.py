"""Fetch image URLs as untrusted input: http(s) only, a timeout, a byte cap, few redirects.

The local backend and `jinaclip serve` fetch URLs that users (or strangers) supply.
Redirects are followed by hand so every hop is checked again; with `allow_private=False`
(the server's default) a host that resolves to loopback, private, link-local, reserved or
metadata addresses is refused, which stops the simplest SSRF. The check resolves the name
before connecting; a DNS-rebinding attacker could still race it, so the server should also
run where internal services are firewalled.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlparse

import httpx

from jinaclip.images import DEFAULT_MAX_IMAGE_BYTES, UnusableImageError


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """Bounds on fetching one image URL."""

    timeout_s: float = 10.0
    max_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    max_redirects: int = 3
    allow_private: bool = True


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def check_url(url: str, policy: FetchPolicy) -> None:
    """Refuse non-http(s) URLs and, unless allowed, hosts that resolve to internal addresses."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise UnusableImageError(f"URL scheme {parsed.scheme!r} is not fetched; use http or https")
    if not parsed.hostname:
        raise UnusableImageError(f"URL has no host: {url[:120]}")
    if policy.allow_private:
        return
    try:
        infos = socket.getaddrinfo(parsed.hostname, parsed.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise UnusableImageError(f"cannot resolve host {parsed.hostname!r}: {exc}") from exc
    for info in infos:
        address = str(info[4][0])
        if not _is_public(address):
            raise UnusableImageError(
                f"URL host {parsed.hostname!r} resolves to non-public address {address}; refused"
            )


def _read_capped(
    chunks: list[bytes], chunk: bytes, total: int, policy: FetchPolicy, url: str
) -> int:
    total += len(chunk)
    if total > policy.max_bytes:
        raise UnusableImageError(f"URL {url[:120]} is over the limit of {policy.max_bytes:,} bytes")
    chunks.append(chunk)
    return total


def _error_for_status(response: httpx.Response, url: str) -> UnusableImageError:
    return UnusableImageError(f"URL {url[:120]} answered HTTP {response.status_code}")


def fetch_image_bytes(url: str, policy: FetchPolicy, client: httpx.Client | None = None) -> bytes:
    """Download one image, streaming and stopping at the byte cap."""
    own = client is None
    http = client or httpx.Client(timeout=policy.timeout_s, follow_redirects=False)
    try:
        for _ in range(policy.max_redirects + 1):
            check_url(url, policy)
            with http.stream(
                "GET", url, timeout=policy.timeout_s, follow_redirects=False
            ) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("location", ""))
                    continue
                if response.status_code != 200:
                    raise _error_for_status(response, url)
                chunks: list[bytes] = []
                total = 0
                for chunk in response.iter_bytes():
                    total = _read_capped(chunks, chunk, total, policy, url)
                return b"".join(chunks)
        raise UnusableImageError(
            f"URL {url[:120]} redirected more than {policy.max_redirects} times"
        )
    except httpx.HTTPError as exc:
        raise UnusableImageError(
            f"could not fetch {url[:120]}: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        if own:
            http.close()


async def afetch_image_bytes(
    url: str, policy: FetchPolicy, client: httpx.AsyncClient | None = None
) -> bytes:
    """Async twin of `fetch_image_bytes`."""
    own = client is None
    http = client or httpx.AsyncClient(timeout=policy.timeout_s, follow_redirects=False)
    try:
        for _ in range(policy.max_redirects + 1):
            check_url(url, policy)
            async with http.stream(
                "GET", url, timeout=policy.timeout_s, follow_redirects=False
            ) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("location", ""))
                    continue
                if response.status_code != 200:
                    raise _error_for_status(response, url)
                chunks: list[bytes] = []
                total = 0
                async for chunk in response.aiter_bytes():
                    total = _read_capped(chunks, chunk, total, policy, url)
                return b"".join(chunks)
        raise UnusableImageError(
            f"URL {url[:120]} redirected more than {policy.max_redirects} times"
        )
    except httpx.HTTPError as exc:
        raise UnusableImageError(
            f"could not fetch {url[:120]}: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        if own:
            await http.aclose()

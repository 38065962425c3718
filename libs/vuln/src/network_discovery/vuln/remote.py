"""Advisory files fetched over HTTP(S): a feed URL (``MESHQ_VULN_FEED_URL``) or the URL given
to ``meshq vuln load``.

A URL names one advisory file, as the directory load reads them: a CSAF 2.0 document, an NVD
CVE API 2.0 page or feed file, a CVE JSON 5 record; plain or gzip'd (``Content-Encoding:
gzip`` or a ``.json.gz`` body). Bounded: ``http``/``https`` only, at most 5 redirects, a
timeout for the whole exchange, and at most ``max_bytes`` once decoded and decompressed (a
larger body is refused as it arrives, not read whole first). A second fetch of the same URL
sends the validators the first answer gave (``If-None-Match``, ``If-Modified-Since``); a
``304`` is "unchanged" and nothing is read. A URL is written to logs and errors without its
user info and query (where credentials would be).
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from network_discovery.vuln.load import MAX_FILE_BYTES

__all__ = [
    "MAX_URL_LENGTH",
    "Fetched",
    "UrlError",
    "Validators",
    "check_url",
    "fetch",
    "shown",
]

MAX_URL_LENGTH = 2048
MAX_REDIRECTS = 5
DEFAULT_TIMEOUT = 60.0
_CHUNK = 1 << 16


class UrlError(ValueError):
    """A URL that cannot be fetched or whose answer cannot be read; the message names the URL
    as ``shown`` writes it."""


@dataclass(frozen=True)
class Validators:
    """What the server said identifies the version it sent (sent back on the next fetch)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Fetched:
    """One fetch: ``data`` None when the server answered that nothing changed (304)."""

    data: bytes | None
    validators: Validators
    status: int


def shown(url: str) -> str:
    """The URL for a log line or an error: scheme, host, port and path only."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<an unreadable URL>"
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"[:300]


def check_url(url: str) -> str:
    """``url`` when it is an http(s) URL with a host, else a ``UrlError`` saying why."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlError(f"a URL longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise UrlError(f"{shown(url)}: a URL with spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise UrlError(f"{shown(url)}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UrlError(f"{shown(url)}: only http and https URLs are fetched")
    if not parts.hostname:
        raise UrlError(f"{shown(url)}: no host")
    return url


def _gunzip(data: bytes, max_bytes: int, name: str) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    out = bytearray()
    pending = data
    while pending:
        out += inflater.decompress(pending, max_bytes + 1 - len(out))
        if len(out) > max_bytes:
            raise UrlError(f"{name}: larger than {max_bytes} bytes decompressed")
        pending = inflater.unconsumed_tail
        if inflater.eof:
            break
    if not inflater.eof:
        raise UrlError(f"{name}: a gzip body cut short")
    return bytes(out)


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    previous: Validators | None = None,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    timeout: float = DEFAULT_TIMEOUT,
) -> Fetched:
    """GET ``url`` (conditionally when ``previous`` holds validators); a ``UrlError`` for a
    refused URL, a failed exchange, an answer other than 200/304, or a body over
    ``max_bytes``."""
    name = shown(check_url(url))
    headers = {"Accept": "application/json, application/gzip;q=0.9, */*;q=0.5"}
    if previous is not None:
        if previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("GET", url, headers=headers) as response:
                validators = Validators(
                    etag=_header(response, "etag"),
                    last_modified=_header(response, "last-modified"),
                )
                if response.status_code == 304:
                    return Fetched(None, previous or validators, 304)
                if response.status_code != 200:
                    raise UrlError(f"{name}: HTTP {response.status_code}")
                declared = response.headers.get("content-length", "")
                encoded = response.headers.get("content-encoding", "").strip().lower()
                if declared.isdigit() and not encoded and int(declared) > max_bytes:
                    raise UrlError(f"{name}: larger than {max_bytes} bytes")
                body = bytearray()
                # decoded chunks: a Content-Encoding is undone here and counted as it grows
                async for chunk in response.aiter_bytes(_CHUNK):
                    body += chunk
                    if len(body) > max_bytes:
                        raise UrlError(f"{name}: larger than {max_bytes} bytes")
    except TimeoutError:
        raise UrlError(f"{name}: no complete answer within {timeout:g} s") from None
    except httpx.TooManyRedirects:
        raise UrlError(f"{name}: more than {MAX_REDIRECTS} redirects") from None
    except httpx.DecodingError as exc:
        raise UrlError(f"{name}: a body that does not decode ({exc})"[:300]) from None
    except httpx.HTTPError as exc:
        raise UrlError(f"{name}: {type(exc).__name__}: {exc}"[:300]) from None
    data = bytes(body)
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, max_bytes, name)
    return Fetched(data, validators, 200)


def _header(response: httpx.Response, name: str) -> str | None:
    value = response.headers.get(name)
    if value is None or len(value) > 512:
        return None
    return value


def new_client() -> httpx.AsyncClient:
    """The client a feed keeps between fetches: redirects followed (http/https only, httpx
    refuses the others), the proxy settings of the environment honoured."""
    return httpx.AsyncClient(
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=httpx.Timeout(DEFAULT_TIMEOUT),
        headers={"User-Agent": "meshoptixiq-vuln-feed"},
    )

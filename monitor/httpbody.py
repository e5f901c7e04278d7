"""Small pieces of HTTP the fetcher needs: header values and bounded decompression.

Kept apart from the fetcher's politeness and error logic so each can be read
(and tested) on its own. ``Inflater`` exists because httpx's own decoder inflates
a whole network chunk in one call: 64 KB of gzip can become 64 MB before any size
check runs. Passing ``max_length`` to zlib makes the cap hold during decoding.
"""

from __future__ import annotations

import re
import zlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from monitor.errors import FetchError, PermanentFetchError, TransientFetchError
from monitor.records import utcnow

_LOOKS_HTML = re.compile(rb"<(?:!doctype\s+html|html|head|body|title)[\s>/]", re.IGNORECASE)
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or HTTP-date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or utcnow())).total_seconds()
    return max(0.0, seconds)


def media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime or None


def charset_of(content_type: str | None) -> str | None:
    match = _CHARSET.search(content_type or "")
    return match.group(1).lower() if match else None


def looks_like_html(body: bytes) -> bool:
    return _LOOKS_HTML.search(body[:2048]) is not None


class Inflater:
    """Bounded gzip/deflate decoding: never produces more than it is allowed to."""

    def __init__(self, coding: str) -> None:
        self._raw_fallback = coding == "deflate"
        wbits = zlib.MAX_WBITS | 32 if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)

    def feed(self, data: bytes, limit: int) -> bytes:
        # With max_length set, zlib stops early only when the limit is reached,
        # so output shorter than ``limit`` means all input was consumed.
        try:
            out = self._z.decompress(data, limit)
        except zlib.error:
            if not self._raw_fallback:
                raise
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, sent as "deflate"
            out = self._z.decompress(data, limit)
        self._raw_fallback = False
        return out


def too_large(url: str, limit: int) -> PermanentFetchError:
    return PermanentFetchError(f"body over {limit} bytes: {url}", reason="too_large", url=url)


def transport_error(exc: httpx.HTTPError | httpx.InvalidURL, url: str) -> FetchError:
    """The FetchError (and its stable reason tag) for an exception raised by httpx."""
    if isinstance(exc, httpx.TimeoutException):
        return TransientFetchError(f"timeout fetching {url}: {exc}", reason="timeout", url=url)
    if isinstance(exc, httpx.TooManyRedirects):
        return PermanentFetchError(str(exc), reason="too_many_redirects", url=url)
    if isinstance(exc, httpx.ConnectError):
        return TransientFetchError(
            f"cannot connect to {url}: {exc}", reason="connect_error", url=url
        )
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return PermanentFetchError(f"invalid URL {url}: {exc}", reason="invalid_url", url=url)
    return TransientFetchError(f"network error on {url}: {exc}", reason="network_error", url=url)

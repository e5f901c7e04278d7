"""Small pieces of HTTP the fetcher needs: header values and bounded decompression.

Kept apart from the fetcher's politeness and error logic so each can be read
(and tested) on its own. ``Inflater`` exists because httpx's own decoder inflates
a whole network chunk in one call: 64 KB of gzip can become 64 MB before any size
check runs. Passing ``max_length`` to zlib makes the cap hold during decoding.

The sniffing helpers exist because a Content-Type is a claim, not a fact: PDFs
and images go out as ``text/html``, feeds get served where an article was
linked, and an HTML page sits at a feed's URL. Magic bytes and the XML prolog
say what a body really is before anything tries to extract text from it.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from monitor.errors import FetchError, PermanentFetchError, TransientFetchError
from monitor.netguard import BlockedAddressError, BlockedConnection
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


# Signatures at offset 0 (PDF may follow leading whitespace, as readers accept).
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"PK\x03\x04", "application/zip"),  # also docx, xlsx, odt, epub
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # doc, xls
    (b"\x1f\x8b", "application/gzip"),  # compressed but not declared as Content-Encoding
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
    (b"OggS", "audio/ogg"),
    (b"\x1aE\xdf\xa3", "video/webm"),
)
_UNICODE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")


def sniff_binary(body: bytes) -> str | None:
    """The media type of a binary body (PDF, image, archive, Office...), None for text.

    Beyond the signatures, NUL bytes near the start mean binary too: no HTML or
    XML text has them unless it is UTF-16/32, which carries a byte-order mark.
    """
    head = body[:1024]
    if head.lstrip(b" \t\r\n").startswith(b"%PDF-"):
        return "application/pdf"
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.count(b"\x00") > 4 and not head.startswith(_UNICODE_BOMS):
        return "application/octet-stream"
    return None


_XML_SPACE = re.compile(rb"[ \t\r\n]*")
_ELEMENT = re.compile(rb"<([A-Za-z_][\w:.\-]*)")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
FEED_ROOTS = frozenset({"rss", "feed", "rdf:rdf", "rdf", "channel", "entry"})
# Elements that start HTML documents (with or without <html>), never XML feeds.
_HTML_ROOT_NAMES = (
    "html head body meta link title script style noscript div p span table center font "
    "form iframe a br img h1 h2 h3 header main section article nav"
)
HTML_ROOTS = frozenset(_HTML_ROOT_NAMES.split())


def _ascii_view(body: bytes) -> bytes:
    """The body as ASCII-compatible bytes, so markup can be scanned whatever the encoding."""
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, "replace").encode("utf-8")
    if body[:4] in (b"<\x00?\x00", b"<\x00!\x00", b"<\x00r\x00", b"<\x00f\x00"):
        return body.decode("utf-16-le", "replace").encode("utf-8")
    if body[:4] in (b"\x00<\x00?", b"\x00<\x00!", b"\x00<\x00r", b"\x00<\x00f"):
        return body.decode("utf-16-be", "replace").encode("utf-8")
    return body.removeprefix(b"\xef\xbb\xbf")


@dataclass(frozen=True, slots=True)
class Prolog:
    """What precedes a markup document's first element, and that element's name.

    ``root`` is lowercased (``rss``, ``feed``, ``rdf:rdf``, ``html``), None when
    no element starts the document after the prolog (text, binary, nothing).
    """

    root: str | None
    doctype: bytes
    declares_entities: bool


def read_prolog(body: bytes) -> Prolog:
    """Skip the XML declaration, processing instructions, comments and the DOCTYPE.

    Entity declarations are looked for in the DOCTYPE and, when no root element
    could be found (an unterminated or odd prolog), anywhere in the document, so
    a trick prolog cannot hide them from the check.
    """
    text = _ascii_view(body)
    pos = 0
    doctype = b""
    root: str | None = None
    while True:
        match = _XML_SPACE.match(text, pos)
        pos = match.end() if match else pos
        if text.startswith(b"<?", pos):
            end = text.find(b"?>", pos + 2)
            pos = len(text) if end < 0 else end + 2
        elif text.startswith(b"<!--", pos):
            end = text.find(b"-->", pos + 4)
            pos = len(text) if end < 0 else end + 3
        elif text[pos : pos + 9].upper() == b"<!DOCTYPE":
            end = _doctype_end(text, pos)
            doctype += text[pos:end]
            pos = end
        else:
            element = _ELEMENT.match(text, pos)
            root = element.group(1).decode("ascii", "replace").lower() if element else None
            break
        if pos >= len(text):
            break
    scope = doctype if root is not None else text
    return Prolog(root, doctype, _ENTITY_DECL.search(scope) is not None)


def _doctype_end(text: bytes, start: int) -> int:
    """End of a DOCTYPE declaration, internal subset ``[...]`` included."""
    close = text.find(b">", start)
    bracket = text.find(b"[", start)
    if 0 <= bracket < close or (bracket >= 0 and close < 0):
        subset_end = text.find(b"]", bracket)
        if subset_end < 0:
            return len(text)
        close = text.find(b">", subset_end)
    return len(text) if close < 0 else close + 1


def looks_like_feed(body: bytes) -> bool:
    """Whether the body is an RSS, RDF or Atom document (by its root element)."""
    return read_prolog(body[:1_048_576]).root in FEED_ROOTS


class Inflater:
    """Bounded gzip/deflate decoding: never produces more than it is allowed to.

    zlib does not complain when its input simply stops, so a stream cut short
    (a dropped connection behind a complete-looking response) would pass as a
    shorter page: :attr:`complete` tells the caller whether the end was seen.
    """

    def __init__(self, coding: str) -> None:
        self._raw_fallback = coding == "deflate"
        wbits = zlib.MAX_WBITS | 32 if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)
        self._fed = False

    @property
    def complete(self) -> bool:
        """True when the end of the compressed stream was reached, or nothing was sent at all."""
        return self._z.eof or not self._fed

    def feed(self, data: bytes, limit: int) -> bytes:
        # With max_length set, zlib stops early only when the limit is reached,
        # so output shorter than ``limit`` means all input was consumed.
        self._fed = self._fed or bool(data)
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
    if isinstance(exc, httpx.ConnectError) and isinstance(exc.__cause__, BlockedConnection):
        return BlockedAddressError(str(exc.__cause__), url=url)  # see monitor.netguard
    if isinstance(exc, httpx.ConnectError):
        return TransientFetchError(
            f"cannot connect to {url}: {exc}", reason="connect_error", url=url
        )
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return PermanentFetchError(f"invalid URL {url}: {exc}", reason="invalid_url", url=url)
    return TransientFetchError(f"network error on {url}: {exc}", reason="network_error", url=url)

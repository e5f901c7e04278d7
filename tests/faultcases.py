"""The fault matrix of issue 9: every fault, how to serve it, and what the product owes it.

One row per fault. Pages and feeds share the transport faults; content faults
differ (a PDF is an unsupported page but "not a feed" at a feed URL). ``host``
says where the fault lives: ``main`` (the shared fault server), ``throttle`` (a
server of its own, because a 429 pauses its whole host) or ``blackhole`` (the
connect-timeout port). Used by ``test_faults`` (fetcher and poller directly)
and ``test_fault_pipeline`` (the whole pipeline, on both databases).
"""

from __future__ import annotations

from collections.abc import Callable

from tests.faultserver import (
    BlackholeServer,
    Fault,
    FaultServer,
    drip,
    drip_headers,
    gzip_bomb,
    header_flood,
    huge,
    never_answer,
    redirect,
    reset_mid_body,
    respond,
    short_body,
    truncated_gzip,
)

CONNECT_TIMEOUT_S = 0.3
READ_TIMEOUT_S = 0.5
TOTAL_TIMEOUT_S = 1.0
DRIP_INTERVAL_S = 0.2  # below the read timeout: only the total deadline stops it
MAX_BYTES = 1_000_000
BIG = 50 * 1_048_576

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" + b"0" * 200
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01" + b"\x00" * 64
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 64
DOCX = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml" + b"\x00" * 64
BROTLI = b"\x1b\x0b\x00\xf8\x25\x82\x82\x8c\x98\x19\x8e"
ZSTD = b"\x28\xb5\x2f\xfd\x20\x05\x29\x00\x00hello"
RSS = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Flux</title>'
    b"<item><title>Une entree</title><link>https://news.example/a.html</link></item>"
    b"</channel></rss>\n"
)
ATOM = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
    b"<title>Flux</title><id>urn:x</id><updated>2024-06-19T08:00:00Z</updated>"
    b'<entry><title>Une entree</title><link href="https://news.example/b.html"/>'
    b"<id>urn:x:b</id><updated>2024-06-19T08:00:00Z</updated></entry></feed>\n"
)
ARTICLE = (
    b"<!doctype html><html><head><meta charset='utf-8'><title>Article</title></head><body>"
    b"<article><h1>Un article</h1>"
    + b"<p>Un paragraphe de texte ordinaire pour remplir la page de contenu.</p>" * 40
    + b"</article></body></html>"
)
HTML_WITH_FEED_LINK = (
    b"<!DOCTYPE html>\n<html><head><title>Le site</title>"
    b'<link rel="alternate" type="application/rss+xml" title="RSS" href="/rss/all.xml">'
    b"</head><body><p>Bienvenue sur notre site.</p></body></html>"
)
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b']>\n<rss version="2.0"><channel><title>t</title><item><title>&lol9;</title>'
    b"<link>https://news.example/lol.html</link></item></channel></rss>\n"
)
# The comment before the DOCTYPE is the variant feedparser's own DTD stripping misses.
XXE = (
    b'<?xml version="1.0"?>\n<!-- <a> -->\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'\n<rss version="2.0"><channel><title>t</title><item><title>leak:&xxe;</title>'
    b"<link>https://news.example/xxe.html</link></item></channel></rss>\n"
)
TRUNCATED_XML = RSS[: len(RSS) // 2]


class Case:
    """One fault and the outcome the product owes it."""

    def __init__(
        self,
        name: str,
        make: Callable[[], Fault] | None,
        transient: bool,
        reason: str,
        host: str = "main",
    ) -> None:
        self.name = name
        self.make = make
        self.transient = transient
        self.reason = reason
        self.host = host

    def __repr__(self) -> str:
        return self.name


def _transport_cases(body: bytes, content_type: str) -> list[Case]:
    """Faults of the connection and the HTTP layer: the same for pages and feeds."""
    half = body[: len(body) // 2]
    return [
        Case("http-404", lambda: respond(404, b"not found", "text/plain"), False, "http_404"),
        Case("http-410", lambda: respond(410, b"gone", "text/plain"), False, "http_410"),
        Case("http-500", lambda: respond(500, b"oops", "text/plain"), True, "http_500"),
        Case(
            "http-503-retry-after",
            lambda: respond(503, b"busy", "text/plain", {"Retry-After": "7200"}),
            True,
            "http_503",
        ),
        Case(
            "http-429",
            lambda: respond(429, b"slow down", "text/plain", {"Retry-After": "120"}),
            True,
            "http_429",
            host="throttle",
        ),
        Case("connect-timeout", None, True, "timeout", host="blackhole"),
        Case("read-timeout", never_answer, True, "timeout"),
        Case("drip", lambda: drip(DRIP_INTERVAL_S, content_type), True, "timeout"),
        Case("drip-headers", lambda: drip_headers(DRIP_INTERVAL_S), True, "timeout"),
        Case("header-flood", header_flood, True, "network_error"),
        Case(
            "reset-mid-body",
            lambda: reset_mid_body(half, len(body), content_type),
            True,
            "truncated_body",
        ),
        Case(
            "short-body", lambda: short_body(half, len(body), content_type), True, "truncated_body"
        ),
        Case("truncated-gzip", lambda: truncated_gzip(body, content_type), True, "truncated_body"),
        Case("redirect-loop", lambda: redirect("./redirect-loop"), False, "too_many_redirects"),
        Case(
            "redirect-ftp",
            lambda: redirect("ftp://files.example/a.html", 301),
            False,
            "unsupported_scheme",
        ),
        Case("redirect-file", lambda: redirect("file:///etc/passwd"), False, "unsupported_scheme"),
        Case(
            "50mb-declared",
            lambda: huge(BIG, declare_length=True, content_type=content_type),
            False,
            "too_large",
        ),
        Case(
            "50mb-chunked",
            lambda: huge(BIG, declare_length=False, content_type=content_type),
            False,
            "too_large",
        ),
        Case("gzip-bomb", lambda: gzip_bomb(content_type=content_type), False, "too_large"),
        Case(
            "brotli",
            lambda: respond(200, BROTLI, content_type, {"Content-Encoding": "br"}),
            False,
            "unsupported_content_encoding:br",
        ),
        Case(  # we send Accept-Encoding: gzip, deflate; a server sending zstd anyway is broken
            "zstd",
            lambda: respond(200, ZSTD, content_type, {"Content-Encoding": "zstd"}),
            False,
            "unsupported_content_encoding:zstd",
        ),
    ]


def _typed(body: bytes, content_type: str) -> Callable[[], Fault]:
    return lambda: respond(200, body, content_type)


PAGE_CASES: list[Case] = [
    *_transport_cases(ARTICLE, "text/html; charset=utf-8"),
    Case("empty", _typed(b"", "text/html"), True, "empty_body"),
    Case("pdf", _typed(PDF, "application/pdf"), False, "unsupported_content_type:application/pdf"),
    Case("png", _typed(PNG, "image/png"), False, "unsupported_content_type:image/png"),
    Case(
        "pdf-as-html", _typed(PDF, "text/html"), False, "unsupported_content_type:application/pdf"
    ),
    Case("png-as-html", _typed(PNG, "text/html"), False, "unsupported_content_type:image/png"),
    Case("gif-as-html", _typed(GIF, "text/html"), False, "unsupported_content_type:image/gif"),
    Case("jpeg-as-html", _typed(JPEG, "text/html"), False, "unsupported_content_type:image/jpeg"),
    Case(
        "docx-as-html", _typed(DOCX, "text/html"), False, "unsupported_content_type:application/zip"
    ),
    Case(
        "rss-as-page",
        _typed(RSS, "application/rss+xml"),
        False,
        "unsupported_content_type:application/rss+xml",
    ),
    Case("rss-as-html", _typed(RSS, "text/html; charset=utf-8"), False, "not_html:feed"),
    Case("atom-as-html", _typed(ATOM, "text/html"), False, "not_html:feed"),
]

FEED_CASES: list[Case] = [
    *_transport_cases(RSS, "application/rss+xml"),
    Case("empty", _typed(b"", "application/rss+xml"), False, "empty_body"),
    Case("pdf", _typed(PDF, "application/pdf"), False, "not_a_feed"),
    Case("png-as-rss", _typed(PNG, "application/rss+xml"), False, "not_a_feed"),
    Case("html-page", _typed(HTML_WITH_FEED_LINK, "text/html"), False, "not_a_feed"),
    Case("truncated-xml", _typed(TRUNCATED_XML, "application/rss+xml"), False, "not_a_feed"),
    Case(
        "billion-laughs",
        _typed(BILLION_LAUGHS, "application/rss+xml"),
        False,
        "xml_entity_declarations",
    ),
    Case("xxe", _typed(XXE, "application/rss+xml"), False, "xml_entity_declarations"),
]


class FaultFarm:
    """The three hosts a fault can live on, started and stopped together."""

    def __init__(self) -> None:
        self.main = FaultServer()
        self.throttle = FaultServer()
        self.blackhole = BlackholeServer()

    def serve(self, case: Case, prefix: str) -> str:
        """Put ``case`` at ``{prefix}/{name}`` on its host; returns its URL."""
        path = f"{prefix}/{case.name}"
        if case.host == "blackhole":
            return self.blackhole.url(path)
        assert case.make is not None, case
        return self._server(case).add(path, case.make())

    def hits(self, case: Case, prefix: str) -> int:
        """Requests that reached the fault (a connect timeout never reaches anything)."""
        if case.host == "blackhole":
            return 0
        return self._server(case).count(f"{prefix}/{case.name}")

    def _server(self, case: Case) -> FaultServer:
        return self.throttle if case.host == "throttle" else self.main

    def __enter__(self) -> FaultFarm:
        self.main.start()
        self.throttle.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.main.stop()
        self.throttle.stop()
        self.blackhole.close()

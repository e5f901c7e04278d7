"""Canonical URLs: one spelling per article so reposts and re-polls match.

The same article reaches us as ``HTTPS://Www.Site.fr:443/a?utm_source=rss#top``
from one feed and ``https://www.site.fr/a`` from another; the dedup index keys on
the canonical form, so every spelling that a server would answer identically must
collapse to one string, and nothing else may (the path keeps its case and the
remaining query parameters keep their order, because servers do care about those).

A page may also declare its own canonical URL (``<link rel=canonical>`` or
``og:url``). We believe it only when it stays on the same site, because a
declared URL on another domain is how syndication partners and scrapers would
otherwise steal the identity of an article.

Standard library only (``urllib.parse``, ``re``, the ``idna`` codec): this module
is called for every feed entry and every page, so it must stay cheap.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from monitor.errors import BadInputError

# Query parameters that only say how a reader arrived, never which document is
# served. Exact names (compared lowercase) and name prefixes.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "yclid",
        "ysclid",
        "_ga",
        "_gl",
        "igshid",
        "igsh",
        "ref_src",
        "ref_url",
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsctatracking",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "vero_conv",
        "wickedid",
        "rb_clickid",
        "s_cid",
        "cmpid",
        "ocid",
        "xtor",  # AT Internet, on most French news feeds (?xtor=RSS-3208)
        "xts",
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
        "at_send_date",
        "at_link",
        "at_creation",
        "at_platform",
        "at_format",
        "at_ptr_name",
        "sr_share",
        "spm",
        "smid",
    }
)
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "matomo_", "hmb_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters left as they are in a path or query; everything else (spaces,
# non-ASCII, quotes...) is percent-encoded, existing escapes are kept.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = "/?:@!$&'()*+,;=-._~%"
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HOST_OK = re.compile(r"^[a-z0-9.\-_]+$")
_MAX_URL = 8192


def _normalize_escapes(part: str) -> str:
    """Uppercase percent-escapes and decode those of unreserved characters (RFC 3986 6.2.2)."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _ESCAPE.sub(fix, _BAD_ESCAPE.sub("%25", part))


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4, so ``/a/./b/../c`` and ``/a/c`` are one URL."""
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                output.append("")
            continue
        if seg == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
            continue
        output.append(seg)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


def _ascii_host(host: str, url: str) -> str:
    host = host.strip().rstrip(".").lower()
    if not host:
        raise BadInputError(f"URL has no host: {url!r}")
    if ":" in host:  # IPv6 literal (urlsplit strips the brackets)
        return f"[{host}]"
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise BadInputError(f"URL host is not a valid domain name: {url!r}") from exc
    if not _HOST_OK.match(host) or ".." in host or host.startswith("."):
        raise BadInputError(f"URL host is not a valid domain name: {url!r}")
    return host


def _is_tracking(name: str) -> bool:
    key = name.lower()
    if "%" in key:
        key = _normalize_escapes(key).lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _clean_query(query: str) -> str:
    kept = []
    for piece in query.split("&"):
        if not piece:
            continue
        name = piece.split("=", 1)[0]
        if _is_tracking(name):
            continue
        kept.append(_normalize_escapes(quote(piece, safe=_QUERY_SAFE)))
    return "&".join(kept)


def split_http_url(url: str) -> tuple[str, str, str, str]:
    """Scheme, ASCII host, port suffix (``:8080`` or empty) and the rest of ``url``.

    Raises BadInputError for anything that is not an absolute http(s) URL: that
    check lives here so the fetcher and the canonicalizer agree on what counts.
    """
    if not isinstance(url, str):
        raise BadInputError(f"URL must be a string, got {type(url).__name__}")
    text = url.strip()
    if not text or len(text) > _MAX_URL or any(c in text for c in "\n\r\t\x00"):
        raise BadInputError(f"unusable URL: {url[:200]!r}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise BadInputError(f"unusable URL: {url[:200]!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise BadInputError(f"not an http(s) URL: {url[:200]!r}")
    host = _ascii_host(parts.hostname or "", url)
    port_text = "" if port is None or port == _DEFAULT_PORTS[scheme] else f":{port}"
    return scheme, host, port_text, text


def canonicalize(url: str) -> str:
    """The one spelling of ``url`` we store and compare; raises BadInputError if unusable."""
    scheme, host, port, text = split_http_url(url)
    parts = urlsplit(text)
    userinfo = ""
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0] + "@"
    path = _normalize_escapes(quote(parts.path, safe=_PATH_SAFE))
    path = _remove_dot_segments(path) or "/"
    if not path.startswith("/"):
        path = "/" + path
    query = _clean_query(parts.query) if parts.query else ""
    return urlunsplit((scheme, f"{userinfo}{host}{port}", path, query, ""))


def host_of(url: str) -> str:
    """Lowercase ASCII host (with a non-default port) of an http(s) URL; BadInputError if none."""
    _, host, port, _ = split_http_url(url)
    return host + port


def _site_host(url: str) -> str | None:
    try:
        _, host, _, _ = split_http_url(url)
    except BadInputError:
        return None
    return host[4:] if host.startswith("www.") else host


def same_site(a: str, b: str) -> bool:
    """Same host, or one is a subdomain of the other (``www.`` ignored).

    A cheap stand-in for "same registrable domain" that needs no public-suffix
    list: ``edition.cnn.com`` and ``cnn.com`` match, ``cnn.com.evil.org`` and
    ``cnn.com`` do not. Unparsable URLs never match.
    """
    ha, hb = _site_host(a), _site_host(b)
    if not ha or not hb:
        return False
    return ha == hb or ha.endswith("." + hb) or hb.endswith("." + ha)


def choose_canonical(final_url: str, declared: str | None) -> str:
    """The canonical URL of a fetched page: the declared one if trustworthy, else ``final_url``.

    A declared URL is ignored when it leaves the site (see module docstring) and
    when it points at the site's front page while we fetched a deeper page:
    templates that stamp the home page as canonical on every article are common,
    and believing them would make every article of the site a duplicate.
    """
    final = canonicalize(final_url)
    if not declared or not declared.strip():
        return final
    try:
        chosen = canonicalize(urljoin(final_url, declared.strip()))
    except (BadInputError, ValueError):
        return final
    if not same_site(final, chosen):
        return final
    if urlsplit(chosen).path == "/" and urlsplit(final).path != "/":
        return final
    return chosen


# --- declared canonical in the page's <head> ------------------------------------------

_HEAD_LIMIT = 1_048_576  # heads with inline scripts and styles reach several hundred KB
_HEAD_CLOSE = re.compile(rb"</head\s*>", re.IGNORECASE)
_BODY_OPEN = re.compile(rb"<body[\s>]", re.IGNORECASE)
_TAG = re.compile(rb"<(link|meta|base)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(
    rb"""([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+)""", re.IGNORECASE
)
_INTERESTING = (b"canonical", b"og:url")


def _attributes(raw: bytes) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for name, value in _ATTR.findall(raw):
        if value[:1] in (b'"', b"'"):
            value = value[1:-1]
        text = html.unescape(value.decode("utf-8", "replace")).strip()
        attrs.setdefault(name.decode("ascii").lower(), text)
    return attrs


def _head_bytes(document: bytes | str) -> bytes:
    """The document up to ``</head>`` (else up to ``<body``).

    ``</head>`` is preferred because ``<body`` also turns up inside scripts and
    comments of real heads. Everything stays bytes: decoding a 500 KB head of
    inline scripts would cost more than the search itself.
    """
    if isinstance(document, str):
        data = document[:_HEAD_LIMIT].encode("utf-8", "replace")
    else:
        data = document
    match = _HEAD_CLOSE.search(data, 0, _HEAD_LIMIT) or _BODY_OPEN.search(data, 0, _HEAD_LIMIT)
    end = match.start() if match is not None else _HEAD_LIMIT
    return data[:end]


def _in_comment(head: bytes, position: int) -> bool:
    start = head.rfind(b"<!--", 0, position)
    return start != -1 and head.find(b"-->", start, position) == -1


def declared_canonical(html_doc: bytes | str, base_url: str) -> str | None:
    """The absolute URL a page declares as canonical (rel=canonical, else og:url), or None.

    Only the head is searched, with regular expressions on bytes rather than a
    parser: this runs on every fetched page, and a full lxml parse costs several
    times more (benchmarks/bench_urls.py prints the ratio and the agreement).
    """
    head = _head_bytes(html_doc)
    base = base_url
    canonical: str | None = None
    og_url: str | None = None
    for match in _TAG.finditer(head):
        tag, raw = match.group(1).lower(), match.group(2)
        if tag != b"base" and not any(word in raw.lower() for word in _INTERESTING):
            continue
        if _in_comment(head, match.start()):
            continue
        attrs = _attributes(raw)
        if tag == b"base" and attrs.get("href"):
            base = urljoin(base_url, attrs["href"])
        elif tag == b"link" and canonical is None and attrs.get("href"):
            if "canonical" in attrs.get("rel", "").lower().split():
                canonical = attrs["href"]
        elif tag == b"meta" and og_url is None and attrs.get("content"):
            key = (attrs.get("property") or attrs.get("name") or "").lower()
            if key == "og:url":
                og_url = attrs["content"]
    for candidate in (canonical, og_url):
        if not candidate:
            continue
        try:
            absolute = urljoin(base, candidate)
            split_http_url(absolute)
        except (BadInputError, ValueError):
            continue
        return absolute
    return None


# --- URLs typed by a person -------------------------------------------------------------

#: The database's URL columns hold 2048 characters; a longer URL could never be stored.
MAX_INPUT_URL = 2048
_SHOWN = 120


def _shown(url: str) -> str:
    """The offending value on one line: ``repr`` makes control characters visible."""
    return repr(url if len(url) <= _SHOWN else url[:_SHOWN] + "…")


def check_input_url(
    url: str, *, what: str = "URL", schemes: tuple[str, ...] = (), show_value: bool = True
) -> str:
    """``url`` stripped of surrounding blanks if it is a usable absolute http(s) URL.

    For values people type (``newsmon ingest URL``, ``--feed``, the dashboard's
    form): it runs before any work starts, so a typo fails in milliseconds
    instead of after a flow run was created. ``BadInputError``'s message is one
    line naming ``what``, the value as given and what is accepted. ``schemes``
    adds schemes accepted without a host check, for commands that look up
    stored items (``seed://`` documents). ``show_value=False`` leaves the value
    out of the message, for callers that quote it themselves (config errors).
    """
    if not isinstance(url, str):
        raise BadInputError(f"{what}: expected text, got {type(url).__name__}")

    def _value(text: str) -> str:
        return f": {_shown(text)}" if show_value else ""

    accepted = "an http:// or https:// URL"
    if schemes:
        accepted = f"an http://, https:// or {', '.join(s + '://' for s in schemes)} URL"
    text = url.strip()
    if not text:
        raise BadInputError(f"{what}: empty (expected {accepted})")
    if len(text) > MAX_INPUT_URL:
        raise BadInputError(
            f"{what}: too long ({len(text)} characters, at most {MAX_INPUT_URL}){_value(text)}"
        )
    for position, char in enumerate(text):
        if char.isspace() or not char.isprintable():
            kind = "a space" if char == " " else f"the character {char!r}"
            raise BadInputError(
                f"{what}: contains {kind} at position {position} "
                f"(percent-encode it, e.g. %20 for a space){_value(text)}"
            )
    scheme, sep, _rest = text.partition(":")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme):
        raise BadInputError(f"{what}: no scheme (expected {accepted}){_value(text)}")
    scheme = scheme.lower()
    if scheme in schemes:
        return text
    if scheme not in _DEFAULT_PORTS:
        raise BadInputError(
            f"{what}: unsupported scheme {scheme!r} (expected {accepted}){_value(text)}"
        )
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (raises on a port out of range)
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535"
        raise BadInputError(f"{what}: {exc} (expected {accepted}){_value(text)}") from None
    if not parts.hostname:
        raise BadInputError(f"{what}: no host (expected {accepted}){_value(text)}")
    try:
        _ascii_host(parts.hostname, text)
    except BadInputError:
        raise BadInputError(f"{what}: host is not a valid domain name{_value(text)}") from None
    return text

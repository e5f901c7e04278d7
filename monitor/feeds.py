"""Feed polling: conditional fetch, change detection, parsing into FeedEntry records.

feedparser only ever sees bytes we fetched ourselves, wrapped in a stream:
handed a bare string or bytes it would happily open a URL or a local file of
that name, and the fetcher is where timeouts, size caps and politeness live.

A poll does as little work as the feed allows: a 304 ends it, an unchanged body
(same SHA-256 as last time) ends it before parsing, and only a changed body is
parsed. Real feeds are often slightly broken XML, so a "bozo" feed is still used
when its entries are usable; the warning travels in ``FeedPoll.reason`` so an
operator can see it without the feed being marked as failing.

What is refused before feedparser sees it, each with a stable reason tag that
``FeedPoll.reason`` starts with: an empty body (``empty_body``), binary content
or an HTML page (``not_a_feed``; the page's advertised feed URLs are named so
the operator can fix the config), and any document whose DOCTYPE declares
entities (``xml_entity_declarations``). feedparser strips entity declarations
only when they start a line and the DOCTYPE is where its regex expects it;
otherwise it hands them to expat, which expands nested entities (a billion
laughs costs seconds before expat's amplification limit trips) and silently
drops external ones. Real feeds never declare entities (none of the real feeds
in the shared corpus do), so refusing them costs nothing and takes microseconds.

The adaptive schedule is in :mod:`monitor.schedule`, re-exported here because
callers think of it as part of polling a feed.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from monitor.decode import decode_html
from monitor.errors import BadInputError, FetchError, TransientFetchError
from monitor.feedtext import (
    advertised_feeds,
    clean_language,
    html_to_text,
    parse_localized_date,
)
from monitor.fetch import Fetcher
from monitor.httpbody import HTML_ROOTS, charset_of, media_type, read_prolog, sniff_binary
from monitor.records import FeedEntry, FeedPoll
from monitor.schedule import schedule_failure, schedule_success
from monitor.urls import split_http_url

_BENIGN_BOZO = ("CharacterEncodingOverride", "NonXMLContentType")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_XML_ENCODING = re.compile(rb"""(^\s*<\?xml[^>]*?encoding\s*=\s*["'])[^"']*(["'])""")


class FeedRejected(BadInputError):
    """A document that yields no usable feed; ``reason`` is a short tag for operators.

    Tags: ``empty_body``, ``not_a_feed``, ``xml_entity_declarations``. The
    message keeps the ``not a feed: ...`` wording; :meth:`describe` puts the tag first.
    """

    def __init__(self, detail: str, reason: str = "not_a_feed") -> None:
        super().__init__(f"not a feed: {detail}")
        self.reason = reason
        self.detail = detail

    def describe(self) -> str:
        return f"{self.reason}: {self.detail}"


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed: usable entries (absolute links) and what was wrong with the rest."""

    entries: tuple[FeedEntry, ...]
    title: str = ""
    language: str | None = None
    warning: str = ""
    version: str = ""
    dropped: int = 0  # entries without a usable link


def hash_body(body: bytes) -> str:
    """The change detector stored per feed: equal hashes mean nothing to parse."""
    return hashlib.sha256(body).hexdigest()


# --- parsing ---------------------------------------------------------------------------


def _http_link(value: Any, base: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        absolute = urljoin(base, value.strip())
        split_http_url(absolute)
    except (BadInputError, ValueError):
        return None
    return absolute


def _text_of(entry: Any, key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        return ""
    detail = entry.get(f"{key}_detail") or {}
    if detail.get("type") == "text/plain" and "<" not in value:
        return " ".join(value.split())
    return html_to_text(value)


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                year, month, day, hour, minute, second = parsed[:6]
                return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
            except (TypeError, ValueError):
                continue
    for key in ("published", "updated"):
        raw = entry.get(key)
        if isinstance(raw, str) and raw:
            when = parse_localized_date(raw)
            if when is not None:
                return when
    return None


def _author(entry: Any) -> str:
    detail = entry.get("author_detail") or {}
    name = detail.get("name") or entry.get("author") or ""
    if not name and entry.get("authors"):
        name = ", ".join(a.get("name", "") for a in entry["authors"] if a.get("name"))
    return " ".join(str(name).split())


def _entry_link(entry: Any, base: str) -> str | None:
    link = _http_link(entry.get("link"), base)
    if link:
        return link
    for item in entry.get("links") or ():
        if item.get("rel", "alternate") == "alternate":
            link = _http_link(item.get("href"), base)
            if link:
                return link
    if entry.get("guidislink") or str(entry.get("id", "")).startswith(("http://", "https://")):
        return _http_link(entry.get("id"), base)
    return None


def _feedparser_entries(
    parsed: Any, url: str, feed_language: str | None, max_entries: int
) -> tuple[list[FeedEntry], int, int]:
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    dropped = extra = 0
    for raw in parsed.entries:
        link = _entry_link(raw, url)
        if link is None:
            dropped += 1
            continue
        if link in seen:
            continue
        if len(entries) >= max_entries:
            extra += 1
            continue
        seen.add(link)
        detail = raw.get("title_detail") or raw.get("summary_detail") or {}
        summary = _text_of(raw, "summary")
        if not summary and raw.get("content"):
            summary = html_to_text(raw["content"][0].get("value", ""))
        entries.append(
            FeedEntry(
                feed_url=url,
                link=link,
                guid=str(raw.get("id") or link).strip(),
                title=_text_of(raw, "title"),
                summary=summary,
                published=_published(raw),
                author=_author(raw),
                language=clean_language(detail.get("language")) or feed_language,
            )
        )
    return entries, dropped, extra


def _warning(bozo: str, dropped: int, extra: int, max_entries: int) -> str:
    parts = []
    if bozo:
        parts.append(f"malformed feed, entries recovered: {bozo}")
    if dropped:
        parts.append(
            f"{dropped} entr{'y' if dropped == 1 else 'ies'} without a usable link dropped"
        )
    if extra:
        parts.append(f"kept the first {max_entries} entries, {extra} more ignored")
    return "; ".join(parts)


def _bozo_text(parsed: Any) -> str:
    if not parsed.get("bozo"):
        return ""
    exc = parsed.get("bozo_exception")
    name = type(exc).__name__
    return f"{name}: {exc}".strip() if exc is not None else "bozo"


def parse_feed(
    body: bytes, url: str, content_type: str | None = None, *, max_entries: int = 200
) -> ParsedFeed:
    """Parse RSS 0.9x/1.0/2.0, Atom or JSON Feed bytes; links are resolved against ``url``.

    Raises FeedRejected (a BadInputError, "not a feed: ...") when nothing usable
    came out and the document is not a valid empty feed either.
    """
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise FeedRejected("empty document", "empty_body")
    if stripped[:1] in (b"{", b"[") or "json" in (content_type or "").lower():
        return _parse_json_feed(body, url, max_entries)
    _refuse_non_feeds(body, url)
    body, content_type = _as_utf8(body, content_type)
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    try:
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    except Exception as exc:  # feedparser on hostile bytes: any crash is "not a feed"
        raise FeedRejected(f"parser failed: {type(exc).__name__}: {exc}") from exc
    version = str(parsed.get("version") or "")
    feed = parsed.get("feed") or {}
    language = clean_language(feed.get("language")) or clean_language(
        (feed.get("title_detail") or {}).get("language")
    )
    entries, dropped, extra = _feedparser_entries(parsed, url, language, max_entries)
    bozo = _bozo_text(parsed)
    if not entries:
        problems = []
        if bozo and not bozo.startswith(_BENIGN_BOZO):
            problems.append(bozo)
        elif not version:
            problems.append("no RSS, RDF or Atom root element")
        if dropped:
            problems.append(f"{dropped} entries, none with a usable link")
        if problems:
            raise FeedRejected("; ".join(problems))
    return ParsedFeed(
        entries=tuple(entries),
        title=_text_of(feed, "title"),
        language=language,
        warning=_warning(
            "" if bozo.startswith(_BENIGN_BOZO) else bozo, dropped, extra, max_entries
        ),
        version=version,
        dropped=dropped,
    )


def _refuse_non_feeds(body: bytes, url: str) -> None:
    """Binary content, entity declarations and HTML pages never reach feedparser."""
    sniffed = sniff_binary(body)
    if sniffed is not None:
        raise FeedRejected(f"{sniffed} content, not XML")
    prolog = read_prolog(body)
    if prolog.declares_entities:
        raise FeedRejected(
            "the document declares XML entities (<!ENTITY>), refused unexpanded: "
            "real feeds never do, entity expansion is how billion-laughs and "
            "external-entity attacks work",
            "xml_entity_declarations",
        )
    if prolog.root in HTML_ROOTS:
        found = advertised_feeds(body[:262_144].decode("utf-8", "replace"), url)
        hint = f"; it advertises {', '.join(found)}" if found else ""
        raise FeedRejected(f"an HTML page, not RSS/Atom{hint}")


def _as_utf8(body: bytes, content_type: str | None) -> tuple[bytes, str | None]:
    """Re-encode a feed that is not UTF-8 (and has no BOM) as UTF-8, declarations updated.

    feedparser trusts the declared charset and falls back to windows-1252, so an
    undeclared or wrongly declared Cyrillic feed comes out as mojibake. The page
    decoder's charset decision (declarations checked against the bytes, then
    detection) gets those right; valid UTF-8 and BOM-marked feeds are left as sent.
    """
    if body.startswith(_BOMS):
        return body, content_type
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return body, content_type
    text, _ = decode_html(body, charset_of(content_type))
    utf8 = _XML_ENCODING.sub(rb"\1utf-8\2", text.encode("utf-8"), count=1)
    mime = media_type(content_type) or "application/xml"
    return utf8, f"{mime}; charset=utf-8"


def _parse_json_feed(body: bytes, url: str, max_entries: int) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (jsonfeed.org), which feedparser 6 does not read."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedRejected(f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise FeedRejected("JSON without a jsonfeed.org version")
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedRejected("JSON Feed without an items list")
    language = clean_language(data.get("language"))
    feed_author = _json_author(data)
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    dropped = extra = 0
    for item in items:
        if not isinstance(item, dict):
            dropped += 1
            continue
        link = _http_link(item.get("url"), url) or _http_link(item.get("external_url"), url)
        if link is None:
            dropped += 1
            continue
        if link in seen:
            continue
        if len(entries) >= max_entries:
            extra += 1
            continue
        seen.add(link)
        summary = item.get("summary") or item.get("content_text") or ""
        if not summary and isinstance(item.get("content_html"), str):
            summary = item["content_html"]
        entries.append(
            FeedEntry(
                feed_url=url,
                link=link,
                guid=str(item.get("id") or link),
                title=html_to_text(str(item.get("title") or "")),
                summary=html_to_text(str(summary)),
                published=parse_localized_date(
                    str(item.get("date_published") or item.get("date_modified") or "")
                ),
                author=_json_author(item) or feed_author,
                language=clean_language(item.get("language")) or language,
            )
        )
    return ParsedFeed(
        entries=tuple(entries),
        title=html_to_text(str(data.get("title") or "")),
        language=language,
        warning=_warning("", dropped, extra, max_entries),
        version="jsonfeed",
        dropped=dropped,
    )


def _json_author(obj: dict[str, Any]) -> str:
    authors = obj.get("authors")
    if isinstance(authors, list):
        names = [str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")]
        if names:
            return ", ".join(names)
    author = obj.get("author")
    if isinstance(author, dict) and author.get("name"):
        return str(author["name"])
    return ""


# --- polling ---------------------------------------------------------------------------


def poll_feed(
    fetcher: Fetcher,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    body_hash: str | None,
    max_entries: int = 200,
) -> FeedPoll:
    """Poll one feed; fetch and parse problems come back as ``outcome="error"``, never raised.

    On a fetch error the old validators and hash are handed back unchanged. On a
    body that does not parse they are dropped, so the next poll fetches and
    parses again instead of a 304 or an equal hash hiding the broken feed.
    """
    previous_hash = body_hash
    try:
        resp = fetcher.fetch_feed(url, etag=etag, last_modified=last_modified)
    except FetchError as exc:
        return FeedPoll(
            feed_url=url,
            outcome="error",
            http_status=exc.status_code,
            etag=etag,
            last_modified=last_modified,
            body_hash=previous_hash,
            reason=exc.describe()[:300],
            transient=isinstance(exc, TransientFetchError),
            retry_after_s=exc.retry_after,
        )
    moved = resp.final_url if resp.permanent_redirect and resp.final_url != url else None
    common: dict[str, Any] = {
        "feed_url": url,
        "http_status": resp.status_code,
        "final_url": moved,
        "etag": resp.etag,
        "last_modified": resp.last_modified,
    }
    if resp.status_code == 304:
        return FeedPoll(outcome="not_modified", body_hash=previous_hash, **common)
    digest = hash_body(resp.body)
    if digest == previous_hash:
        return FeedPoll(outcome="unchanged", body_hash=digest, **common)
    base = resp.final_url
    location = resp.headers.get("content-location")
    if location:
        base = _http_link(location, resp.final_url) or base
    try:
        parsed = parse_feed(resp.body, base, resp.content_type, max_entries=max_entries)
    except BadInputError as exc:
        common.update(etag=None, last_modified=None)
        reason = exc.describe() if isinstance(exc, FeedRejected) else f"not_a_feed: {exc}"
        return FeedPoll(outcome="error", reason=reason[:300], transient=False, **common)
    return FeedPoll(
        outcome="ok",
        entries=parsed.entries,
        body_hash=digest,
        reason=parsed.warning,
        title=parsed.title,
        language=parsed.language,
        **common,
    )


__all__ = [
    "FeedRejected",
    "ParsedFeed",
    "hash_body",
    "parse_feed",
    "poll_feed",
    "schedule_failure",
    "schedule_success",
]

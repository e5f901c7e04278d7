"""Cheap metadata read straight from the parsed tree, beside trafilatura's own.

Trafilatura's metadata is good but lossy in ways the pipeline cares about: its
date is a bare ``YYYY-MM-DD`` (we want the publication instant, in UTC, to order
reposts), it does not report the page language, and it folds the declared
canonical URL together with the URL we passed in. One pass over ``<meta>``,
``<link>`` and JSON-LD blocks gives those, plus fallbacks (og:title, h1, JSON-LD
headline) for when trafilatura finds no title or date. Only lxml, no network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.html import HtmlElement

__all__ = [
    "PageMeta",
    "choose_author",
    "choose_published",
    "choose_title",
    "parse_datetime",
    "read_page_meta",
    "strip_site_name",
]

_PUBLISHED_KEYS = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "article.published",
    "publishdate",
    "publish-date",
    "pubdate",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.date",
    "date",
)
_LANG_KEYS = ("content-language", "og:locale", "language", "dc.language")
_TITLE_KEYS = ("og:title", "twitter:title")
_SITE_KEYS = ("og:site_name", "application-name", "twitter:site")
_AUTHOR_KEYS = ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author")
_DESCRIPTION_KEYS = ("description", "og:description", "twitter:description")
_MAX_JSONLD_CHARS = 200_000
_OFFSET_NO_COLON = re.compile(r"([+-]\d{2})(\d{2})$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class PageMeta:
    """What the page declares about itself; empty strings / None when absent."""

    language: str | None = None
    canonical: str | None = None
    title: str = ""
    h1: str = ""  # only when the page has exactly one: several h1 are logo/section headings
    site_name: str = ""
    author: str = ""
    description: str = ""
    published: datetime | None = None


def parse_datetime(value: str | None) -> datetime | None:
    """An aware UTC datetime from an ISO-8601-ish string, None if it is not one.

    A missing offset is read as UTC: nothing better is known, and a wrong hour
    matters less than dropping the date.
    """
    if not value:
        return None
    text = value.strip()
    if len(text) < 10 or not text[:4].isdigit():
        return None
    text = text.replace("Z", "+00:00").replace("z", "+00:00")
    if len(text) > 10 and text[10] in " t":
        text = text[:10] + "T" + text[11:]
    text = _OFFSET_NO_COLON.sub(r"\1:\2", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text[:10])
        except ValueError:
            return None
    if not 1990 <= parsed.year <= 2100:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed


def _clean(value: object) -> str:
    return _SPACES.sub(" ", value).strip() if isinstance(value, str) else ""


def _meta_values(tree: HtmlElement) -> dict[str, str]:
    """First non-empty content per lower-cased name/property/itemprop/http-equiv."""
    found: dict[str, str] = {}
    for meta in tree.iter("meta"):
        content = _clean(meta.get("content") or meta.get("datetime") or "")
        if not content:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = (meta.get(attr) or "").strip().lower()
            if key and key not in found:
                found[key] = content
    return found


def _canonical(tree: HtmlElement, metas: dict[str, str], base_url: str) -> str | None:
    candidates: list[str] = [
        str(link.get("href") or "")
        for link in tree.iter("link")
        if "canonical" in (link.get("rel") or "").lower().split()
    ]
    candidates.append(metas.get("og:url", ""))
    for href in candidates:
        href = href.strip()
        if not href:
            continue
        url = urljoin(base_url, href) if base_url else href
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            return url
    return None


def _walk_jsonld(node: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 6:
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk_jsonld(item, depth + 1)
    elif isinstance(node, dict):
        yield node
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
            if key in node:
                yield from _walk_jsonld(node[key], depth + 1)


def _jsonld_fields(tree: HtmlElement) -> dict[str, str]:
    """datePublished / headline / author name of the first article-like JSON-LD node."""
    fields: dict[str, str] = {}
    for script in tree.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        raw = script.text or ""
        if not raw.strip() or len(raw) > _MAX_JSONLD_CHARS:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        for node in _walk_jsonld(data):
            if "datePublished" in node and "date" not in fields:
                fields["date"] = _clean(node["datePublished"])
            if "headline" in node and "headline" not in fields:
                fields["headline"] = _clean(node["headline"])
            author = node.get("author")
            if author and "author" not in fields:
                first = author[0] if isinstance(author, list) and author else author
                name = first.get("name") if isinstance(first, dict) else first
                if _clean(name):
                    fields["author"] = _clean(name)
    return fields


def _first(metas: dict[str, str], keys: tuple[str, ...]) -> str:
    for key in keys:
        if metas.get(key):
            return metas[key]
    return ""


def _only_text(tree: HtmlElement, tag: str) -> str:
    """Text of the one non-empty ``tag`` element; "" when there are none or several."""
    found = ""
    for element in tree.iter(tag):
        text = _clean(element.text_content())
        if text:
            if found:
                return ""
            found = text
    return found


def read_page_meta(tree: HtmlElement, base_url: str = "") -> PageMeta:
    """One pass over the tree's declarations; never raises on odd markup."""
    metas = _meta_values(tree)
    jsonld = _jsonld_fields(tree)
    root = tree.getroottree().getroot()
    language = _clean(root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang"))
    published = None
    for candidate in (jsonld.get("date"), *(metas.get(k) for k in _PUBLISHED_KEYS)):
        published = parse_datetime(candidate)
        if published is not None:
            break
    return PageMeta(
        language=language or _first(metas, _LANG_KEYS) or None,
        canonical=_canonical(tree, metas, base_url),
        title=_first(metas, _TITLE_KEYS) or jsonld.get("headline", ""),
        h1=_only_text(tree, "h1"),
        site_name=_first(metas, _SITE_KEYS).lstrip("@"),
        author=jsonld.get("author", "") or _first(metas, _AUTHOR_KEYS),
        description=_first(metas, _DESCRIPTION_KEYS),
        published=published,
    )


_TITLE_SPLIT = re.compile(r"\s+(?:[|–—•·»:]|-|::)\s+")
_WORDS = re.compile(r"\w+")
_SQUASH = re.compile(r"[\W_]+")
H1_MIN_WORDS = 3
H1_MIN_OVERLAP = 0.3


def _squash(value: str) -> str:
    return _SQUASH.sub("", value.casefold())


def strip_site_name(title: str, site: str, host: str = "") -> str:
    """``Headline | Site`` or ``Site - Headline`` without the site part.

    Only a part that *is* the site name (or host) goes: a colon or dash inside
    the headline itself is kept.
    """
    title = " ".join(title.split())
    keys = {k for k in (_squash(site), _squash(host.removeprefix("www."))) if len(k) >= 3}
    if not keys:
        return title
    separators = list(_TITLE_SPLIT.finditer(title))
    if not separators:
        return title
    last, first = separators[-1], separators[0]
    tail, head = _squash(title[last.end() :]), _squash(title[: first.start()])

    def is_site(part: str) -> bool:
        return bool(part) and any(part == k or part in k or k in part for k in keys)

    if is_site(tail) and len(title[: last.start()]) >= 10:
        return title[: last.start()]
    if is_site(head) and len(title[first.end() :]) >= 10:
        return title[first.end() :]
    return title


_NOT_AUTHORS = {"noauthor", "admin", "administrator", "unknown", "anonymous", "author"}


def choose_author(extracted: str, meta: PageMeta, site: str, host: str = "") -> str:
    """The byline, without placeholder values or the site name listed as a co-author.

    Trafilatura joins several sources with "; " and one of them is often the
    publisher (og:site_name, JSON-LD publisher): "El Mostrador; Raúl Espina".
    The site name alone is kept, since organisations do sign articles.
    """
    keys = {k for k in (_squash(site), _squash(host.removeprefix("www."))) if len(k) >= 3}
    for candidate in (extracted, meta.author):
        names = [" ".join(part.split()) for part in candidate.split(";")]
        names = [n for n in names if _squash(n) and _squash(n) not in _NOT_AUTHORS]
        people = [n for n in names if _squash(n) not in keys]
        if people or names:
            return "; ".join(people or names)
    return ""


def _overlap(a: str, b: str) -> float:
    """Share of the smaller word set found in the other (case-insensitive)."""
    words_a, words_b = set(_WORDS.findall(a.casefold())), set(_WORDS.findall(b.casefold()))
    if not words_a or not words_b:
        return 0.0
    return len(words_a & words_b) / min(len(words_a), len(words_b))


def choose_title(extracted: str, meta: PageMeta, fallback: str = "") -> str:
    """The visible headline when the page has one that agrees with the metadata title.

    og:title and ``<title>`` are often SEO rewrites of the headline; a single
    ``<h1>`` is what readers (and the evaluation's annotators) see. Several h1,
    or one that shares no words with the metadata title, is a logo or section
    name, so the metadata title stays.
    """
    base = next((" ".join(c.split()) for c in (extracted, meta.title, fallback) if c.strip()), "")
    h1 = meta.h1
    headline = bool(h1) and len(_WORDS.findall(h1)) >= H1_MIN_WORDS and len(h1) <= 300
    if headline and (not base or _overlap(h1, base) >= H1_MIN_OVERLAP):
        return h1
    return base or h1


def choose_published(day: str | None, meta: PageMeta) -> tuple[datetime | None, date | None]:
    """Publication instant (UTC) and the calendar day the publisher states.

    htmldate (through trafilatura) is better at picking *which* date is the
    publication date; the page's own declaration carries the time. A declared
    time with a local offset is trusted outright (it states the local day); a
    UTC one only when within a day of htmldate's, and the local day stays htmldate's.
    """
    found = parse_datetime(day)
    found_day = found.date() if found is not None else None
    declared = meta.published
    if declared is None:
        return found, found_day
    offset = declared.utcoffset()
    if (offset is not None and offset.total_seconds() != 0) or found_day is None:
        return declared.astimezone(UTC), declared.date()
    if abs((declared.date() - found_day).days) <= 1:
        return declared.astimezone(UTC), found_day
    return found, found_day

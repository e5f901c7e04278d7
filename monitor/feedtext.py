"""Small text helpers for feed fields: HTML to plain text, language tags, dates.

Standard library only. Feed summaries are HTML fragments of a few hundred bytes,
so ``html.parser`` is plenty and keeps the feed module to one outside library.
Dates get a fallback for what feedparser leaves unparsed: European news feeds
(French, Italian, Spanish, German, Portuguese, Russian) often write RFC 822 dates
with local month and day names (``mer, 16 nov 2022 00:38:15 +0100``), and an
entry without a date sorts and dedups worse than one with it.
When a feed URL answers with an HTML page, the feeds that page advertises
(``<link rel="alternate" type="application/rss+xml">``) are read here too, so
the error can tell the operator which URL to configure instead.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import urljoin

_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title", "iframe"})
_BLOCK = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "tr",
        "td",
        "th",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "section",
        "article",
        "figure",
        "figcaption",
        "img",
        "hr",
    }
)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag in _BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed to single spaces."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return " ".join(markup.split())
    collector = _TextCollector()
    try:
        collector.feed(markup)
        collector.close()
    except (AssertionError, ValueError):  # html.parser gives up on some broken markup
        return " ".join(re.sub(r"<[^>]*>", " ", markup).split())
    return " ".join("".join(collector.parts).split())


_FEED_LINK_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json"}
)


class _FeedLinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        values = {k.lower(): (v or "").strip() for k, v in attrs}
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").split(";")[0].strip().lower()
        if "alternate" in rels and kind in _FEED_LINK_TYPES and values.get("href"):
            self.hrefs.append(values["href"])


def advertised_feeds(markup: str, base: str, limit: int = 3) -> list[str]:
    """Absolute http(s) URLs of the feeds an HTML page advertises in its ``<head>``."""
    collector = _FeedLinkCollector()
    try:
        collector.feed(markup[:262_144])
        collector.close()
    except (AssertionError, ValueError):
        pass  # keep what was found before the markup broke the parser
    found: list[str] = []
    for href in collector.hrefs:
        url = urljoin(base, href)
        if url.lower().startswith(("http://", "https://")) and url not in found:
            found.append(url)
    return found[:limit]


_LANG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8})*$")


def clean_language(value: object) -> str | None:
    """A lowercase BCP 47-ish tag (``en-us``) or None; ``en_US`` is a common feed spelling."""
    if not isinstance(value, str):
        return None
    tag = value.strip().lower().replace("_", "-")
    return tag if _LANG.match(tag) else None


_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "jan janv janvier gen gennaio ene enero januar jänner janeiro",
        "feb fev févr fevr fév février fevrier febbraio febrero februar fevereiro",
        "mar mars marzo märz mär mrz março marco",
        "apr avr avril aprile abr abril april",
        "may mai mag maggio mayo maio",
        "jun juin giu giugno junio juni junho",
        "jul juil juillet lug luglio julio juli julho",
        "aug août aout aoû ago agosto august",
        "sep sept septembre set settembre septiembre september setembro",
        "oct octobre ott ottobre octubre okt oktober out outubro",
        "nov novembre noviembre november novembro",
        "dec déc décembre decembre dic dicembre diciembre dez dezember dezembro",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number
_RU_MONTHS = ("янв", "фев", "мар", "апр", "ма", "июн", "июл", "авг", "сен", "окт", "ноя", "дек")
_LOCAL_DATE = re.compile(
    r"(\d{1,2})\.?\s+([^\W\d_]+)\.?,?\s+(\d{4})"
    r"(?:[\s,T]+(?:à\s+|um\s+|alle\s+)?(\d{1,2})[:h](\d{2})(?::(\d{2}))?)?"
    r"\s*(z|utc|gmt|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


def _month(name: str) -> int | None:
    key = name.lower().rstrip(".")
    if key in _MONTHS:
        return _MONTHS[key]
    for number, stem in enumerate(_RU_MONTHS, start=1):
        if key.startswith(stem) and (stem != "ма" or key in ("мая", "май")):
            return number
    return None


def _offset(text: str | None) -> timezone:
    if not text or text.lower() in ("z", "utc", "gmt"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def _localized(raw: str) -> datetime | None:
    match = _LOCAL_DATE.search(raw)
    month = _month(match.group(2)) if match else None
    if match is None or month is None:
        return None
    day, _, year, hour, minute, second, zone = match.groups()
    try:
        return datetime(
            int(year),
            month,
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=_offset(zone),
        )
    except ValueError:
        return None


def parse_localized_date(text: str) -> datetime | None:
    """An aware UTC datetime from ISO 8601, RFC 822 or a localized RFC 822-like date; else None."""
    raw = text.strip()
    if not raw:
        return None
    when: datetime | None = None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            when = _localized(raw)
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)

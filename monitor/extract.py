"""Article text and metadata from fetched bytes, with trafilatura, never fetching.

The pipeline calls :func:`extract_article` from a process pool, so it is a
top-level function taking and returning picklable records, and it raises
nothing but :class:`~monitor.errors.BadInputError` (as :class:`ExtractionRejected`,
whose ``reason`` tag is stored with the failed item).

Work is done once: the bytes are decoded once (:mod:`monitor.decode`), parsed
once into an lxml tree, and that tree is handed to trafilatura (which copies it
before pruning) and read for our own metadata (:mod:`monitor.pagemeta`).
trafilatura's own XPath expressions run compiled (:mod:`monitor.xpathc`): the
same nodes, about a third of a page's analysis less CPU.

Settings were chosen on the shared corpus with ``benchmarks/extraction_eval.py``:
``favor_precision`` gives the best body F1 there (it drops related-article
blocks that the default keeps), at no extra cost. When that precise pass finds
less than ``min_text_chars``, a second ``favor_recall`` pass on the same tree
rescues short pages; only then does the feed entry's title + summary stand in.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import trafilatura
from courlan import extract_domain
from htmldate import find_date
from lxml import etree
from lxml.html import (
    HtmlComment,
    HtmlElement,
    HtmlEntity,
    HTMLParser,
    HtmlProcessingInstruction,
    document_fromstring,
)
from trafilatura.metadata import (
    META_URL,
    examine_meta,
    extract_author,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import Document, set_date_params

from monitor import language, xpathc
from monitor.config import ExtractionSettings
from monitor.decode import decode_html
from monitor.errors import BadInputError
from monitor.language import choose_language
from monitor.noise import drop_noise_lines, is_template_junk
from monitor.pagemeta import (
    PageMeta,
    choose_author,
    choose_published,
    choose_title,
    read_page_meta,
    strip_site_name,
)
from monitor.records import Article, FeedEntry, Page

__all__ = [
    "METHOD_FEED",
    "METHOD_PRECISION",
    "METHOD_RECALL",
    "Extraction",
    "ExtractionRejected",
    "detect_language",
    "extract_article",
    "parse_html",
]

LOGGER = logging.getLogger(__name__)

METHOD_PRECISION = "trafilatura"
METHOD_RECALL = "trafilatura_recall"
METHOD_FEED = "feed_summary"

_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")
_SNIFF_TYPES = ("", "text/plain", "application/octet-stream", "binary/octet-stream")
_MARKUP = re.compile(r"<(?:!doctype|html|head|body|meta|title|div|p|article|main)\b", re.I)
# C0 controls but tab, LF and CR, deleted from the UTF-8 bytes: in UTF-8 they are
# single bytes that no other character's encoding contains, so bytes.translate
# drops exactly them, ~30x faster than a regex over the text (1.5 ms a page).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_NONCHARACTERS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")  # U+FFFE, U+FFFF
_TAGS = re.compile(r"<[^>]{0,2000}>")
_SPACES = re.compile(r"[ \t\u00a0]+")
_PARSER = HTMLParser(
    collect_ids=False,
    default_doctype=False,
    encoding="utf-8",
    remove_comments=True,
    remove_pis=True,
)
# lxml.html picks each element's Python class in a Python method, called every time
# an element surfaces in Python: about 2,500 times per page in trafilatura's XPath
# passes, ~3 % of a worker's CPU. The same classes chosen in C; only the form-field
# subclasses (``InputElement``...), which nothing here uses, become plain HtmlElement.
# Extraction output is identical on all 384 corpus pages.
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
    )
)


# trafilatura's author search (``extract_author``) prunes a deep copy of the page, then
# runs three XPath scans over it: 5.8 ms on a page without author metadata (7.1 where
# nothing matches), 2.1 ms a page on average over the benchmark's 181. Each of its patterns
# (``trafilatura.xpaths.AUTHOR_XPATHS``, 2.0) needs an ``<author>`` or ``<rel>``
# element, or one of these words in the rel, id, class, itemprop, data-testid or
# data-component attribute of an element. Pruning only removes elements, so a page
# with none of them has no author for that search to find, and is not searched:
# 59 of the 384 corpus pages, the same results on all of them. The check costs 0.9 ms
# a page it runs on, 0.3 ms a page on average over the benchmark's 181.
_AUTHOR_ATTRIBUTES = etree.XPath(
    "//@rel|//@id|//@class|//@itemprop|//@data-testid|//@data-component"
)
_AUTHOR_ELEMENTS = etree.XPath("boolean(//author|//rel)")
_AUTHOR_WORDS = re.compile(
    "author|Author|byl|BBL|Byline|username|screenname|writer|zuozhe|bianji|xiaobian"
    "|channel-name|submitted-by|posted-by|journalist-name"
)


def may_name_an_author(tree: HtmlElement) -> bool:
    """Whether trafilatura's author search could find anything on this page."""
    if _AUTHOR_ELEMENTS(tree):
        return True
    return _AUTHOR_WORDS.search("\x00".join(_AUTHOR_ATTRIBUTES(tree))) is not None


class ExtractionRejected(BadInputError):
    """No usable article text; ``reason`` is a short tag for operators.

    Tags: ``empty_body``, ``not_html``, ``unparsable``, ``client_rendered``
    (an unrendered JavaScript shell), ``no_text``.
    """

    def __init__(self, message: str, reason: str = "no_text") -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self) -> tuple[type[ExtractionRejected], tuple[str, str]]:
        # Raised inside a process pool: it must survive pickling with its reason.
        return (type(self), (str(self), self.reason))


@dataclass(frozen=True, slots=True)
class Extraction:
    """The article plus what the pipeline decides on afterwards.

    ``article.canonical_url`` is the fetched ``final_url``; ``declared_canonical``
    is what the page claims (rel=canonical, og:url), resolved but unchecked, for
    ``monitor.urls.choose_canonical`` to accept or not. ``published_day`` is the
    calendar day the publisher states, which the UTC instant in
    ``article.published_at`` can shift by one (evening news west of Greenwich).
    """

    article: Article
    declared_canonical: str | None = None
    encoding: str | None = None
    published_day: date | None = None


@dataclass(frozen=True, slots=True)
class _Body:
    text: str
    method: str
    title: str = ""
    author: str = ""
    date: str = ""
    site: str = ""
    description: str = ""


def parse_html(text: str) -> HtmlElement:
    """Parse decoded HTML once, as UTF-8 bytes so an inner charset declaration is ignored."""
    data = text.encode("utf-8", "surrogatepass").translate(None, _CONTROL_BYTES)
    for noncharacter in _NONCHARACTERS:
        if noncharacter in data:
            data = data.replace(noncharacter, b"")
    try:
        return document_fromstring(data, parser=_PARSER)
    except (etree.ParserError, ValueError, UnicodeError) as exc:
        raise ExtractionRejected(f"cannot parse HTML: {exc}", "unparsable") from exc


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of a text (for callers without a page, e.g. seed files)."""
    return language.detect_language(text)[0]


def _run_trafilatura(
    tree: HtmlElement, url: str, meta: Document, *, precision: bool, fallback: bool = False
) -> _Body | None:
    # Trafilatura is a large heuristic codebase fed with hostile pages; any
    # internal error on one page means "nothing extracted", never a crashed worker.
    try:
        doc = trafilatura.bare_extraction(
            tree,
            url=url or None,
            with_metadata=False,  # read once per page by _page_metadata
            favor_precision=precision,
            favor_recall=not precision,
            include_comments=False,
            include_tables=True,
            fast=not fallback,
        )
    except Exception as exc:
        LOGGER.warning("trafilatura failed on %s: %s: %s", url, type(exc).__name__, exc)
        return None
    if not isinstance(doc, Document) or is_template_junk(doc.text or ""):
        return None
    return _Body(
        text=doc.text or "",
        method=METHOD_PRECISION if precision else METHOD_RECALL,
        title=meta.title or "",
        author=meta.author or "",
        date=meta.date or "",
        site=meta.sitename or "",
        description=meta.description or "",
    )


def _page_metadata(tree: HtmlElement, url: str) -> Document:
    """trafilatura's metadata for a page, read once, without categories, tags and licence.

    This is ``trafilatura.metadata.extract_metadata`` (2.0) step for step, minus
    the three fields newsmon never stores: their XPath scans cost 2-3 ms a page,
    about 8 % of an extraction. ``bare_extraction(with_metadata=True)`` would also
    read the metadata again on every extra pass over the same page. The functions
    read the tree and never change it (the author and date searches prune copies).
    """
    meta = Document()
    try:
        meta = examine_meta(tree)
        if meta.author and " " not in meta.author:
            meta.author = None
        try:
            meta = extract_meta_json(tree, meta)
        except Exception as exc:  # trafilatura guards this step the same way
            LOGGER.debug("JSON-LD metadata unreadable on %s: %s", url, exc)
        meta.title = meta.title or extract_title(tree)
        if not meta.author and may_name_an_author(tree):
            meta.author = extract_author(tree)
        meta.url = meta.url or extract_url(tree, url or None)
        if meta.url:
            meta.hostname = extract_domain(meta.url, fast=True)
        date_config = _date_params()
        date_config["url"] = meta.url
        meta.date = find_date(tree, **date_config)
        meta.sitename = meta.sitename or extract_sitename(tree)
        if meta.sitename:
            meta.sitename = meta.sitename.lstrip("@")
            if "." not in meta.sitename and not meta.sitename[0].isupper():
                meta.sitename = meta.sitename.title()
        elif meta.url and (match := META_URL.match(meta.url)):
            meta.sitename = match[1]
        meta.filedate = date_config.get("max_date")
        meta.clean_and_trim()
    except Exception as exc:  # hostile markup: no metadata, the body may still come
        LOGGER.warning("metadata failed on %s: %s: %s", url, type(exc).__name__, exc)
    return meta


def _date_params() -> dict[str, Any]:
    """htmldate settings: trafilatura's defaults, but a date in the URL only as a last resort.

    URLs carry the first-publication *folder* date, which is often days off the
    article's own date (measured: +2 pages of 152 on trafilatura-eval).
    """
    params = set_date_params(extensive=True)
    params["deferred_url_extractor"] = True
    return params


def _best_body(
    tree: HtmlElement, url: str, settings: ExtractionSettings, titles: tuple[str, ...]
) -> _Body | None:
    """The precise pass; harder passes only when it comes back too short.

    The first pass skips trafilatura's fallback extractors (readability, jusText)
    unless ``settings.fallback``: they cost about a third more CPU on every page
    and change little where the main pass succeeds (measured: 375 of 383 corpus
    pages). Where it fails they matter, so a short result is retried with them,
    and only then in recall mode. A short *recall* result is dropped: on a page
    whose article is a video or a one-liner, recall mode returns the footer and
    menus (measured on the unit snippets), while a short *precise* result is at
    least the article's own line.
    """
    min_chars = settings.min_text_chars
    meta = _page_metadata(tree, url)
    precise = _clean_body(
        _run_trafilatura(tree, url, meta, precision=True, fallback=settings.fallback), titles
    )
    if precise is not None and len(precise.text) >= min_chars:
        return precise
    if not settings.fallback:
        thorough = _clean_body(
            _run_trafilatura(tree, url, meta, precision=True, fallback=True), titles
        )
        if thorough is not None and len(thorough.text) >= min_chars:
            return thorough
        precise = thorough or precise
    recall = _clean_body(_run_trafilatura(tree, url, meta, precision=False, fallback=True), titles)
    if recall is not None and len(recall.text) >= min_chars:
        return recall
    return precise


def _clean_body(body: _Body | None, titles: tuple[str, ...]) -> _Body | None:
    if body is None:
        return None
    text = drop_noise_lines(body.text, body.title, *titles)
    return replace(body, text=text) if text else None


def _entry_text(entry: FeedEntry | None) -> str:
    """Feed title + summary as plain text (summaries are often HTML fragments)."""
    if entry is None:
        return ""
    summary = html.unescape(_TAGS.sub(" ", entry.summary or ""))
    lines = (_SPACES.sub(" ", line).strip() for line in summary.splitlines())
    parts = [" ".join(html.unescape(entry.title).split()), *lines]
    return "\n".join(p for p in parts if p)


def _site(extracted: str, meta: PageMeta, url: str) -> str:
    site = " ".join((extracted or meta.site_name).split())
    if site:
        return site
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


def _page_tree(page: Page) -> tuple[HtmlElement, str]:
    if not page.body or not page.body.strip():
        raise ExtractionRejected("empty body", "empty_body")
    content_type = (page.content_type or "").split(";")[0].strip().lower()
    if content_type not in _HTML_TYPES and content_type not in _SNIFF_TYPES:
        raise ExtractionRejected(f"not HTML: {content_type}", "not_html")
    text, encoding = decode_html(page.body, page.encoding)
    if text[:4096].count("\x00") > 4 or not _MARKUP.search(text[:65_536]):
        raise ExtractionRejected("no HTML markup in body", "not_html")
    return parse_html(text), encoding


def extract_article(
    page: Page, entry: FeedEntry | None = None, settings: ExtractionSettings | None = None
) -> Extraction:
    """Article text and metadata from a fetched page, or from the feed entry as a fallback.

    Raises :class:`ExtractionRejected` (a ``BadInputError``) when neither the page
    nor the entry yields any text; never anything else.
    """
    settings = settings or ExtractionSettings()
    if not xpathc.installed():  # trafilatura's expressions, compiled: see monitor.xpathc
        xpathc.install()
    url = page.final_url or page.url
    try:
        tree, encoding = _page_tree(page)
    except ExtractionRejected as exc:
        if not _entry_text(entry):
            raise
        LOGGER.info("page unusable (%s), using the feed summary: %s", exc.reason, url)
        return Extraction(article=_entry_article(page, entry))
    meta = read_page_meta(tree, url)
    body = _best_body(tree, url, settings, (meta.title, meta.h1))
    fallback = _entry_text(entry)
    if fallback and (body is None or len(body.text) < settings.min_text_chars):
        body = replace(body or _Body("", METHOD_FEED), text=fallback, method=METHOD_FEED)
    if body is None or not body.text:
        reason = "client_rendered" if _is_client_rendered(tree) else "no_text"
        raise ExtractionRejected(f"no article text extracted from {url}", reason)
    site = _site(body.site, meta, url)
    host = urlsplit(url).hostname or ""
    title = choose_title(body.title, meta, entry.title if entry else "")
    published_at, published_day = choose_published(body.date, meta)
    if entry is not None and entry.published is not None and _year_only(published_day):
        published_at, published_day = entry.published, entry.published.date()
    article = Article(
        url=page.url,
        canonical_url=url,
        title=strip_site_name(title, site, host),
        text=body.text,
        author=choose_author(body.author, meta, site, host) or (entry.author if entry else ""),
        published_at=published_at,
        site=site,
        language=choose_language(meta.language or (entry.language if entry else None), body.text),
        description=" ".join((body.description or meta.description).split()),
        extraction_method=body.method,
        fetched_at=page.fetched_at,
    )
    return Extraction(article, meta.canonical, encoding, published_day)


def _year_only(day: date | None) -> bool:
    """No page date, or htmldate's year-level guess (a copyright line gives "YYYY-01-01")."""
    return day is None or (day.month, day.day) == (1, 1)


def _entry_article(page: Page, entry: FeedEntry | None) -> Article:
    assert entry is not None  # only called when the entry produced text
    url = page.final_url or page.url
    text = _entry_text(entry)
    return Article(
        url=page.url,
        canonical_url=url,
        title=" ".join(html.unescape(entry.title).split()),
        text=text,
        author=entry.author,
        published_at=entry.published,
        site=_site("", PageMeta(), url),
        language=choose_language(entry.language, text),
        extraction_method=METHOD_FEED,
        fetched_at=page.fetched_at,
    )


def _is_client_rendered(tree: HtmlElement) -> bool:
    """An AngularJS/Vue shell: the article arrives by JavaScript, never in these bytes."""
    text = tree.text_content()
    return text.count("{{") >= 3 or bool(tree.xpath("//*[@ng-app or @ng-controller or @v-app]"))

"""The author search is skipped only on pages where trafilatura's could find nothing.

``monitor.extract.may_name_an_author`` is a necessary condition derived from the
patterns of ``trafilatura.xpaths.AUTHOR_XPATHS``: every clause of those patterns
must pass it, and wherever it fails trafilatura's own search must come back empty.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest
from trafilatura.metadata import extract_author
from trafilatura.xpaths import AUTHOR_XPATHS

from monitor.extract import extract_article, may_name_an_author, parse_html
from monitor.records import Page

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BYLINE = "Anna Petrova"
#: sha256 of trafilatura 2.0's AUTHOR_XPATHS, whitespace folded (first 16 hex digits).
EXPECTED_PATTERNS = "52b3a4d1177c18bb"

# One element per clause of trafilatura 2.0's three author patterns.
CLAUSES = [
    '<a rel="author" href="/p">{}</a>',
    '<div id="author">{}</div>',
    '<span class="author">{}</span>',
    '<span itemprop="author name">{}</span>',
    "<p><rel>me</rel>{}</p>",
    '<div data-testid="AuthorCard">{}</div>',
    '<a data-testid="AuthorURL" href="/p">{}</a>',
    '<span class="article-author-name">{}</span>',
    '<span class="authorname">{}</span>',
    '<span class="postAuthorName">{}</span>',
    '<span class="authorName">{}</span>',
    "<author>{}</author>",
    '<div class="byline">{}</div>',
    '<span class="username">{}</span>',
    '<span class="byl">{}</span>',
    '<span class="BBL">{}</span>',
    '<h4 itemprop="creator author">{}</h4>',
    '<p id="post-author-box">{}</p>',
    '<span id="zuozhe">{}</span>',
    '<span id="bianji">{}</span>',
    '<span id="xiaobian">{}</span>',
    '<div class="channel-name">{}</div>',
    '<div class="submitted-by">{}</div>',
    '<div class="posted-by">{}</div>',
    '<div class="journalist-name">{}</div>',
    '<section data-component="ArticleByline">{}</section>',
    '<section itemprop="author">{}</section>',
    '<section id="AuthorBox">{}</section>',
    '<section class="PostAuthor">{}</section>',
    '<section class="screenname">{}</section>',
    '<section class="writer-box">{}</section>',
    '<section class="ArticleByline">{}</section>',
    '<section class="top-byline">{}</section>',
]


def _page(inner: str) -> str:
    return (
        "<html><head><title>Visite à Pyongyang</title></head><body><article>"
        f"<h1>Visite à Pyongyang</h1>{inner}<p>Le président russe est arrivé à Pyongyang."
        "</p></article></body></html>"
    )


@pytest.mark.parametrize("clause", CLAUSES)
def test_every_clause_of_trafilaturas_patterns_passes_the_check(clause: str) -> None:
    tree = parse_html(_page(clause.format(BYLINE)))
    assert extract_author(parse_html(_page(clause.format(BYLINE)))) is not None
    assert may_name_an_author(tree)


def test_a_page_without_any_author_markup_is_not_searched() -> None:
    tree = parse_html(_page('<div class="meta"><span class="date">19 juin 2024</span></div>'))
    assert not may_name_an_author(tree)
    assert extract_author(tree) is None


def test_a_hint_in_an_attribute_trafilatura_does_not_read_is_no_hint() -> None:
    tree = parse_html(_page(f'<img src="/author.png" alt="author"><p title="byline">{BYLINE}</p>'))
    assert not may_name_an_author(tree)
    assert extract_author(tree) is None


def _fixture_pages() -> list[Path]:
    pages = sorted((FIXTURES / "pages_extract").rglob("*.html*"))
    return pages + sorted((FIXTURES / "pages").glob("*.html*"))


def test_on_real_pages_a_failed_check_always_means_no_author() -> None:
    skipped = 0
    for path in _fixture_pages():
        data = path.read_bytes()
        body = gzip.decompress(data) if path.suffix == ".gz" else data
        tree = parse_html(body.decode("utf-8", "replace"))
        if not may_name_an_author(tree):
            skipped += 1
            assert extract_author(tree) is None, path.name
    assert skipped >= 1  # the fixtures include pages the check spares


@pytest.mark.parametrize(
    "inner", [f'<div class="byline">{BYLINE}</div>', '<span class="date">19 juin 2024</span>']
)
def test_extraction_is_the_same_with_and_without_the_check(
    inner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.extract

    page = Page(
        url="https://news.test/a",
        final_url="https://news.test/a",
        status_code=200,
        body=_page(inner + "<p>Les deux dirigeants ont signé un traité.</p>" * 20).encode(),
    )
    checked = extract_article(page).article
    monkeypatch.setattr(monitor.extract, "may_name_an_author", lambda tree: True)
    assert extract_article(page).article == checked
    assert checked.author == (BYLINE if "byline" in inner else "")


def test_trafilaturas_author_patterns_are_the_ones_the_check_was_derived_from() -> None:
    """An upgrade that changes them must revisit the check's words (monitor/extract.py)."""
    paths = "\n".join(" ".join(x.path.split()) for x in AUTHOR_XPATHS)
    assert hashlib.sha256(paths.encode()).hexdigest()[:16] == EXPECTED_PATTERNS

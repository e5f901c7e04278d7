"""Canonical URLs, same-site rule, declared canonical in a page head."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import lxml.html
import pytest

from monitor.errors import BadInputError
from monitor.urls import canonicalize, choose_canonical, declared_canonical, same_site

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # scheme and host lowercased, path case kept
        ("HTTPS://WWW.Example.COM/Path/Page.HTML", "https://www.example.com/Path/Page.HTML"),
        # default ports dropped, others kept
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        # empty path becomes /
        ("https://example.com", "https://example.com/"),
        ("https://example.com?b=1", "https://example.com/?b=1"),
        # fragments go
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a?x=1#frag?y=2", "https://example.com/a?x=1"),
        # tracking parameters go, the others stay in their order
        (
            "https://e.com/a?utm_source=rss&id=7&utm_medium=feed&page=2&fbclid=AbC",
            "https://e.com/a?id=7&page=2",
        ),
        ("https://e.com/a?z=1&a=2&m=3", "https://e.com/a?z=1&a=2&m=3"),
        ("https://e.com/a?gclid=1&mc_cid=2&mc_eid=3&yclid=4", "https://e.com/a"),
        ("https://e.com/a?_ga=1&igshid=2&ref_src=twsrc%5Etfw&q=x", "https://e.com/a?q=x"),
        ("https://e.com/a?UTM_Campaign=x&Id=1", "https://e.com/a?Id=1"),
        (
            "https://www.lemonde.fr/international/x.html?xtor=RSS-3208",
            "https://www.lemonde.fr/international/x.html",
        ),
        ("https://e.com/a?at_medium=rss&at_campaign=x", "https://e.com/a"),
        ("https://e.com/a?pk_campaign=x&mtm_source=y&n=1", "https://e.com/a?n=1"),
        # parameters that look alike but are not tracking stay
        ("https://e.com/a?utm=1&source=rss&ref=home", "https://e.com/a?utm=1&source=rss&ref=home"),
        # empty query pieces and a query emptied by the cleanup vanish
        ("https://e.com/a?&&id=1&", "https://e.com/a?id=1"),
        ("https://e.com/a?utm_source=x", "https://e.com/a"),
        ("https://e.com/a?", "https://e.com/a"),
        # repeated and valueless parameters are kept as written
        ("https://e.com/a?tag=x&tag=y&flag", "https://e.com/a?tag=x&tag=y&flag"),
        # IDN hosts become punycode; a punycode host is left alone
        ("https://bücher.de/straße", "https://xn--bcher-kva.de/stra%C3%9Fe"),
        ("https://XN--BCHER-KVA.de/", "https://xn--bcher-kva.de/"),
        (
            "http://пример.рф/статья",
            "http://xn--e1afmkfd.xn--p1ai/%D1%81%D1%82%D0%B0%D1%82%D1%8C%D1%8F",
        ),
        # percent-escapes: case normalized, unreserved characters decoded, reserved kept
        ("https://e.com/%7euser/a%2fb", "https://e.com/~user/a%2Fb"),
        ("https://e.com/caf%c3%a9", "https://e.com/caf%C3%A9"),
        ("https://e.com/a b", "https://e.com/a%20b"),
        ("https://e.com/100%", "https://e.com/100%25"),
        # dot segments resolved
        ("https://e.com/a/./b/../c", "https://e.com/a/c"),
        ("https://e.com/../a", "https://e.com/a"),
        ("https://e.com/a/b/..", "https://e.com/a/"),
        # trailing slash is significant and kept
        ("https://e.com/a/", "https://e.com/a/"),
        # trailing dot of a fully qualified host dropped, surrounding spaces stripped
        ("  https://example.com./a  ", "https://example.com/a"),
        # IPv6 and IPv4 hosts
        ("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("http://127.0.0.1:80/x", "http://127.0.0.1/x"),
    ],
)
def test_canonicalize(raw: str, expected: str) -> None:
    assert canonicalize(raw) == expected


def test_canonicalize_is_idempotent() -> None:
    samples = [
        "HTTPS://Www.Site.fr:443/a/./b/../c?utm_source=rss&b=2#top",
        "https://bücher.de/straße?q=é",
        "https://e.com/%7e/a b?x=1&&y",
    ]
    for url in samples:
        once = canonicalize(url)
        assert canonicalize(once) == once


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "not a url",
        "/relative/path",
        "//example.com/no-scheme",
        "ftp://example.com/file",
        "javascript:alert(1)",
        "mailto:someone@example.com",
        "http://",
        "https:///path-only",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "http://example.com:port/",
        "http://example..com/",
        "http://e.com/a\nb",
    ],
)
def test_canonicalize_rejects_unusable_urls(bad: str) -> None:
    with pytest.raises(BadInputError):
        canonicalize(bad)


def test_canonicalize_rejects_non_strings() -> None:
    with pytest.raises(BadInputError):
        canonicalize(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("https://www.lemonde.fr/a", "https://lemonde.fr/b", True),
        ("https://edition.cnn.com/a", "https://cnn.com/b", True),
        ("https://edition.cnn.com/a", "https://www.cnn.com/b", True),
        ("http://example.com/a", "https://EXAMPLE.com:8443/b", True),
        ("https://cnn.com.evil.org/a", "https://cnn.com/a", False),
        ("https://notcnn.com/a", "https://cnn.com/a", False),
        ("https://a.example.com/", "https://b.example.com/", False),
        ("https://lemonde.fr/", "https://lefigaro.fr/", False),
        ("not a url", "https://cnn.com/", False),
    ],
)
def test_same_site(a: str, b: str, expected: bool) -> None:
    assert same_site(a, b) is expected
    assert same_site(b, a) is expected


@pytest.mark.parametrize(
    ("final", "declared", "expected"),
    [
        # no declaration: the final URL, canonicalized
        ("https://e.com/a?utm_source=x", None, "https://e.com/a"),
        ("https://e.com/a", "", "https://e.com/a"),
        # a declaration on the same site wins
        ("https://e.com/a?page=1&s=2", "https://www.e.com/story-1", "https://www.e.com/story-1"),
        ("https://m.e.com/a", "https://e.com/a#x", "https://e.com/a"),
        # relative declarations resolve against the final URL
        ("https://e.com/news/a?amp=1", "/news/a", "https://e.com/news/a"),
        # another site: ignored (syndication, scrapers)
        ("https://e.com/a", "https://aggregator.net/copy", "https://e.com/a"),
        # garbage: ignored
        ("https://e.com/a", "javascript:void(0)", "https://e.com/a"),
        ("https://e.com/a", "http://", "https://e.com/a"),
        # a home page stamped on an article: ignored; on the home page itself: fine
        ("https://e.com/2024/06/story", "https://e.com/", "https://e.com/2024/06/story"),
        ("https://e.com/?lang=fr", "https://www.e.com/", "https://www.e.com/"),
    ],
)
def test_choose_canonical(final: str, declared: str | None, expected: str) -> None:
    assert choose_canonical(final, declared) == expected


def test_choose_canonical_rejects_unusable_final_url() -> None:
    with pytest.raises(BadInputError):
        choose_canonical("ftp://e.com/a", "https://e.com/a")


BASE = "https://www.example.fr/monde/article-42.html"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (
            '<link rel="canonical" href="https://www.example.fr/monde/a">',
            "https://www.example.fr/monde/a",
        ),
        ("<LINK REL='Canonical' HREF='/monde/b'>", "https://www.example.fr/monde/b"),
        ('<link href="/c" rel="alternate canonical"/>', "https://www.example.fr/c"),
        ("<link rel=canonical href=https://www.example.fr/d>", "https://www.example.fr/d"),
        ('<link rel="canonical" href="/e?a=1&amp;b=2">', "https://www.example.fr/e?a=1&b=2"),
        ('<meta property="og:url" content="https://www.example.fr/f">', "https://www.example.fr/f"),
        ('<meta content="https://www.example.fr/g" name="og:url" />', "https://www.example.fr/g"),
        # rel=canonical preferred over og:url whatever the order
        (
            '<meta property="og:url" content="/og"><link rel="canonical" href="/canon">',
            "https://www.example.fr/canon",
        ),
        # <base href> changes how relative declarations resolve
        (
            '<base href="https://cdn.example.fr/x/"><link rel="canonical" href="y">',
            "https://cdn.example.fr/x/y",
        ),
        # commented out, unusable or absent: nothing
        ('<!-- <link rel="canonical" href="/old"> -->', None),
        ('<link rel="canonical" href="">', None),
        ('<link rel="canonical" href="javascript:void(0)">', None),
        ('<link rel="alternate" href="/feed.xml" type="application/rss+xml">', None),
        ('<link rel="stylesheet" href="/canonical.css">', None),
        ("", None),
        # a bad canonical falls back to og:url
        (
            '<link rel="canonical" href="mailto:x@y.z"><meta property="og:url" content="/ok">',
            "https://www.example.fr/ok",
        ),
    ],
)
def test_declared_canonical_in_head(head: str, expected: str | None) -> None:
    doc = f"<!doctype html><html><head><title>t</title>{head}</head><body><p>x</p></body></html>"
    assert declared_canonical(doc, BASE) == expected
    assert declared_canonical(doc.encode("utf-8"), BASE) == expected


def test_declared_canonical_ignores_the_body() -> None:
    doc = b'<html><head><title>t</title></head><body><link rel="canonical" href="/body"></body>'
    assert declared_canonical(doc, BASE) is None


def test_declared_canonical_without_head_end_stops_at_body() -> None:
    doc = b'<html><link rel="canonical" href="/early"><body><link rel="canonical" href="/late">'
    assert declared_canonical(doc, BASE) == "https://www.example.fr/early"


def test_declared_canonical_non_ascii_href() -> None:
    doc = '<head><link rel="canonical" href="/société/été"></head>'.encode()
    assert declared_canonical(doc, BASE) == "https://www.example.fr/société/été"
    assert canonicalize(declared_canonical(doc, BASE) or "") == (
        "https://www.example.fr/soci%C3%A9t%C3%A9/%C3%A9t%C3%A9"
    )


def _lxml_reference(data: bytes) -> str | None:
    """Independent reading of the same pages with a full parser."""
    doc = lxml.html.fromstring(data)
    hrefs = doc.xpath("//head/link[contains(concat(' ', @rel, ' '), ' canonical ')]/@href")
    hrefs += doc.xpath("//head/meta[@property='og:url']/@content")
    return str(hrefs[0]).strip() if hrefs else None


@pytest.mark.parametrize("page_id", sorted(json.loads((PAGES / "urls.json").read_text())))
def test_declared_canonical_on_real_pages(page_id: str) -> None:
    original = json.loads((PAGES / "urls.json").read_text())[page_id]
    data = gzip.decompress((PAGES / f"{page_id}.html.gz").read_bytes())
    found = declared_canonical(data, original)
    assert found == _lxml_reference(data)
    if found is not None:  # publishers declare the URL the benchmark recorded
        assert canonicalize(found) == canonicalize(original)
        assert choose_canonical(original + "?utm_source=feed", found) == canonicalize(original)


def test_real_pages_cover_both_cases() -> None:
    ids = json.loads((PAGES / "urls.json").read_text())
    found = [
        declared_canonical(gzip.decompress((PAGES / f"{i}.html.gz").read_bytes()), u)
        for i, u in ids.items()
    ]
    assert any(f is None for f in found) and sum(f is not None for f in found) >= 3

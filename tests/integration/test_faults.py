"""The fault matrix against the fetcher and the feed poller directly (no database).

Every fault of issue 9 is served by a real local server (``tests.faultserver``)
and must come back as the right error class with its stable reason tag, fast:
timeouts are set around one second and every case must end well within it plus
a margin. The same matrix goes through the whole pipeline, on both databases,
in ``test_fault_pipeline``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from monitor import feeds
from monitor.config import FetchSettings
from monitor.errors import FetchError, PermanentFetchError, TransientFetchError
from monitor.extract import extract_article
from monitor.feeds import FeedRejected, parse_feed
from monitor.fetch import Fetcher
from monitor.httpbody import Inflater, read_prolog, sniff_binary
from tests.faultcases import (
    BILLION_LAUGHS,
    CONNECT_TIMEOUT_S,
    FEED_CASES,
    MAX_BYTES,
    PAGE_CASES,
    PDF,
    PNG,
    READ_TIMEOUT_S,
    RSS,
    TOTAL_TIMEOUT_S,
    XXE,
    Case,
    FaultFarm,
)
from tests.faultserver import respond, sequence

MARGIN_S = 1.0  # scheduling slack on a loaded two-core machine


def fetch_settings(**overrides: Any) -> FetchSettings:
    base: dict[str, Any] = {
        "connect_timeout_s": CONNECT_TIMEOUT_S,
        "read_timeout_s": READ_TIMEOUT_S,
        "total_timeout_s": TOTAL_TIMEOUT_S,
        "max_bytes": MAX_BYTES,
        "host_interval_s": 0.0,
        "host_concurrency": 8,
        "respect_robots": False,
        "allow_private_networks": True,  # the fault servers live on 127.0.0.1
    }
    base.update(overrides)
    return FetchSettings(**base)


@pytest.fixture(scope="module")
def farm() -> Iterator[FaultFarm]:
    with FaultFarm() as f:
        yield f


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(fetch_settings()) as f:  # fresh per test: a 429 pause must not leak
        yield f


# --- pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", PAGE_CASES, ids=str)
def test_page_fault(farm: FaultFarm, fetcher: Fetcher, case: Case) -> None:
    url = farm.serve(case, "/page")
    start = time.monotonic()
    with pytest.raises(FetchError) as info:
        fetcher.fetch_page(url)
    elapsed = time.monotonic() - start
    error = info.value
    expected = TransientFetchError if case.transient else PermanentFetchError
    assert isinstance(error, expected), error.describe()
    assert error.reason == case.reason, error.describe()
    assert error.describe().startswith(case.reason)
    assert elapsed < TOTAL_TIMEOUT_S + MARGIN_S, f"{case} took {elapsed:.2f} s"
    if case.name == "drip":  # every read succeeded: only the total deadline stopped it
        assert elapsed >= TOTAL_TIMEOUT_S
    if case.name == "connect-timeout":
        assert elapsed < READ_TIMEOUT_S + MARGIN_S / 2
    if case.name == "http-503-retry-after":
        assert error.retry_after == 7200
    if case.name == "redirect-loop":
        assert farm.hits(case, "/page") == fetcher.settings.max_redirects + 1
    elif case.host != "blackhole":
        assert farm.hits(case, "/page") == 1  # no retry inside one fetch


def test_throttled_host_is_not_asked_again_during_its_pause(farm: FaultFarm) -> None:
    case = next(c for c in PAGE_CASES if c.name == "http-429")
    url = farm.serve(case, "/throttled")
    with Fetcher(fetch_settings()) as fetcher:
        with pytest.raises(TransientFetchError):
            fetcher.fetch_page(url)
        with pytest.raises(TransientFetchError) as again:
            fetcher.fetch_page(url)
    assert again.value.reason == "host_throttled"
    assert farm.hits(case, "/throttled") == 1


def test_server_that_recovers_serves_the_page(farm: FaultFarm, fetcher: Fetcher) -> None:
    page = b"<!doctype html><html><body><p>back</p></body></html>"
    url = farm.main.add("/page/flaky", sequence(respond(503, b"busy"), respond(200, page)))
    with pytest.raises(TransientFetchError):
        fetcher.fetch_page(url)
    assert fetcher.fetch_page(url).body == page


# Charsets: the extracted text must read right whatever the page claims.
RU_TEXT = (
    "Президент России Владимир Путин прибыл в Пхеньян, где провёл переговоры с Ким Чен Ыном. "
    "Стороны подписали договор о всеобъемлющем стратегическом партнёрстве. "
) * 4
FR_TEXT = (
    "Le président russe a été reçu à Pyongyang, où les délégations ont évoqué la coopération "
    "économique et militaire. Les échanges se sont déroulés à huis clos, selon l'agence. "
) * 4


def article(text: str, meta: str = "") -> str:
    return (
        f"<!doctype html><html><head>{meta}<title>Titre</title></head><body><article>"
        f"<h1>Titre</h1><p>{text}</p><p>{text}</p></article></body></html>"
    )


PAGE_CHARSETS = {  # name: (body, Content-Type, words that must come out right)
    "cp1251-undeclared": (article(RU_TEXT).encode("cp1251"), "text/html", "Пхеньян"),
    "latin1-declared-utf8": (
        article(FR_TEXT, '<meta charset="utf-8">').encode("latin-1"),
        "text/html; charset=utf-8",
        "président russe a été reçu",
    ),
    "utf8-declared-latin1": (
        article(FR_TEXT, '<meta charset="iso-8859-1">').encode("utf-8"),
        "text/html; charset=iso-8859-1",
        "délégations ont évoqué",
    ),
    "cp1251-declared-latin1": (
        article(RU_TEXT).encode("cp1251"),
        "text/html; charset=iso-8859-1",
        "стратегическом партнёрстве",
    ),
}


@pytest.mark.parametrize("name", PAGE_CHARSETS)
def test_page_charsets_undeclared_or_wrong(farm: FaultFarm, fetcher: Fetcher, name: str) -> None:
    body, content_type, words = PAGE_CHARSETS[name]
    url = farm.main.add(f"/charset/{name}", respond(200, body, content_type))
    extraction = extract_article(fetcher.fetch_page(url))
    assert words in extraction.article.text
    assert "Ã" not in extraction.article.text and "\ufffd" not in extraction.article.text


# --- feeds ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", FEED_CASES, ids=str)
def test_feed_fault(farm: FaultFarm, fetcher: Fetcher, case: Case) -> None:
    url = farm.serve(case, "/feed")
    start = time.monotonic()
    poll = feeds.poll_feed(fetcher, url, etag=None, last_modified=None, body_hash=None)
    elapsed = time.monotonic() - start
    assert poll.outcome == "error" and poll.entries == ()
    assert poll.reason.startswith(f"{case.reason}:"), poll.reason
    assert poll.transient is case.transient, poll.reason
    assert elapsed < TOTAL_TIMEOUT_S + MARGIN_S, f"{case} took {elapsed:.2f} s"
    assert "root:" not in poll.reason  # nothing of /etc/passwd, ever
    if case.name == "http-503-retry-after":
        assert poll.retry_after_s == 7200


def test_html_at_a_feed_url_names_the_feed_it_advertises(farm: FaultFarm, fetcher: Fetcher) -> None:
    case = next(c for c in FEED_CASES if c.name == "html-page")
    url = farm.serve(case, "/advertised")
    poll = feeds.poll_feed(fetcher, url, etag=None, last_modified=None, body_hash=None)
    assert poll.reason.startswith("not_a_feed: an HTML page")
    assert farm.main.url("/rss/all.xml") in poll.reason


def test_malformed_feed_keeps_the_entries_it_can(farm: FaultFarm, fetcher: Fetcher) -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
        b"<item><title>Caf&eacute; &amp; th&nbsp;</title><link>https://e.example/1</link>"
        b"<description>un <b>gras non ferm&eacute;</description></item>"
        b"<item><title>Deux</title><link>https://e.example/2</link></item>"
        b"</channel></rss>"
    )
    url = farm.main.add("/feed/malformed", respond(200, body, "application/rss+xml"))
    poll = feeds.poll_feed(fetcher, url, etag=None, last_modified=None, body_hash=None)
    assert poll.outcome == "ok"
    assert [e.link for e in poll.entries] == ["https://e.example/1", "https://e.example/2"]
    assert poll.reason.startswith("malformed feed, entries recovered")


def rss_with(title: str, declaration: str) -> str:
    """A feed whose one title is checked, among a few items of ordinary news text."""
    others = (
        "Ким Чен Ын встретил делегацию в аэропорту столицы",
        "Москва и Пхеньян обсудили торговлю и поставки продовольствия",
        "Сеул выразил обеспокоенность новым соглашением двух стран",
    )
    if "Пхеньян" not in title:
        others = ("Séoul réagit à l'accord", "Les échanges économiques en hausse")
    items = "".join(
        f"<item><title>{t}</title><link>https://e.example/{i}</link></item>"
        for i, t in enumerate((title, *others), start=1)
    )
    return (
        f'<?xml version="1.0"{declaration}?><rss version="2.0"><channel><title>x</title>'
        f"{items}</channel></rss>"
    )


RU_TITLE = "Путин прибыл в Пхеньян"
FR_TITLE = "Le président a été reçu"
FEED_CHARSETS = {  # name: (body, Content-Type); the first title must come out right
    "cp1251-undeclared": (rss_with(RU_TITLE, "").encode("cp1251"), "application/rss+xml"),
    "cp1251-declared-latin1": (
        rss_with(RU_TITLE, ' encoding="iso-8859-1"').encode("cp1251"),
        "text/xml",
    ),
    "latin1-declared-utf8": (
        rss_with(FR_TITLE, ' encoding="utf-8"').encode("latin-1"),
        "application/rss+xml; charset=utf-8",
    ),
    "utf8-declared-latin1": (
        rss_with(FR_TITLE, ' encoding="iso-8859-1"').encode("utf-8"),
        "application/rss+xml",
    ),
}


@pytest.mark.parametrize("name", FEED_CHARSETS)
def test_feed_charsets_undeclared_or_wrong(farm: FaultFarm, fetcher: Fetcher, name: str) -> None:
    body, content_type = FEED_CHARSETS[name]
    title = RU_TITLE if name.startswith("cp1251") else FR_TITLE
    url = farm.main.add(f"/feed/charset/{name}", respond(200, body, content_type))
    poll = feeds.poll_feed(fetcher, url, etag=None, last_modified=None, body_hash=None)
    assert poll.outcome == "ok", poll.reason
    assert poll.entries[0].title == title


# --- XML entity expansion ------------------------------------------------------------------

ONE_LINE_LAUGHS = BILLION_LAUGHS.replace(b"\n<!ENTITY", b"<!ENTITY")
COMMENT_FIRST_LAUGHS = BILLION_LAUGHS.replace(b"\n<!DOCTYPE", b"\n<!-- <x> -->\n<!DOCTYPE", 1)


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        ONE_LINE_LAUGHS,
        COMMENT_FIRST_LAUGHS,  # feedparser hands this DTD to expat: seconds of expansion
        b"\xff\xfe" + COMMENT_FIRST_LAUGHS.decode().encode("utf-16-le"),
        XXE,
        XXE.replace(b"<!ENTITY", b"<!entity"),
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd">'
        b"%p;]><rss/>",
    ],
    ids=["laughs", "one-line", "comment-first", "utf-16", "xxe", "lowercase", "parameter-entity"],
)
def test_entity_declarations_are_refused_fast(body: bytes) -> None:
    start = time.monotonic()
    with pytest.raises(FeedRejected) as info:
        parse_feed(body, "https://e.example/feed", "application/rss+xml")
    assert time.monotonic() - start < 0.1
    assert info.value.reason == "xml_entity_declarations"
    assert info.value.describe().startswith("xml_entity_declarations: ")


def test_entity_check_reads_only_the_prolog() -> None:
    """Escaped or quoted markup inside entries is not a declaration."""
    body = RSS.replace(
        b"<title>Une entree</title>",
        b"<title>Une entree</title><description><![CDATA[<!ENTITY x 'y'>]]></description>",
    )
    assert len(parse_feed(body, "https://e.example/feed").entries) == 1


# --- helpers -------------------------------------------------------------------------------


def test_prolog_and_magic_sniffing() -> None:
    assert read_prolog(RSS).root == "rss"
    assert read_prolog(b"\xef\xbb\xbf<?xml version='1.0'?><!-- c --><feed/>").root == "feed"
    assert read_prolog(b"<!DOCTYPE html>\n<html><head>").root == "html"
    assert read_prolog(b"plain text").root is None
    assert read_prolog(XXE).declares_entities and not read_prolog(RSS).declares_entities
    assert sniff_binary(PDF) == "application/pdf"
    assert sniff_binary(b"\n\n" + PDF) == "application/pdf"
    assert sniff_binary(PNG) == "image/png"
    assert sniff_binary(b"<html>\x00\x00\x00\x00\x00\x00") == "application/octet-stream"
    assert sniff_binary("<html>é</html>".encode("utf-16")) is None
    assert sniff_binary(RSS) is None


def test_inflater_notices_a_stream_cut_short() -> None:
    import gzip

    whole = gzip.compress(b"x" * 10_000)
    cut = Inflater("gzip")
    cut.feed(whole[: len(whole) // 2], 1_000_000)
    assert not cut.complete
    full = Inflater("gzip")
    assert full.feed(whole, 1_000_000) == b"x" * 10_000 and full.complete
    assert Inflater("gzip").complete  # nothing sent at all: an empty body, not a cut one

"""parse_feed on real fixtures (RSS 0.9x/1.0/2.0, Atom, JSON Feed) and on edge cases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import BadInputError
from monitor.feeds import ParsedFeed, parse_feed
from monitor.feedtext import clean_language, html_to_text, parse_localized_date

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
FEED_URL = "https://news.example.org/feeds/world.xml"


def parse_fixture(rel: str, url: str = FEED_URL, content_type: str | None = None) -> ParsedFeed:
    return parse_feed((FEEDS / rel).read_bytes(), url, content_type)


def rss(items: str, channel: str = "<title>T</title>") -> bytes:
    doc = f'<?xml version="1.0"?><rss version="2.0"><channel>{channel}{items}</channel></rss>'
    return doc.encode()


# --- formats -------------------------------------------------------------------------


def test_rss_090() -> None:
    body = (
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        b' xmlns="http://my.netscape.com/rdf/simple/0.9/">'
        b"<channel><title>Old</title><link>http://e.com/</link></channel>"
        b"<item><title>First</title><link>http://e.com/1</link></item>"
        b"<item><title>Second</title><link>/2</link></item></rdf:RDF>"
    )
    feed = parse_feed(body, "http://e.com/rss.rdf")
    assert feed.version == "rss090"
    assert [(e.title, e.link) for e in feed.entries] == [
        ("First", "http://e.com/1"),
        ("Second", "http://e.com/2"),
    ]


def test_rss_091_iso_8859_1() -> None:
    feed = parse_fixture("feed-rs/rss0/rss_0.91_encoding_1.xml")
    assert feed.version == "rss091u"
    [entry] = feed.entries
    assert entry.link == "http://www.Dicas-L.com.br/dicas-l/20200406.php"
    assert entry.published is None
    assert entry.language == "pt-br"
    assert "ção" in (entry.title + entry.summary) or "ã" in (entry.title + entry.summary)


def test_rss_091_spec() -> None:
    feed = parse_fixture("feed-rs/rss0/rss_0.91_spec_1.xml")
    assert feed.title == "WriteTheWeb"
    assert len(feed.entries) == 2
    assert all(e.link.startswith("http://writetheweb.com/") for e in feed.entries)
    assert all(e.guid == e.link for e in feed.entries)  # no guid: falls back to the link


def test_rss_092_without_item_links_is_rejected_with_reason() -> None:
    with pytest.raises(BadInputError, match="3 entries, none with a usable link"):
        parse_fixture("feed-rs/rss0/rss_0.92_spec_1.xml")


def test_rss_10_rdf_with_dc_date() -> None:
    feed = parse_fixture("feed-rs/rss1/rss_1.0_debian.xml")
    assert feed.version == "rss10"
    [entry] = feed.entries
    assert entry.link.startswith("https://www.debian.org/")
    assert entry.published is not None and entry.published.tzinfo is not None
    assert entry.published.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_rss_10_iso_8859_1_german() -> None:
    feed = parse_fixture("feed-rs/rss1/rss_1.0_iso8859.xml")
    [entry] = feed.entries
    assert "ü" in entry.title or "ö" in entry.title or "ä" in entry.title or "ß" in entry.title
    assert "\ufffd" not in entry.title + entry.summary


def test_rss_20_real_feed() -> None:
    feed = parse_fixture("feed-rs/rss2/rss_2.0_spiegel.xml")
    assert feed.version == "rss20"
    assert feed.language == "de"
    [entry] = feed.entries
    assert entry.link.startswith("https://omny.fm/shows/spiegel-update-die-nachrichten/")
    assert entry.published is not None and entry.published.tzinfo == UTC
    assert entry.title and "<" not in entry.summary
    assert entry.language == "de"


def test_rss_20_language_with_underscore() -> None:
    feed = parse_fixture("feed-rs/rss2/rss_2.0_nbcny.xml")
    assert feed.language == "en-us"


def test_atom_real_feed() -> None:
    feed = parse_fixture("feed-rs/atom/atom_example_2.xml")
    assert feed.version == "atom10"
    assert len(feed.entries) == 2
    for entry in feed.entries:
        assert entry.link.startswith("http://go.theregister.com/feed/www.theregister.co.uk/2019/")
        assert entry.guid and entry.published is not None
        assert entry.author


def test_atom_named_rss_is_sniffed() -> None:
    feed = parse_fixture("feed-rs/rss2/rss_2.0_reddit.xml")
    assert feed.version == "atom10"
    assert feed.entries and feed.entries[0].link.startswith("https://www.reddit.com/")


def test_json_feed() -> None:
    feed = parse_fixture("feed-rs/jsonfeed/jsonfeed_example_1.json")
    assert feed.version == "jsonfeed"
    assert feed.title == "Daring Fireball"
    first = feed.entries[0]
    assert first.title == "How Jeff Bezos’s iPhone X Was Hacked"
    assert first.published == datetime(2020, 1, 24, 23, 46, 57, tzinfo=UTC)
    assert first.author == "John Gruber"
    assert "<" not in first.summary


def test_json_that_is_not_a_feed() -> None:
    with pytest.raises(BadInputError, match="not a feed"):
        parse_feed(b'{"hello": "world"}', FEED_URL)
    with pytest.raises(BadInputError, match="not a feed: invalid JSON"):
        parse_feed(b"{not json", FEED_URL, "application/feed+json")


# --- relative links ------------------------------------------------------------------


def test_relative_atom_links_resolve_against_the_feed_url() -> None:
    feed = parse_fixture("feed-rs/atom/atom_relative.xml", url="https://blog.example.net/feed.atom")
    assert [e.link for e in feed.entries] == ["https://blog.example.net/blog/2003/12/13/atom03"]


def test_relative_link_against_document_uri() -> None:
    feed = parse_fixture(
        "feedparser/wellformed/base/http_entry_link_base_docuri.xml", url="http://127.0.0.1:8097/x"
    )
    assert [e.link for e in feed.entries] == ["http://127.0.0.1:8097/relative/link"]


def test_xml_base_per_item_wins() -> None:
    feed = parse_fixture("feed-rs/rss2/rss_2.0_relurl_1.xml", url="https://elsewhere.example/f")
    assert [e.link for e in feed.entries] == [
        "https://insanity.industries/post/pareto-optimal-compression/",
        "https://insanity.industries/post/pacman-tracking-leftover-packages/",
    ]


def test_relative_rss_item_link() -> None:
    body = rss("<item><title>a</title><link>../news/a.html?id=1</link></item>")
    feed = parse_feed(body, "https://site.fr/rss/feed.xml")
    assert feed.entries[0].link == "https://site.fr/news/a.html?id=1"


# --- malformed feeds -----------------------------------------------------------------


def test_bozo_but_usable_feed_keeps_entries_with_warning() -> None:
    feed = parse_fixture("feed-rs/rss2/rss_2.0_dbengines.xml")
    assert len(feed.entries) == 1
    assert feed.entries[0].link == "https://db-engines.com/en/blog_post/103"
    assert "malformed feed" in feed.warning and "undefined entity" in feed.warning


def test_blank_line_before_xml_declaration_is_recovered() -> None:
    feed = parse_fixture("feed-rs/atom/atom_example_4.xml")
    assert len(feed.entries) == 1
    assert feed.warning.startswith("malformed feed")


def test_truncated_feed_is_rejected_with_parser_reason() -> None:
    with pytest.raises(BadInputError, match=r"not a feed: .*no element found"):
        parse_fixture("feed-rs/rss2/rss_2.0_invalid_1.xml")


@pytest.mark.parametrize(
    "rel",
    [
        "feed-rs/xml/xml_sample_1.xml",
        "feed-rs/xml/xml_iso8859.xml",
        "feedparser/illformed/rss_empty_document.xml",
    ],
)
def test_documents_that_are_not_feeds(rel: str) -> None:
    with pytest.raises(BadInputError, match="not a feed"):
        parse_fixture(rel)


@pytest.mark.parametrize(
    "body", [b"", b"   \n", b"<html><body>Hello</body></html>", b"\x00\x01\x02"]
)
def test_garbage_is_rejected(body: bytes) -> None:
    with pytest.raises(BadInputError, match="not a feed"):
        parse_feed(body, FEED_URL)


def test_a_file_name_as_body_is_not_opened() -> None:
    # feedparser.parse(bytes) would open a local file of that name
    with pytest.raises(BadInputError, match="not a feed"):
        parse_feed(str(FEEDS / "feed-rs/rss2/rss_2.0_spiegel.xml").encode(), FEED_URL)


def test_valid_empty_feed_is_not_an_error() -> None:
    feed = parse_feed(rss(""), FEED_URL)
    assert feed.entries == () and feed.warning == "" and feed.title == "T"
    assert parse_fixture("feedparser/wellformed/rss/rss_version_missing.xml").entries == ()


def test_rss_090_fixture_without_links_is_rejected() -> None:
    with pytest.raises(BadInputError, match="none with a usable link"):
        parse_fixture("feedparser/wellformed/rdf/rss090_item_title.xml")


# --- entry fields --------------------------------------------------------------------


def test_entries_without_links_are_dropped_and_counted() -> None:
    body = rss(
        "<item><title>no link</title></item>"
        "<item><title>ok</title><link>https://e.com/ok</link></item>"
        "<item><title>bad scheme</title><link>ftp://e.com/file</link></item>"
    )
    feed = parse_feed(body, FEED_URL)
    assert [e.title for e in feed.entries] == ["ok"]
    assert feed.dropped == 2 and "2 entries without a usable link dropped" in feed.warning


def test_guid_permalink_is_used_as_link() -> None:
    body = rss('<item><title>g</title><guid isPermaLink="true">https://e.com/g</guid></item>')
    [entry] = parse_feed(body, FEED_URL).entries
    assert entry.link == "https://e.com/g" and entry.guid == "https://e.com/g"


def test_summary_html_is_stripped_and_dates_are_utc() -> None:
    body = rss(
        "<item><title>Kim &amp; Poutine</title><link>https://e.com/a</link>"
        "<description>&lt;p&gt;Premier &lt;b&gt;paragraphe&lt;/b&gt;.&lt;/p&gt;"
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;p&gt;Second&amp;nbsp;paragraphe&lt;/p&gt;"
        "</description><pubDate>Wed, 19 Jun 2024 14:30:00 +0300</pubDate>"
        "<author>redaction@e.com (La Rédaction)</author></item>",
        channel="<title>T</title><language>fr</language>",
    )
    [entry] = parse_feed(body, FEED_URL).entries
    assert entry.title == "Kim & Poutine"
    assert entry.summary == "Premier paragraphe. Second paragraphe"
    assert entry.published == datetime(2024, 6, 19, 11, 30, tzinfo=UTC)
    assert entry.author == "La Rédaction"
    assert entry.language == "fr"
    assert entry.feed_url == FEED_URL


def test_content_encoded_used_when_no_description() -> None:
    body = (
        b'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        b"<item><link>https://e.com/c</link><content:encoded><![CDATA[<p>Full <i>text</i></p>]]>"
        b"</content:encoded></item></channel></rss>"
    )
    [entry] = parse_feed(body, FEED_URL).entries
    assert entry.summary == "Full text"


def test_localized_dates_feedparser_cannot_read() -> None:
    [entry] = parse_fixture("feed-rs/rss2/rss_2.0_ilmessaggero.xml").entries
    assert entry.published == datetime(2022, 11, 15, 23, 38, 15, tzinfo=UTC)


def test_http_charset_overrides_declaration() -> None:
    feed = parse_fixture(
        "feedparser/encoding/http_text_xml_charset_2.xml",
        content_type="text/xml; charset=windows-1252",
    )
    assert feed.entries[0].summary == "This is a £“test.”"


def test_max_entries_and_duplicate_links() -> None:
    items = "".join(f"<item><link>https://e.com/{i % 8}</link></item>" for i in range(12))
    feed = parse_feed(rss(items), FEED_URL, max_entries=5)
    assert [e.link for e in feed.entries] == [f"https://e.com/{i}" for i in range(5)]
    assert "kept the first 5 entries, 3 more ignored" in feed.warning


# --- helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue, 10 Jun 2003 04:00:00 GMT", datetime(2003, 6, 10, 4, tzinfo=UTC)),
        ("2024-06-19T14:30:00+02:00", datetime(2024, 6, 19, 12, 30, tzinfo=UTC)),
        ("2020-01-24T23:46:57Z", datetime(2020, 1, 24, 23, 46, 57, tzinfo=UTC)),
        ("mer, 16 nov 2022 00:38:15 +0100", datetime(2022, 11, 15, 23, 38, 15, tzinfo=UTC)),
        ("mercredi 19 juin 2024 14:30 +0200", datetime(2024, 6, 19, 12, 30, tzinfo=UTC)),
        ("19 juin 2024 à 14h30", datetime(2024, 6, 19, 14, 30, tzinfo=UTC)),
        ("1 févr. 2024 08:00:00 GMT", datetime(2024, 2, 1, 8, tzinfo=UTC)),
        ("Mi, 3. Dez 2025 10:00:00 +0100", datetime(2025, 12, 3, 9, tzinfo=UTC)),
        ("5 марта 2024 12:00", datetime(2024, 3, 5, 12, tzinfo=UTC)),
        ("12 mai 2024", datetime(2024, 5, 12, tzinfo=UTC)),
        ("not a date", None),
        ("31 fooember 2024", None),
        ("31 feb 2024 10:00", None),
        ("", None),
    ],
)
def test_parse_localized_date(text: str, expected: datetime | None) -> None:
    assert parse_localized_date(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("en_US", "en-us"),
        (" FR ", "fr"),
        ("pt-BR", "pt-br"),
        ("", None),
        ("english!", None),
        (None, None),
    ],
)
def test_clean_language(value: object, expected: str | None) -> None:
    assert clean_language(value) == expected


def test_html_to_text() -> None:
    assert html_to_text("<p>a</p><p>b &amp; c</p><style>p{}</style>") == "a b & c"
    assert html_to_text("plain   text\n here") == "plain text here"
    assert html_to_text("") == ""

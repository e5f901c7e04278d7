"""Export writers on hand-built items: JSONL, CSV, Atom; and ``--since`` parsing."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import feedparser
import pytest

from monitor.errors import BadInputError
from monitor.export import (
    EXPORT_FIELDS,
    entry_id,
    write_atom,
    write_csv,
    write_items,
    write_jsonl,
)
from monitor.views import ItemView, parse_since, parse_statuses

ATOM = "{http://www.w3.org/2005/Atom}"
T0 = datetime(2024, 6, 18, 9, 30, tzinfo=UTC)


def make_item(n: int, **fields: object) -> ItemView:
    base = ItemView(
        id=n,
        url=f"https://site{n}.example/a/{n}?utm=rss",
        canonical_url=f"https://site{n}.example/a/{n}",
        title=f"Titre n°{n} : « Moscou & Pyongyang »",
        status="filed",
        duplicate_of=None,
        text="Premier paragraphe.\n\nDeuxième paragraphe, avec des accents : éà. " * 20,
        description="",
        relevance=0.8,
        evidence={"story": "russia-dprk", "matches": [{"term": "Pyongyang", "count": 2}]},
        verdict="on_story",
        language="fr",
        site=f"site{n}.example",
        author="",
        published_at=T0 - timedelta(days=n),
        fetched_at=T0,
        first_seen_at=T0,
        extraction_method="trafilatura",
        dup_method=None,
        dup_score=None,
        story="russia-dprk",
        fail_reason=None,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_jsonl_one_object_per_line_with_contract_fields() -> None:
    items = [make_item(1), make_item(2, status="duplicate", duplicate_of="https://x.example/o")]
    out = io.StringIO()
    assert write_jsonl(items, out) == 2
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    assert list(records[0]) == list(EXPORT_FIELDS)
    assert records[0]["title"] == "Titre n°1 : « Moscou & Pyongyang »"
    assert "«" in lines[0]  # UTF-8 kept readable
    assert records[0]["published_at"] == "2024-06-17T09:30:00Z"
    assert records[0]["evidence"]["matches"][0]["term"] == "Pyongyang"
    assert records[0]["duplicate_of"] is None
    assert records[1]["duplicate_of"] == "https://x.example/o"
    assert records[1]["status"] == "duplicate"


def test_csv_same_fields_evidence_as_json_and_multiline_text_roundtrips() -> None:
    items = [make_item(1), make_item(2, evidence=None, relevance=None)]
    out = io.StringIO()
    assert write_csv(items, out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == EXPORT_FIELDS
    assert json.loads(rows[0]["evidence"])["story"] == "russia-dprk"
    assert rows[0]["text"] == items[0].text  # newlines survive quoting
    assert rows[1]["evidence"] == "" and rows[1]["relevance"] == ""
    assert rows[1]["relevance"] == ""


def parse_atom(xml: str) -> ET.Element:
    return ET.fromstring(xml.encode("utf-8"))


def test_atom_is_valid_and_feedparser_reads_it_back() -> None:
    items = [
        make_item(1, author="Jeanne Dupont", description="Un résumé court."),
        make_item(2, title="Control \x0b char <b>&</b>", text="Texte\x0c bizarre " * 50),
        make_item(3, published_at=None, first_seen_at=T0 - timedelta(days=9)),
    ]
    out = io.StringIO()
    count = write_atom(items, out, self_url="http://127.0.0.1:8765/feed.atom")
    assert count == 3
    root = parse_atom(out.getvalue())
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{required}") is not None, required
    assert root.findtext(f"{ATOM}updated") == "2024-06-17T09:30:00Z"  # newest entry
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 3
    for entry in entries:
        for required in ("id", "title", "updated", "link", "summary"):
            assert entry.find(f"{ATOM}{required}") is not None, required
    first = entries[0]
    assert first.findtext(f"{ATOM}id") == "https://site1.example/a/1"
    assert first.find(f"{ATOM}link").get("href") == "https://site1.example/a/1?utm=rss"  # type: ignore[union-attr]
    assert first.findtext(f"{ATOM}summary") == "Un résumé court."
    assert first.findtext(f"{ATOM}author/{ATOM}name") == "Jeanne Dupont (site1.example)"
    assert entries[1].findtext(f"{ATOM}title") == "Control  char <b>&</b>"
    # no published date: updated falls back to first seen, no <published>
    assert entries[2].findtext(f"{ATOM}updated") == "2024-06-09T09:30:00Z"
    assert entries[2].find(f"{ATOM}published") is None

    parsed = feedparser.parse(out.getvalue())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "newsmon: on-story items"
    assert [e.link for e in parsed.entries] == [i.url for i in items]
    assert parsed.entries[0].author == "Jeanne Dupont (site1.example)"
    assert parsed.entries[1].summary.endswith("…")
    assert len(parsed.entries[1].summary) <= 301
    assert parsed.entries[0].tags[0].term == "site1.example"


def test_empty_atom_feed_is_still_valid() -> None:
    out = io.StringIO()
    assert write_atom([], out) == 0
    root = parse_atom(out.getvalue())
    assert root.find(f"{ATOM}updated") is not None
    parsed = feedparser.parse(out.getvalue())
    assert not parsed.bozo and parsed.entries == []


def test_entry_id_falls_back_to_tag_uri_for_non_http_keys() -> None:
    assert entry_id(make_item(1)) == "https://site1.example/a/1"
    tagged = entry_id(make_item(1, canonical_url="urn:x y"))
    assert tagged.startswith("tag:newsmon,2024:article/") and " " not in tagged


def test_progress_hook_sees_every_item_and_unknown_format_fails() -> None:
    seen: list[int] = []
    items = [make_item(n) for n in range(1, 6)]
    for fmt in ("jsonl", "csv", "atom"):
        seen.clear()
        assert (
            write_items(fmt, iter(items), io.StringIO(), on_item=lambda i: seen.append(i.id)) == 5
        )
        assert seen == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="unknown export format"):
        write_items("xml", items, io.StringIO())


def test_summary_prefers_description_then_cuts_text_at_a_word() -> None:
    assert make_item(1, description=" Court. ").summary() == "Court."
    long = make_item(1, text="mot " * 200).summary(50)
    assert long.endswith("…") and len(long) <= 51 and "mot mot" in long
    assert make_item(1, text="a\n\nb").summary() == "a b"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", T0 - timedelta(days=7)),
        ("12h", T0 - timedelta(hours=12)),
        ("30m", T0 - timedelta(minutes=30)),
        ("2w", T0 - timedelta(weeks=2)),
        ("1.5d", T0 - timedelta(hours=36)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ],
)
def test_parse_since(text: str, expected: datetime) -> None:
    assert parse_since(text, now=T0) == expected


def test_parse_since_and_statuses_reject_garbage() -> None:
    with pytest.raises(BadInputError, match="--since"):
        parse_since("last tuesday")
    with pytest.raises(BadInputError, match="unknown status 'published'"):
        parse_statuses(["filed,published"])
    assert parse_statuses(["filed, review", "FILED"]) == ("filed", "review")

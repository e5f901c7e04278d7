"""Writers for the public export formats: JSON Lines, CSV and Atom 1.0.

Writers take an iterable of :class:`~monitor.views.ItemView` and a text
stream and return how many items they wrote; they never query or buffer, so
an export of the whole archive streams straight from the database cursor to
the file. ``on_item`` is called after each item so a caller can drive a
progress bar without this module knowing about terminals.

The Atom feed is written by hand rather than through a feed library: it is
about forty lines, and owning them lets us guarantee what feed readers depend
on (stable entry ids, newest first, a feed ``updated`` that is the newest
entry's date, and no XML-illegal control characters from scraped text).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, TextIO
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from monitor.markup import csv_cell, http_href
from monitor.records import as_utc, utcnow
from monitor.views import ItemView, item_to_dict

FORMATS = ("jsonl", "csv", "atom")

#: Column order of CSV and key order of JSONL: the contract fields first.
EXPORT_FIELDS: tuple[str, ...] = (
    "id",
    "url",
    "canonical_url",
    "title",
    "status",
    "duplicate_of",
    "text",
    "description",
    "relevance",
    "evidence",
    "verdict",
    "language",
    "site",
    "author",
    "published_at",
    "fetched_at",
    "first_seen_at",
    "extraction_method",
    "dup_method",
    "dup_score",
    "story",
    "fail_reason",
)

ProgressHook = Callable[[ItemView], None] | None

# XML 1.0 forbids most C0 controls even when escaped; scraped text has them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _tap(items: Iterable[ItemView], on_item: ProgressHook) -> Iterator[ItemView]:
    for item in items:
        yield item
        if on_item is not None:
            on_item(item)


def export_record(item: ItemView) -> dict[str, Any]:
    record = item_to_dict(item)
    return {name: record[name] for name in EXPORT_FIELDS}


def write_jsonl(items: Iterable[ItemView], out: TextIO, *, on_item: ProgressHook = None) -> int:
    """One JSON object per line, UTF-8 text kept readable (no ``\\u`` escapes)."""
    count = 0
    for item in _tap(items, on_item):
        out.write(json.dumps(export_record(item), ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(items: Iterable[ItemView], out: TextIO, *, on_item: ProgressHook = None) -> int:
    """The JSONL fields as columns; ``evidence`` as a JSON string, nulls as empty cells.

    CSV files are opened by spreadsheets, which run a cell starting with ``=``
    (or ``+ - @``) as a formula: such text cells get a leading apostrophe
    (:func:`monitor.markup.csv_cell`). JSON Lines is the byte-exact export.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_FIELDS)
    count = 0
    for item in _tap(items, on_item):
        record = export_record(item)
        record["evidence"] = (
            json.dumps(record["evidence"], ensure_ascii=False)
            if record["evidence"] is not None
            else ""
        )
        writer.writerow(["" if record[k] is None else csv_cell(record[k]) for k in EXPORT_FIELDS])
        count += 1
    return count


def xml_text(value: str) -> str:
    """Escaped element text with the characters XML 1.0 cannot carry removed."""
    return escape(_XML_ILLEGAL.sub("", value))


def xml_attr(value: str) -> str:
    return quoteattr(_XML_ILLEGAL.sub("", value))


def atom_date(value: datetime | None) -> str:
    value = as_utc(value) or utcnow()
    return value.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def entry_id(item: ItemView) -> str:
    """The canonical URL when it is an absolute http(s) IRI, else a ``tag:`` URI.

    Feed readers de-duplicate on the id, so it must never change for an item:
    the canonical URL is the one key we keep stable across re-ingests.
    """
    if http_href(item.canonical_url) == item.canonical_url:
        return item.canonical_url
    return f"tag:newsmon,2024:article/{quote(item.canonical_url, safe='')}"


def _entry_xml(item: ItemView, summary_chars: int) -> str:
    author = item.author.strip()
    site = item.site.strip()
    name = f"{author} ({site})" if author and site else (author or site or "unknown")
    lines = [
        "  <entry>",
        f"    <id>{xml_text(entry_id(item))}</id>",
        f'    <title type="text">{xml_text(item.title.strip() or item.url)}</title>',
    ]
    # Feed readers make the link clickable: only an http(s) URL becomes one.
    href = http_href(item.url) or http_href(item.canonical_url)
    if href is not None:
        lines.append(f'    <link rel="alternate" type="text/html" href={xml_attr(href)}/>')
    lines.append(f"    <updated>{atom_date(item.date)}</updated>")
    if item.published_at is not None:
        lines.append(f"    <published>{atom_date(item.published_at)}</published>")
    lines.append(f"    <author><name>{xml_text(name)}</name></author>")
    if site:
        lines.append(f"    <category term={xml_attr(site)} label={xml_attr(site)}/>")
    summary = item.summary(summary_chars)
    if summary:
        lines.append(f'    <summary type="text">{xml_text(summary)}</summary>')
    lines.append("  </entry>")
    return "\n".join(lines) + "\n"


def write_atom(
    items: Iterable[ItemView],
    out: TextIO,
    *,
    title: str = "newsmon: on-story items",
    feed_id: str = "tag:newsmon,2024:feed/on-story",
    self_url: str | None = None,
    subtitle: str = "",
    summary_chars: int = 300,
    on_item: ProgressHook = None,
) -> int:
    """An Atom 1.0 feed of ``items``, which the caller passes newest first.

    The feed ``updated`` must precede the entries, so the first item is read
    before anything is written: newest first, its date is the feed's date.
    """
    iterator = iter(_tap(items, on_item))
    first = next(iterator, None)
    updated = first.date if first is not None else utcnow()
    out.write('<?xml version="1.0" encoding="utf-8"?>\n')
    out.write('<feed xmlns="http://www.w3.org/2005/Atom">\n')
    out.write(f"  <id>{xml_text(feed_id)}</id>\n")
    out.write(f'  <title type="text">{xml_text(title)}</title>\n')
    if subtitle:
        out.write(f'  <subtitle type="text">{xml_text(subtitle)}</subtitle>\n')
    out.write(f"  <updated>{atom_date(updated)}</updated>\n")
    out.write("  <author><name>newsmon</name></author>\n")
    out.write('  <generator uri="https://github.com/newsmon/newsmon">newsmon</generator>\n')
    if self_url:
        out.write(f'  <link rel="self" type="application/atom+xml" href={xml_attr(self_url)}/>\n')
    count = 0
    if first is not None:
        out.write(_entry_xml(first, summary_chars))
        count = 1
        for item in iterator:
            out.write(_entry_xml(item, summary_chars))
            count += 1
    out.write("</feed>\n")
    return count


def write_items(
    fmt: str, items: Iterable[ItemView], out: TextIO, *, on_item: ProgressHook = None
) -> int:
    """Dispatch on the public format name (``jsonl``, ``csv``, ``atom``)."""
    if fmt == "jsonl":
        return write_jsonl(items, out, on_item=on_item)
    if fmt == "csv":
        return write_csv(items, out, on_item=on_item)
    if fmt == "atom":
        return write_atom(items, out, on_item=on_item)
    raise ValueError(f"unknown export format {fmt!r} (expected one of {', '.join(FORMATS)})")

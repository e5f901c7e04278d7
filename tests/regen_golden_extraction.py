"""Regenerate tests/fixtures/golden/extraction/*.json; review the result as a diff.

    .venv/bin/python -m tests.regen_golden_extraction

Runs :func:`monitor.extract.extract_article` on every page listed in
``tests/fixtures/pages_extract/pages.json`` and writes one small JSON file per
page: the text's SHA-256, length and first characters, title, dates, author,
language, site, method, encoding, declared canonical, or the rejection reason.
``tests/integration/test_extract_corpus.py`` compares the same fields one by one,
so a change in extraction shows up as a named field in a named page.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from monitor.extract import ExtractionRejected, extract_article
from monitor.records import Page

FIXTURES = Path(__file__).parent / "fixtures"
PAGES_DIR = FIXTURES / "pages_extract"
GOLDEN_DIR = FIXTURES / "golden" / "extraction"
TEXT_START_CHARS = 160


def load_pages() -> list[dict[str, str]]:
    pages: list[dict[str, str]] = json.loads((PAGES_DIR / "pages.json").read_text("utf-8"))
    return pages


def page_bytes(entry: dict[str, str]) -> bytes:
    raw = (PAGES_DIR / entry["file"]).read_bytes()
    return gzip.decompress(raw) if entry["file"].endswith(".gz") else raw


def golden_record(entry: dict[str, str]) -> dict[str, Any]:
    """What extraction gives for one fixture page, as comparable JSON values."""
    page = Page(url=entry["url"], final_url=entry["url"], status_code=200, body=page_bytes(entry))
    try:
        result = extract_article(page)
    except ExtractionRejected as exc:
        return {"name": entry["name"], "rejected": exc.reason}
    article = result.article
    return {
        "name": entry["name"],
        "method": article.extraction_method,
        "encoding": result.encoding,
        "title": article.title,
        "author": article.author,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "published_day": result.published_day.isoformat() if result.published_day else None,
        "language": article.language,
        "site": article.site,
        "declared_canonical": result.declared_canonical,
        "text_chars": len(article.text),
        "text_sha256": hashlib.sha256(article.text.encode("utf-8")).hexdigest(),
        "text_start": article.text[:TEXT_START_CHARS],
    }


def golden_path(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.json"


def main() -> None:
    logging.disable(logging.CRITICAL)
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for entry in load_pages():
        record = golden_record(entry)
        text = json.dumps(record, ensure_ascii=False, indent=1) + "\n"
        golden_path(entry["name"]).write_text(text, encoding="utf-8")
        print(f"{entry['name']:<32} {record.get('rejected') or record['method']}")
    print(f"wrote {GOLDEN_DIR}")


if __name__ == "__main__":
    main()

"""``extract._page_metadata`` must stay trafilatura's ``extract_metadata`` minus the
three fields newsmon drops: a trafilatura upgrade that changes its metadata steps
fails here, not silently in the golden files of some other page."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from trafilatura.metadata import extract_metadata

from monitor.extract import _date_params, _page_metadata, parse_html

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages_extract"
FIELDS = ("title", "author", "url", "hostname", "description", "sitename", "date", "filedate")


def _cases() -> list[tuple[str, str, bytes]]:
    cases = []
    for item in json.loads((PAGES / "pages.json").read_text(encoding="utf-8")):
        raw = (PAGES / item["file"]).read_bytes()
        if item["file"].endswith(".gz"):
            raw = gzip.decompress(raw)
        cases.append((item["name"], item["url"], raw))
    return cases


@pytest.mark.parametrize(
    ("name", "url", "raw"), _cases(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_page_metadata_matches_trafilatura_on_every_kept_field(
    name: str, url: str, raw: bytes
) -> None:
    tree = parse_html(raw.decode("utf-8", "replace"))
    ours = _page_metadata(tree, url)
    theirs = extract_metadata(parse_html(raw.decode("utf-8", "replace")), url, _date_params())
    for field in FIELDS:
        assert getattr(ours, field) == getattr(theirs, field), (name, field)
    assert ours.license is None  # the footer scan newsmon skips


def test_page_metadata_survives_markup_without_any() -> None:
    meta = _page_metadata(parse_html("<html><body><p>x</p></body></html>"), "https://example.org/a")
    assert meta.title is None
    assert meta.hostname == "example.org"

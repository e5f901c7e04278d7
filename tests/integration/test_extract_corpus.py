"""Extraction on real pages: golden fixtures field by field, and the whole shared corpus.

The golden pages are copied into tests/fixtures/pages_extract, so that half
always runs. The corpus half reads the shared corpus (located by tests/corpus.py:
MONITOR_CORPUS_DIR, ../shared/corpus, /work/shared/corpus) and skips, saying so,
where it is absent. It runs every page through
``extract_article`` in a process pool, exactly as the pipeline calls it, so it
also proves that pages, results and rejections cross process boundaries.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from benchmarks.extraction_eval import CorpusPage, load_corpus, prf, tp_fp_fn
from monitor.extract import Extraction, ExtractionRejected, extract_article
from monitor.records import Page
from tests.corpus import require_corpus
from tests.regen_golden_extraction import golden_path, golden_record, load_pages

REGEN = "python -m tests.regen_golden_extraction, then review the diff"


@pytest.mark.parametrize("entry", load_pages(), ids=lambda e: e["name"])
def test_golden_page(entry: dict[str, str]) -> None:
    logging.disable(logging.CRITICAL)
    try:
        expected = json.loads(golden_path(entry["name"]).read_text(encoding="utf-8"))
        actual = golden_record(entry)
    finally:
        logging.disable(logging.NOTSET)
    differing = {
        field: (expected.get(field), actual.get(field))
        for field in sorted(set(expected) | set(actual))
        if expected.get(field) != actual.get(field)
    }
    assert not differing, f"{entry['name']}: (golden, now) per field {differing}; {REGEN}"


def test_golden_set_covers_french_and_the_client_rendered_page() -> None:
    records = [json.loads(golden_path(e["name"]).read_text("utf-8")) for e in load_pages()]
    assert len(records) >= 12
    assert sum(1 for r in records if r.get("language") == "fr") >= 6
    rejected = {r["name"]: r["rejected"] for r in records if "rejected" in r}
    assert rejected == {"lanouvellerepublique_martin": "client_rendered"}


def _page(corpus_page: CorpusPage) -> Page:
    url = corpus_page.url
    return Page(url=url, final_url=url, status_code=200, body=corpus_page.body)


@pytest.mark.slow
def test_every_corpus_page_extracts_or_is_rejected_with_a_reason() -> None:
    corpus = require_corpus("article-extraction-benchmark", "trafilatura-eval")
    pages = load_corpus(corpus)
    assert len(pages) == 384
    results: dict[str, Extraction] = {}
    rejected: dict[str, str] = {}
    crashed: dict[str, str] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        futures = {p.key: pool.submit(extract_article, _page(p)) for p in pages}
        for key, future in futures.items():
            error = future.exception(timeout=120)
            if error is None:
                results[key] = future.result()
            elif isinstance(error, ExtractionRejected):
                rejected[key] = error.reason
            else:
                crashed[key] = f"{type(error).__name__}: {error}"

    assert crashed == {}
    assert len(results) + len(rejected) == 384
    assert rejected.get("lanouvellerepublique.fr.martin.html") == "client_rendered"
    assert len(rejected) <= 4, rejected
    assert all(r.article.text.strip() for r in results.values())

    # Quality guards well above plain trafilatura.extract (0.948 token F1, 0.58 snippets).
    f1 = [
        prf(*tp_fp_fn(p.truth["articleBody"], results[p.key].article.text, 1))[2]
        for p in pages
        if p.source == "aeb"
    ]
    assert sum(f1) / len(f1) >= 0.96
    snippets_ok = [
        p.key in results
        and all(s in results[p.key].article.text for s in p.truth["with"])
        and not any(s in results[p.key].article.text for s in p.truth["without"])
        for p in pages
        if p.source == "tev"
    ]
    assert sum(snippets_ok) / len(snippets_ok) >= 0.62
    languages = {results[p.key].article.language for p in pages if p.key in results}
    assert {"en", "fr", "de", "es", "pl", "ru", "ko", "zh"} <= languages

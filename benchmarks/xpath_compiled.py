"""trafilatura's XPath expressions: lxml against the compiled forms, side by side in one run.

Over the pages of the shared corpus (article-extraction-benchmark's 181 by
default, ``--all`` adds trafilatura-eval's 203), in this one process:

1. every compiled expression of trafilatura's lists on every raw page, lxml's
   XPath then the compiled form, alternately, with the nodes compared;
2. ``monitor.extract.extract_article`` on every page with trafilatura's lists
   holding lxml's XPath, then the compiled forms, alternately (``--rounds``
   each), with the extracted articles compared field by field.

It prints milliseconds a page for each side and their ratio, and fails if any
node or field differs.

    python benchmarks/xpath_compiled.py [--corpus ../shared/corpus] [--rounds 3] [--all]
"""

from __future__ import annotations

import argparse
import gzip
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from monitor import xpathc  # noqa: E402
from monitor.extract import ExtractionRejected, extract_article, parse_html  # noqa: E402
from monitor.records import Page  # noqa: E402


def load(corpus: Path, everything: bool) -> list[tuple[str, bytes]]:
    files = sorted((corpus / "article-extraction-benchmark" / "html").glob("*.html.gz"))
    if everything:
        files += sorted((corpus / "trafilatura-eval" / "html").glob("*.html"))
    pages = []
    for path in files:
        raw = path.read_bytes()
        pages.append((path.name, gzip.decompress(raw) if path.suffix == ".gz" else raw))
    return pages


def compiled_expressions() -> list[tuple[str, xpathc.CompiledXPath]]:
    return [
        (f"{name}[{i}]", value[i])
        for name, i, value in xpathc.expressions()
        if isinstance(value[i], xpathc.CompiledXPath)
    ]


@contextmanager
def lxml_expressions() -> Iterator[None]:
    """trafilatura's lists as shipped (lxml's XPath) for the time of the block."""
    swapped = [(value, i, value[i]) for _, i, value in xpathc.expressions()]
    for value, i, item in swapped:
        value[i] = xpathc.lxml_form(item)
    try:
        yield
    finally:
        for value, i, item in swapped:
            value[i] = item


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.process_time()
    result = work()
    return time.process_time() - start, result


def corpus_page(name: str, body: bytes) -> Page:
    """A corpus file as a fetched page, with a fixed fetch time (articles compare equal)."""
    return Page(
        url=f"https://corpus.example/{name}",
        final_url=f"https://corpus.example/{name}",
        status_code=200,
        body=body,
        content_type="text/html",
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def extract_all(pages: list[tuple[str, bytes]]) -> list[str]:
    out = []
    for name, body in pages:
        try:
            out.append(repr(extract_article(corpus_page(name, body))))
        except ExtractionRejected as exc:
            out.append(f"rejected: {exc.reason}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="trafilatura-eval's pages too")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    pages = load(args.corpus, args.all)
    counts = xpathc.install()
    compiled = compiled_expressions()
    total = len(list(xpathc.expressions()))
    lists = ", ".join(f"{name} {n}" for name, n in counts.items())
    print(f"pages: {len(pages)}; expressions compiled: {len(compiled)} of {total} ({lists})")

    trees = [parse_html(body.decode("utf-8", "replace")) for _, body in pages]
    slow = fast = 0.0
    for _ in range(args.rounds):
        for label, expression in compiled:
            took_slow, expected = timed(lambda e=expression: [e.xpath(t) for t in trees])
            took_fast, actual = timed(lambda e=expression: [e(t) for t in trees])
            if actual != expected:
                raise SystemExit(f"{label}: the compiled form gives other nodes")
            slow, fast = slow + took_slow, fast + took_fast
    per = 1000 / (len(pages) * args.rounds)
    print(
        f"every expression on every raw page: lxml {slow * per:.2f} ms a page, "
        f"compiled {fast * per:.2f} ms a page, ratio {fast / slow:.2f}"
    )

    extract_all(pages[:5])  # first-use caches, both sides
    slow = fast = 0.0
    for _ in range(args.rounds):
        with lxml_expressions():
            took_slow, expected = timed(lambda: extract_all(pages))
        took_fast, actual = timed(lambda: extract_all(pages))
        differing = [
            name for (name, _), a, b in zip(pages, actual, expected, strict=True) if a != b
        ]
        if differing:
            raise SystemExit(f"extraction differs on {len(differing)} pages: {differing[:5]}")
        slow, fast = slow + took_slow, fast + took_fast
    print(
        f"extract_article: lxml {slow * per:.2f} ms a page, compiled {fast * per:.2f} ms a page, "
        f"ratio {fast / slow:.2f}; the articles identical on all {len(pages)} pages"
    )


if __name__ == "__main__":
    main()

"""declared_canonical (regex on the head) against a full lxml parse, on real pages.

Reads every page of the shared corpus (article-extraction-benchmark, gzipped,
and trafilatura-eval), finds the declared canonical URL both ways, and prints:
how often the two agree (where they differ, the lxml answer is printed), the
time per page of each, and their ratio. Also times canonicalize() per URL.

    python benchmarks/bench_urls.py [--corpus /work/shared/corpus] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path
from urllib.parse import urljoin

import lxml.html

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.urls import canonicalize, declared_canonical

BASE = "https://example.org/some/article.html"


def lxml_canonical(data: bytes, base: str) -> str | None:
    """The reference: parse the whole document, then look in the head."""
    try:
        doc = lxml.html.fromstring(data)
    except (ValueError, lxml.etree.ParserError):
        return None
    for href in doc.xpath(
        "//head//link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]/@href"
    ):
        if href.strip():
            return urljoin(base, href.strip())
    for content in doc.xpath("//head//meta[@property='og:url' or @name='og:url']/@content"):
        if content.strip():
            return urljoin(base, content.strip())
    return None


def load_pages(corpus: Path) -> list[bytes]:
    pages = [
        gzip.decompress(p.read_bytes())
        for p in sorted((corpus / "article-extraction-benchmark" / "html").glob("*.html.gz"))
    ]
    pages += [p.read_bytes() for p in sorted((corpus / "trafilatura-eval" / "html").iterdir())]
    return pages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=Path("/work/shared/corpus"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    pages = load_pages(args.corpus)
    total_mb = sum(len(p) for p in pages) / 1e6
    print(f"{len(pages)} pages, {total_mb:.1f} MB")

    agree = found = 0
    for data in pages:
        ours, ref = declared_canonical(data, BASE), lxml_canonical(data, BASE)
        found += ours is not None
        if ours == ref:
            agree += 1
        else:
            print(f"  differ: regex={ours!r} lxml={ref!r}")
    print(f"agreement with lxml: {agree}/{len(pages)}; canonical declared on {found} pages")

    timings = {}
    for name, func in (("regex head", declared_canonical), ("lxml full parse", lxml_canonical)):
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            for data in pages:
                func(data, BASE)
            best = min(best, time.perf_counter() - start)
        timings[name] = best
        print(f"{name:16s} {best / len(pages) * 1e6:9.1f} µs/page")
    print(f"ratio lxml/regex: {timings['lxml full parse'] / timings['regex head']:.1f}x")

    urls = [
        f"HTTPS://WWW.Example.COM:443/a/./b/../p{i}?utm_source=rss&id={i}&fbclid=x#frag"
        for i in range(20_000)
    ]
    start = time.perf_counter()
    for url in urls:
        canonicalize(url)
    elapsed = time.perf_counter() - start
    print(f"canonicalize     {elapsed / len(urls) * 1e6:9.1f} µs/url")


if __name__ == "__main__":
    main()

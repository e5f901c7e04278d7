"""Compiled XPath against lxml on every real page of the shared corpus, as extraction runs it.

The shadow check wraps every compiled expression in trafilatura's lists so that
each call also runs lxml's XPath on the same tree and records any difference.
Extracting all 384 corpus pages then compares the two on the very trees
trafilatura builds (cleaned, converted, pruned, deep-copied), not only on raw
pages. A sample of raw pages also gets every expression, including those
extraction does not call with newsmon's settings (comments, titles).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.xpath_compiled import corpus_page, load
from monitor import xpathc
from monitor.extract import ExtractionRejected, extract_article, parse_html
from tests.corpus import require_corpus


class Shadow:
    """A compiled expression that also asks lxml, and remembers where they disagree."""

    def __init__(self, label: str, compiled: xpathc.CompiledXPath, log: list[str]) -> None:
        self.label, self.compiled, self.log = label, compiled, log
        self.calls = 0

    def __call__(self, ctx: Any, **variables: Any) -> Any:
        self.calls += 1
        fast = self.compiled(ctx, **variables)
        slow = self.compiled.xpath(ctx, **variables)
        if fast != slow:
            self.log.append(f"{self.label}: {len(fast)} nodes, lxml {len(slow)}")
        return slow


def corpus_pages() -> list[tuple[str, bytes]]:
    return load(require_corpus("article-extraction-benchmark", "trafilatura-eval"), True)


@pytest.fixture
def shadows(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[list[Shadow], list[str]]]:
    """Every compiled expression in trafilatura's lists shadowed, for one test.

    A compiled form that raised would quietly let lxml answer: that counts as a
    difference too (whatever the logging configuration).
    """
    xpathc.install()
    log: list[str] = []
    monkeypatch.setattr(xpathc.LOGGER, "warning", lambda *args: log.append(str(args)))
    swapped = [
        (value, i, Shadow(f"{name}[{i}]", value[i], log))
        for name, i, value in xpathc.expressions()
        if isinstance(value[i], xpathc.CompiledXPath)
    ]
    for value, i, shadow in swapped:
        value[i] = shadow
    try:
        yield [shadow for _, _, shadow in swapped], log
    finally:
        for value, i, shadow in swapped:
            value[i] = shadow.compiled


def test_extraction_asks_the_compiled_forms_what_lxml_answers(
    shadows: tuple[list[Shadow], list[str]],
) -> None:
    pages = corpus_pages()
    wrapped, log = shadows
    assert wrapped
    logging.disable(logging.CRITICAL)
    try:
        for name, body in pages:
            before = len(log)
            with contextlib.suppress(ExtractionRejected):
                extract_article(corpus_page(name, body))
            assert len(log) == before, f"{name}: {log[before:]}"
    finally:
        logging.disable(logging.NOTSET)
    assert len(pages) == 384
    called = {s.label.split("[")[0] for s in wrapped if s.calls}
    assert {"OVERALL_DISCARD_XPATH", "BODY_XPATH", "AUTHOR_XPATHS"} <= called


def test_every_compiled_expression_on_a_sample_of_raw_corpus_pages() -> None:
    pages = corpus_pages()[::12]
    compiled = []
    for name, i, value in xpathc.expressions():
        try:
            compiled.append((f"{name}[{i}]", xpathc.compile_xpath(xpathc.lxml_form(value[i]))))
        except xpathc.Unsupported:
            continue
    for page_name, body in pages:
        tree = parse_html(body.decode("utf-8", "replace"))
        for label, expression in compiled:
            assert expression(tree) == expression.xpath(tree), f"{page_name}: {label}"

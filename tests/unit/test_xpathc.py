"""Compiled XPath gives lxml's nodes, in lxml's order, or leaves the expression to lxml.

Every comparison here evaluates the same expression both ways on the same tree:
the compiled form (``monitor.xpathc``) and the lxml ``XPath`` it replaces.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from trafilatura import xpaths

from monitor import xpathc
from monitor.extract import parse_html
from monitor.xpathsyntax import Unsupported

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pages_extract"
NS = {"re": "http://exslt.org/regular-expressions"}


def trafilatura_expressions() -> list[tuple[str, etree.XPath]]:
    """Every expression of trafilatura's lists, as lxml XPath (installed or not)."""
    return [(f"{n}[{i}]", xpathc.lxml_form(v[i])) for n, i, v in xpathc.expressions()]


EXPRESSIONS = trafilatura_expressions()
#: The lists trafilatura runs on every page, and the author search: all compiled.
HOT = (
    "BODY_XPATH",
    "OVERALL_DISCARD_XPATH",
    "TEASER_DISCARD_XPATH",
    "PRECISION_DISCARD_XPATH",
    "DISCARD_IMAGE_ELEMENTS",
    "REMOVE_COMMENTS_XPATH",
    "REMOVE_COMMENTS_AND_LISTS_XPATH",
    "RAW_TREE_PRUNE_XPATH",
    "COMMENTS_XPATH",
    "COMMENTS_DISCARD_XPATH",
    "AUTHOR_XPATHS",
    "AUTHOR_DISCARD_XPATHS",
    "TITLE_XPATHS",
)


def assert_same(path: str, tree: Any, compiled: xpathc.CompiledXPath | None = None) -> None:
    expected = etree.XPath(path, namespaces=NS)(tree)
    actual = (compiled or xpathc.compile_xpath(etree.XPath(path, namespaces=NS)))(tree)
    assert actual == expected, f"{path}: {describe(actual)} != {describe(expected)}"


def describe(nodes: list[Any]) -> list[str]:
    return [f"{n.tag}{dict(n.attrib)}" for n in nodes]


# --- this trafilatura's expressions -------------------------------------------------


def test_every_expression_trafilatura_runs_on_a_page_is_compiled() -> None:
    """A tripwire for upgrades: an expression that stops compiling silently costs speed."""
    unsupported = []
    for label, expression in EXPRESSIONS:
        try:
            xpathc.compile_xpath(expression)
        except Unsupported:
            unsupported.append(label)
    assert not [label for label in unsupported if label.split("[")[0] in HOT]
    # categories and tags are never read by newsmon (monitor.extract._page_metadata)
    assert all(label.startswith(("CATEGORIES_XPATHS", "TAGS_XPATHS")) for label in unsupported)


def fixture_trees() -> list[Any]:
    entries = json.loads((FIXTURES / "pages.json").read_text("utf-8"))
    trees = []
    for entry in entries:
        raw = (FIXTURES / entry["file"]).read_bytes()
        raw = gzip.decompress(raw) if entry["file"].endswith(".gz") else raw
        trees.append(parse_html(raw.decode("utf-8", "replace")))
    return trees


def compilable() -> list[tuple[str, etree.XPath, xpathc.CompiledXPath]]:
    found = []
    for label, expression in EXPRESSIONS:
        try:
            found.append((label, expression, xpathc.compile_xpath(expression)))
        except Unsupported:
            continue
    return found


COMPILED = compilable()


@pytest.mark.parametrize("label,expression,compiled", COMPILED, ids=[e[0] for e in COMPILED])
def test_same_nodes_as_lxml_on_the_fixture_pages(
    label: str, expression: etree.XPath, compiled: xpathc.CompiledXPath
) -> None:
    for tree in fixture_trees():
        assert compiled(tree) == expression(tree), label


# --- random pages built from the words the expressions look for -----------------------

TAGS = "div p span section article main aside list item a h1 h3 ol ul header time figure"
TAGS += " address link strong details author rel cite quote body"
WORDS = """comment comments Comments comment-list commentary nocomments comments-title reply-
hidden hide hide-print noprint -hide- message akismet cookie nav Nav navbar teaser Teaser
author authorName byline Byline caption share- social sidebar bottom link bottom-bar
main main-content Main-Content page-content content contentBody article-body articleBody
article post entry story fulltext FullText mvp-post-add-box infinite-scroll respond
elementor-share-buttons display:none display: none border disqus_thread me true
MostPopularStories""".split()  # noqa: SIM905
WORDS += ["x link y", ""]
ATTRS = "id class style role aria-hidden data-component itemprop rel data-testid".split()  # noqa: SIM905


def random_page(rng: random.Random) -> Any:
    def element(depth: int) -> str:
        tag = rng.choice(TAGS.split())
        attrs = rng.sample(ATTRS, rng.randint(0, 3))  # random order: @id|@class takes the first
        values = " ".join(f'{a}="{_value(rng)}"' for a in attrs)
        children = "".join(element(depth + 1) for _ in range(rng.randint(0, 4 - depth)))
        return f"<{tag} {values}>{rng.choice(WORDS)}{children}</{tag}>" if depth < 4 else ""

    return parse_html(f"<html><body>{''.join(element(0) for _ in range(6))}</body></html>")


def _value(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 2)))


def test_same_nodes_as_lxml_on_random_pages_with_every_expression() -> None:
    rng = random.Random(20261207)
    matched = 0
    for _ in range(300):
        tree = random_page(rng)
        for label, expression, fast in COMPILED:
            expected = expression(tree)
            matched += len(expected)
            assert fast(tree) == expected, (label, etree.tostring(tree)[:2000])
    assert matched > 1000  # the pages do hit the expressions


# --- each construct, on a page built for it ----------------------------------------------

PAGE = """<html><body>
<div class="a" id="b"><p>one</p></div>
<div id="b" class="a"><p>two</p></div>
<div class=""><span id="x">three</span><h1>title</h1></div>
<section role="Navigation" style="display:none"><p class="post">four</p>
<p class="post">five</p></section>
<div><rel>me</rel><rel>you</rel><p class="FullText">six</p></div>
<article><div class="post">seven</div><div class="story">eight</div></article>
<main id="main-content"><div class="post"><div class="post">nine</div></div></main>
<p>&amp; entity and <!-- a comment --> text</p>
</body></html>"""


@pytest.mark.parametrize(
    "path",
    [
        ".//*",
        ".//div",
        "//*",
        "//div|//p",
        ".//p|.//div",
        ".//*[self::div or self::p][@class]",
        ".//*[@class='']",
        ".//*[@class='a']",
        ".//div[re:test(@id|@class, '^a')]",
        ".//div[re:test(@class|@id, '^b')]",
        ".//div[starts-with(@id|@class, 'b')]",
        ".//*[re:test(@class, 'fulltext', 'i')]",
        ".//*[re:test(@class, 'fulltext')]",
        ".//*[re:test(@class, '^$')]",
        ".//*[contains(translate(@role, 'N', 'n'), 'nav')]",
        ".//*[contains(translate(@role, 'Nn', 'x'), 'avigatio')]",
        ".//*[contains(@style, 'display:none')]",
        ".//*[contains(@style, '')]",
        ".//*[starts-with(@class, '')]",
        ".//*[not(@class)]",
        ".//*[not(.//h1)]",
        ".//div[not(.//h1) or @id='b']",
        ".//div[rel='me']",
        ".//div[rel='them']",
        ".//div[rel]",
        ".//*[self::div or self::p][@class='post'][1]",
        ".//*[@class='post'][1]",
        "(.//*[@class='post'])[1]",
        "(.//nothing)[1]",
        "(.//*[@class='post'])[1]|(.//main)[1]",
        "(.//*[@class='story'])[1]|.//p",
        ".//*[self::div and (@id='b' or @class='post')]",
        ".//*[@id and @class]",
        ".//*[@id|@class]",
        ".//*[@id|@class='a']",
        "//*[self::a or self::p][@class='post']|//author",
    ],
)
def test_construct(path: str) -> None:
    assert_same(path, parse_html(PAGE))


@pytest.mark.parametrize(
    "path",
    [
        ".//div/p",
        "//div//p",
        ".//*[2]",
        ".//*[1][@class]",
        ".//*[last()]",
        ".//*[position()=1]",
        ".//*[@class!='a']",
        ".//*[count(p) > 1]",
        ".//*[text()='one']",
        ".//*[@*]",
        ".//*[child::p]",
        ".//*[ancestor::div]",
        ".//*[normalize-space(@class)='a']",
        ".//*[re:test(@class, @id)]",
        ".//*[re:replace(@class, 'a', 'g', 'b')]",
        ".//*[contains(., 'one')]",
        "(.//a|.//b)[1]",
        ".//*[@xml:lang]",
        "//a|.//b",
        "string(.//p)",
        "count(.//p)",
        ".//p/text()",
        ".//*[.//p[@class]]",
    ],
)
def test_xpath_outside_the_subset_keeps_lxml(path: str) -> None:
    with pytest.raises(Unsupported):
        xpathc.compile_xpath(etree.XPath(path, namespaces=NS))


def test_contexts_the_compiled_form_cannot_answer_for_go_to_lxml() -> None:
    tree = parse_html(PAGE)
    absolute = xpathc.compile_xpath(etree.XPath("//p"))
    inner = tree.find(".//section")
    assert absolute(inner) == etree.XPath("//p")(inner)  # the whole document, not the section
    assert len(absolute(inner)) > len(inner.findall(".//p"))
    detached = tree.find(".//main")
    detached.getparent().remove(detached)
    assert absolute(detached) == etree.XPath("//p")(detached)
    relative = xpathc.compile_xpath(etree.XPath(".//p"))
    assert relative(tree.getroottree()) == etree.XPath(".//p")(tree.getroottree())
    with_variables = xpathc.compile_xpath(etree.XPath(".//p[@class='post']"))
    assert with_variables(tree, c="x") == tree.xpath(".//p[@class='post']", c="x")


def test_a_copied_or_deep_copied_tree_is_its_own_document() -> None:
    """trafilatura searches deep copies with // expressions (the author search)."""
    from copy import deepcopy

    tree = deepcopy(parse_html(PAGE))
    assert_same("//*[self::div or self::p][@class='post']|//author", tree)


def memos_of(compiled: xpathc.CompiledXPath) -> list[xpathc._Memo]:
    walker = compiled._plan.walker
    assert walker is not None
    return [m for m in walker.__globals__.values() if isinstance(m, xpathc._Memo)]


def test_the_pattern_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xpathc, "_MEMO_LIMIT", 5)
    compiled = xpathc.compile_xpath(etree.XPath(".//*[re:test(@class, 'k')]", namespaces=NS))
    page = "".join(f'<p class="c{i}k">{i}</p>' for i in range(40))
    tree = parse_html(f"<html><body>{page}</body></html>")
    assert len(compiled(tree)) == 40
    (memo,) = memos_of(compiled)
    assert 0 < len(memo) <= 5


def test_install_swaps_trafilaturas_lists_in_place_once() -> None:
    before = {name: id(value) for name, _, value in xpathc.expressions()}
    counts = xpathc.install()
    assert xpathc.installed()
    assert counts == xpathc.install()
    after = {name: id(value) for name, _, value in xpathc.expressions()}
    assert before == after  # the same list objects, which trafilatura's modules imported
    from trafilatura import main_extractor

    assert main_extractor.OVERALL_DISCARD_XPATH is xpaths.OVERALL_DISCARD_XPATH
    assert all(isinstance(x, xpathc.CompiledXPath) for x in xpaths.OVERALL_DISCARD_XPATH)
    assert counts["OVERALL_DISCARD_XPATH"] == len(xpaths.OVERALL_DISCARD_XPATH)


def test_the_patterns_are_the_ones_checked_here() -> None:
    """The corpus check ran on these expressions; a trafilatura upgrade re-runs it."""
    text = "\n".join(" ".join(e.path.split()) for _, e in EXPRESSIONS)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    assert digest == EXPECTED_DIGEST, (
        "trafilatura's XPath expressions changed: run tests/integration/test_xpathc_corpus.py "
        f"and update EXPECTED_DIGEST to {digest}"
    )


EXPECTED_DIGEST = "7f67313f2108935f"


def test_first_match_per_parent_among_many_siblings_and_parents() -> None:
    """``step[...][1]``: the first match under each parent, however far apart they are."""
    block = '<div class="other">x</div>' * 50 + '<div class="post">y</div>' * 3
    sections = "".join(f"<section>{block * (i + 1)}</section>" for i in range(30))
    tree = parse_html(f"<html><body>{sections}<p class='post'>z</p></body></html>")
    assert_same(".//*[self::div or self::p][@class='post'][1]", tree)
    assert_same(".//*[@class='post' or @class='other'][1]", tree)


def test_long_attribute_values_are_matched_but_not_kept() -> None:
    compiled = xpathc.compile_xpath(etree.XPath(".//*[re:test(@class, 'k$')]", namespaces=NS))
    page = "".join(f'<p class="{"x" * 300}{i}k">{i}</p>' for i in range(10))
    tree = parse_html(f"<html><body>{page}<p class='short k'>s</p></body></html>")
    assert len(compiled(tree)) == 11
    (memo,) = memos_of(compiled)
    assert list(memo) == ["short k"]


def test_a_failure_of_the_compiled_form_falls_back_to_lxml(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    compiled = xpathc.compile_xpath(etree.XPath(".//p[@class='post']"))

    def broken(plan: object, ctx: object) -> list[object]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(xpathc, "_run", broken)
    tree = parse_html(PAGE)
    assert compiled(tree) == tree.xpath(".//p[@class='post']")
    assert "compiled XPath failed" in caplog.text

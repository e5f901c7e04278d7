"""One hostile article through every output the product shows, on both databases.

Stored text comes from other people's pages. The article below carries a
script, an image with an event handler, a Markdown ``javascript:`` link, a
table pipe, rich markup, a URL with quotes, an author that tries to close an
attribute, a ``javascript:`` URL and spreadsheet formulas. Every output is
rendered from the database and checked on what a reader's software would
actually build: HTML and the Markdown renderings are parsed into elements,
Atom into XML, CSV into cells, the terminal output as text.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx
import lxml.html
import markdown
import pytest
from markdown_it import MarkdownIt
from outputs_sample import NOW, add_article
from pytest_httpserver import HTTPServer
from sqlalchemy.orm import Session
from typer.testing import CliRunner
from werkzeug import Request, Response

from flows.cli import _print_outcome, make_app
from flows.present import filed_rows, poll_markdown, verdict_markdown
from monitor.alerts import AlertMessage, build_message, render_body, send_apprise
from monitor.config import load_settings
from monitor.db import FeedRow
from monitor.export import write_items
from monitor.feedserver import make_server, serve_in_background
from monitor.records import DedupDecision, Evidence, Judgement, Label, Outcome, Status
from monitor.report import build_report, render_html, render_markdown
from monitor.views import ItemFilter, iter_items

TITLE = (
    "<script>alert(1)</script><img src=x onerror=alert(2)> "
    "[link](javascript:alert(3)) | x [bold red]boom[/] `code` ![i](https://evil.example/i.png)"
)
URL_WITH_QUOTES = "https://evil.example/a\"onmouseover='alert(4)'<x>"
JS_URL = "javascript:alert(5)"
AUTHOR = '"><svg onload=alert(6)>'
SITE = "evil.example<b onmouseover=alert(7)>"
REASON = "http_500: <b onclick=alert(8)>x</b> [red]boom[/] ``` |"
FORMULA = '=HYPERLINK("https://evil.example","click")'
ATOM = "{http://www.w3.org/2005/Atom}"
EVENT = re.compile(r"^on", re.IGNORECASE)


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def assert_inert_html(html: str) -> None:
    """No script, no event handler, no link or source that is not http(s) or local."""
    tags = Tags()
    tags.feed(html)
    tags.close()
    assert tags.found, "nothing parsed"
    for tag, attrs in tags.found:
        assert tag not in ("script", "iframe", "object", "embed", "img"), (tag, attrs)
        for name, value in attrs.items():
            assert not EVENT.match(name), (tag, name, value)
            if name in ("href", "src", "action", "xlink:href"):
                target = (value or "").strip().lower()
                assert target.startswith(("http://", "https://", "#", "/")), (tag, name, value)
    tree = lxml.html.document_fromstring(html)
    assert not tree.xpath("//script | //img | //iframe")
    assert not tree.xpath("//@*[starts-with(translate(name(), 'ON', 'on'), 'on')]")


@pytest.fixture
def hostile(session: Session) -> dict[str, int]:
    """The hostile article (filed), a copy of it, one with a javascript: URL, a failed one."""
    feed = FeedRow(url="https://evil.example/rss", name=TITLE[:200], created_at=NOW)
    feed.last_reason = REASON
    feed.last_outcome = "error"
    session.add(feed)
    session.flush()
    evidence = {
        "story": "russia-dprk",
        "label": "review",
        "score": 0.5,
        "matches": [{"term": "<i>Kim</i> | x", "group": "side_b", "where": "title", "count": 1}],
        "reasons": ["[bold]why[/] <script>x</script>"],
    }
    main = add_article(
        session,
        slug="hostile",
        canonical_url=URL_WITH_QUOTES,
        url=URL_WITH_QUOTES,
        title=TITLE,
        site=SITE,
        author=AUTHOR,
        description="<script>alert(9)</script> " + FORMULA,
        text="Body <script>alert(10)</script> " * 20,
        language="fr",
        feed_id=feed.id,
    )
    copy = add_article(
        session,
        slug="hostile-copy",
        canonical_url="https://copy.example/a",
        url=JS_URL,
        title=FORMULA,
        site="@SUM(1+1)",
        author="-2+3",
        status="duplicate",
        duplicate_of_id=main.id,
        dup_method="near_body",
        dup_score=92.0,
        first_seen_at=NOW + timedelta(hours=1),
    )
    js = add_article(session, slug="js", canonical_url=JS_URL, url=JS_URL, title=TITLE, site=SITE)
    review = add_article(
        session,
        slug="review",
        title=TITLE + " (review)",
        site=SITE,
        status="review",
        verdict="review",
        evidence=evidence,
    )
    failed = add_article(session, slug="failed", status="failed", fail_reason=REASON, title="")
    session.commit()
    return {"main": main.id, "copy": copy.id, "js": js.id, "review": review.id, "fail": failed.id}


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Iterator[Callable[..., str]]:
    config = tmp_path / "feeds.yaml"
    config.write_text(f"feeds: []\ndata_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    env = {"MONITOR_DATABASE_URL": db_url, "MONITOR_CONFIG": str(config), "COLUMNS": "400"}
    app = make_app()

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(app, list(args), env=env)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.stdout

    yield invoke


def test_report_html_is_inert(session: Session, hostile: dict[str, int]) -> None:
    for by in ("language", "source"):
        page = render_html(build_report(session, since=None, by=by))
        assert_inert_html(page)
        assert "<script" not in page.lower()
        assert not re.search(r"<[a-z][^>]*\son\w+\s*=", page, re.IGNORECASE)  # in a tag
        tree = lxml.html.document_fromstring(page)
        links = tree.xpath("//a[contains(., 'alert(1)')]")
        assert links and links[0].text_content() == TITLE  # shown as its characters
        assert "javascript:" not in " ".join(tree.xpath("//a/@href"))
        assert tree.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")


def test_report_markdown_is_inert_and_keeps_its_columns(
    session: Session, hostile: dict[str, int]
) -> None:
    text = render_markdown(build_report(session, since=None))
    assert_markdown_inert(text)
    assert "](javascript:" not in text and "](<" not in text


def assert_markdown_inert(text: str) -> None:
    """Rendered by a strict (markdown-it) and a permissive (Python-Markdown) renderer,
    both with raw HTML allowed: nothing active comes out, every table row keeps
    the columns of its header."""
    strict = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    for html in (
        strict.render(text),
        markdown.markdown(text, extensions=["tables"]),
    ):
        assert_inert_html("<html><body>" + html + "</body></html>")
        tree = lxml.html.fragment_fromstring(html, create_parent="div")
        for table in tree.xpath("//table"):
            width = len(table.xpath(".//thead/tr/th"))
            for row in table.xpath(".//tbody/tr"):
                assert len(row.xpath("./td")) == width, lxml.html.tostring(row)
    header_cells: int | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            header_cells = None
            continue
        cells = len(re.split(r"(?<!\\)\|", line)) - 2
        header_cells = header_cells or cells
        assert cells == header_cells, line


def test_exports_are_inert(session: Session, hostile: dict[str, int]) -> None:
    def export(fmt: str) -> str:
        out = io.StringIO()
        write_items(fmt, iter_items(session, ItemFilter(statuses=())), out)
        return out.getvalue()

    root = ET.fromstring(export("atom").encode("utf-8"))
    for entry in root.iter(f"{ATOM}entry"):
        for link in entry.iter(f"{ATOM}link"):
            assert link.get("href", "").startswith(("http://", "https://")), link.attrib
        assert entry.find(f"{ATOM}title").get("type") == "text"  # type: ignore[union-attr]
    titles = [e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")]
    assert TITLE in titles  # the characters, escaped by XML, come back intact
    assert all(el.tag.startswith(ATOM) for el in root.iter())  # no injected element

    rows = list(csv.DictReader(io.StringIO(export("csv"))))
    assert len(rows) == 5
    for row in rows:
        for column, value in row.items():
            assert not value.startswith(("=", "+", "-", "@")), (column, value)
    copy = next(r for r in rows if r["canonical_url"] == "https://copy.example/a")
    assert copy["title"] == "'" + FORMULA and copy["site"] == "'@SUM(1+1)"
    assert copy["relevance"] == "0.9"  # numbers stay numbers

    records = [json.loads(line) for line in export("jsonl").splitlines()]
    assert {r["title"] for r in records} >= {TITLE, FORMULA}  # JSON Lines keeps every byte


def test_feed_server_types_and_headers(
    db_url: str, session: Session, hostile: dict[str, int], tmp_path: Path
) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds: []\n", encoding="utf-8")
    server = make_server(load_settings(config, env={"MONITOR_DATABASE_URL": db_url}), port=0)
    server_thread = serve_in_background(server)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            expected = {
                "/report.html": "text/html",
                "/feed.atom": "application/atom+xml",
                "/items.json?limit=10": "application/json",
                "/nope<script>": "application/json",
                "/items.json?status=<script>": "application/json",
            }
            for path, kind in expected.items():
                response = client.get(path)
                assert response.headers["content-type"].startswith(kind), path
                assert response.headers["x-content-type-options"] == "nosniff"
                assert "default-src 'none'" in response.headers["content-security-policy"]
            assert_inert_html(client.get("/report.html").text)
            items = client.get("/items.json?limit=10").json()
            assert TITLE in {i["title"] for i in items}
            for path in ("/feed.atom",):
                ET.fromstring(client.get(path).content)
    finally:
        server.shutdown()
        server.server_close()
        server_thread.join(timeout=10)


def hostile_outcome() -> Outcome:
    judgement = Judgement(
        label=Label.REVIEW,
        score=0.5,
        story="russia-dprk <b>",
        evidence=(
            Evidence(term="<img src=x onerror=1> | [t](javascript:x)", group="a|b", where="title"),
        ),
        reasons=("[bold]why[/] <script>alert(1)</script>", "- - nested? 1. no"),
    )
    return Outcome(
        url=JS_URL,
        canonical_url=URL_WITH_QUOTES,
        status=Status.DUPLICATE,
        title=TITLE,
        site=SITE,
        language="fr",
        score=0.5,
        reason=REASON,
        duplicate_of=JS_URL,
        article_id=1,
        judgement=judgement,
        dedup=DedupDecision(original_id=2, original_url=JS_URL, method="near_body", score=90.0),
    )


def test_prefect_artifacts_are_inert() -> None:
    outcome = hostile_outcome()
    assert_markdown_inert(verdict_markdown(outcome))
    filed = Outcome(
        url=JS_URL, canonical_url=JS_URL, status=Status.FILED, title=TITLE, article_id=3
    )
    assert filed_rows([filed])[0]["link"] == ""  # table artifact: no javascript: link


def test_poll_markdown_code_block_cannot_be_closed_by_a_reason() -> None:
    from monitor.pipeline import FeedResult, PollSummary

    feed = FeedResult(
        feed_url="https://evil.example/rss", feed_name=TITLE, outcome="error", reason=REASON
    )
    summary = PollSummary(
        started_at=NOW,
        finished_at=NOW,
        feeds=(feed,),
        failures_by_reason=((REASON, 1),),
        feed_counts=(("error", 1),),
    )
    text = poll_markdown(summary, "run <b>1</b>", report=None)
    assert_markdown_inert(text)
    html = MarkdownIt("commonmark", {"html": True}).render(text)
    code = lxml.html.fragment_fromstring(html, create_parent="div").xpath("//pre/code")
    assert len(code) == 1 and TITLE in code[0].text_content()  # the whole summary stays code


def test_terminal_output_shows_markup_literally(
    cli: Callable[..., str], hostile: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    invoke = cli
    out = invoke("items", "--status", "filed,duplicate,review,failed")
    assert "[bold red]boom[/]" in out and "<script>alert(1)</script>" in out
    out = invoke("review")
    assert "[bold red]boom[/]" in out and "[bold]why[/]" in out
    out = invoke("feeds")
    assert "[red]boom[/]" in out
    out = invoke("dedup", "explain", "https://copy.example/a")
    assert "[bold red]boom[/]" in out  # the original's title

    _print_outcome(hostile_outcome())
    printed = capsys.readouterr().out
    assert "[bold red]boom[/]" in printed and "[bold]why[/]" in printed


def test_alert_bodies_are_inert_in_every_format(httpserver: HTTPServer) -> None:
    second = Outcome(
        url=URL_WITH_QUOTES,
        canonical_url=URL_WITH_QUOTES,
        status=Status.FILED,
        title=TITLE,
        site=SITE,
    )
    items = [hostile_outcome(), second]
    message = build_message(items, run_name="run")
    assert_inert_html("<html><body>" + render_body(message, "html") + "</body></html>")
    assert_markdown_inert(render_body(message, "markdown"))
    assert render_body(message, "text") == message.body

    received: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        received.append(json.loads(request.get_data()))
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/hook").respond_with_handler(handler)
    base = httpserver.url_for("/hook").replace("http://", "json://")
    for fmt in ("html", "markdown", "text"):
        result = send_apprise(f"{base}?format={fmt}", message, timeout_s=5)
        assert result.ok, result
    html_body, md_body, text_body = (r["message"] for r in received)
    assert_inert_html("<html><body>" + html_body + "</body></html>")
    assert_markdown_inert(md_body)
    assert TITLE.split(" ")[0] in text_body  # plain text keeps the characters
    assert isinstance(message, AlertMessage)

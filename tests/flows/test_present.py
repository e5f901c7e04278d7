"""What the dashboard and ``newsmon ingest`` show, from hand-built records (no server)."""

from __future__ import annotations

import json
from datetime import timedelta

from flows.present import (
    count_rows,
    feed_rows,
    filed_rows,
    outcome_dict,
    poll_markdown,
    verdict,
    verdict_markdown,
)
from monitor.pipeline import FeedResult, summarize
from monitor.records import (
    DedupDecision,
    Evidence,
    FeedEntry,
    Judgement,
    Label,
    Outcome,
    Status,
    utcnow,
)

JUDGEMENT = Judgement(
    label=Label.ON_STORY,
    score=0.91,
    story="russia-dprk",
    evidence=(
        Evidence("Poutine", "side_a", "title", 2),
        Evidence("Pyongyang", "side_b", "lead", 3),
        Evidence("a | pipe", "topic", "body", 1),
    ),
    reasons=("both sides in the title",),
)


def _outcome(status: Status, n: int = 0, **kw: object) -> Outcome:
    base: dict[str, object] = {
        "url": f"https://news.example/a{n}",
        "canonical_url": f"https://news.example/a{n}",
        "status": status,
        "title": f"Title {n}",
        "site": "news.example",
        "score": 0.5 + n / 100,
        "article_id": n + 1,
    }
    base.update(kw)
    return Outcome(**base)  # type: ignore[arg-type]


def _summary() -> object:
    feeds = [
        FeedResult(
            "https://a.example/rss",
            "A",
            "ok",
            200,
            "",
            4,
            (FeedEntry("https://a.example/rss", "https://news.example/a1"),),
        ),
        FeedResult("https://b.example/rss", "B", "error", None, "connect_error", 0, ()),
    ]
    outcomes = [
        _outcome(Status.FILED, 1),
        _outcome(Status.FILED, 2),
        _outcome(Status.DUPLICATE, 3, duplicate_of="https://news.example/a1"),
        _outcome(Status.OFF_STORY, 4),
        _outcome(Status.FAILED, 5, reason="timeout: read timed out", score=None),
        _outcome(Status.FAILED, 6, reason="http_404", score=None),
        _outcome(Status.FAILED, 7, reason="timeout: connect", score=None),
    ]
    return summarize(feeds, outcomes, utcnow() - timedelta(seconds=3))


def test_verdicts_read_as_the_issue_words_them() -> None:
    assert verdict(_outcome(Status.FILED)) == "filed"
    assert verdict(_outcome(Status.OFF_STORY)) == "off-story"
    assert verdict(_outcome(Status.REVIEW)) == "review"
    dup = _outcome(Status.DUPLICATE, duplicate_of="https://orig.example/x")
    assert verdict(dup) == "duplicate of https://orig.example/x"
    assert verdict(_outcome(Status.FAILED, reason="http_404")) == "failed: http_404"


def test_poll_tables_count_every_outcome_and_split_failures_by_reason() -> None:
    summary = _summary()
    filed = filed_rows(summary.outcomes)  # type: ignore[attr-defined]
    assert [r["link"] for r in filed] == ["https://news.example/a1", "https://news.example/a2"]
    assert set(filed[0]) == {"title", "site", "link", "score"}

    counts = {r["outcome"]: r["count"] for r in count_rows(summary)}  # type: ignore[arg-type]
    assert counts["new (filed)"] == 2
    assert counts["duplicate"] == 1
    assert counts["off-story"] == 1
    assert counts["review"] == 0  # zeros show too: the table keeps its shape run to run
    assert counts["failed"] == 3
    assert counts["failed: timeout"] == 2
    assert counts["failed: http_404"] == 1
    assert counts["feeds polled"] == 2 and counts["feeds failed"] == 1
    assert "filed by another run" not in counts

    feeds = feed_rows(summary.feeds)  # type: ignore[attr-defined]
    assert feeds[0]["new"] == 1 and feeds[0]["http_status"] == 200
    assert feeds[1] == {
        "feed": "B",
        "url": "https://b.example/rss",
        "outcome": "error",
        "http_status": None,
        "entries": 0,
        "new": 0,
        "reason": "connect_error",
    }
    json.dumps([filed, feeds])  # table artifacts must be JSON


def test_poll_markdown_has_the_summary_and_the_report() -> None:
    text = poll_markdown(_summary(), "poll 2 feeds: A, B", "# newsmon report\n")  # type: ignore[arg-type]
    assert text.startswith("# poll 2 feeds: A, B\n")
    assert "Polled 2 feed(s)" in text and "# newsmon report" in text


def test_verdict_markdown_shows_evidence_and_dedup_figures() -> None:
    outcome = _outcome(
        Status.DUPLICATE,
        judgement=JUDGEMENT,
        duplicate_of="https://orig.example/x",
        dedup=DedupDecision(
            original_id=7,
            original_url="https://orig.example/x",
            method="near_body",
            score=93.5,
            threshold=85.0,
            candidates=3,
        ),
    )
    text = verdict_markdown(outcome)
    assert "**Verdict: duplicate of https://orig.example/x**" in text
    assert "| Poutine | side\\_a | title | 2 |" in text  # Markdown-escaped
    assert "a \\| pipe" in text  # a pipe in a term cannot break the table
    assert "Duplicate of https://orig.example/x." in text
    assert "Method: near\\_body; score: 93.50; threshold: 85.00." in text
    assert "both sides in the title" in text

    dry = verdict_markdown(_outcome(Status.FILED, dry_run=True, judgement=JUDGEMENT))
    assert "**Verdict: filed** (dry run)" in dry
    assert "Duplicate check" not in dry


def test_failed_verdict_without_judgement_still_renders() -> None:
    text = verdict_markdown(_outcome(Status.FAILED, reason="http_404: not found", score=None))
    assert "**Verdict: failed: http\\_404: not found**" in text  # Markdown-escaped
    assert "Relevance" not in text


def test_outcome_dict_is_json_ready() -> None:
    outcome = _outcome(
        Status.FILED,
        judgement=JUDGEMENT,
        dedup=DedupDecision(original_id=None, method="none", candidates=2),
    )
    data = json.loads(json.dumps(outcome_dict(outcome)))
    assert data["status"] == "filed" and data["verdict"] == "filed"
    assert data["evidence"]["matches"][0] == {
        "term": "Poutine",
        "group": "side_a",
        "where": "title",
        "count": 2,
    }
    assert data["dedup"]["original_id"] is None and data["dedup"]["candidates"] == 2


def test_an_item_another_run_filed_first_is_not_counted_or_listed_twice() -> None:
    """Two workers polling the same feed: the loser's outcome is ``filed`` without a row."""
    summary = summarize(
        [],
        [
            _outcome(Status.FILED, 1),
            _outcome(Status.FILED, 2, article_id=None, reason="already filed by another run"),
            _outcome(Status.FILED, 3, article_id=None, dry_run=True),
        ],
        utcnow(),
    )
    assert [r["link"] for r in filed_rows(summary.outcomes)] == [
        "https://news.example/a1",
        "https://news.example/a3",
    ]
    counts = {r["outcome"]: r["count"] for r in count_rows(summary)}
    assert counts["new (filed)"] == 2 and counts["filed by another run"] == 1

"""How a run's results read on the dashboard and in the terminal.

Pure functions from pipeline records to table rows, Markdown and JSON-ready
dicts: the artifact publisher and the CLI share them, so what the dashboard
shows and what ``newsmon ingest`` prints cannot drift apart, and tests check
them without a Prefect server.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from monitor.markup import http_href, md_code_block, md_text
from monitor.records import Outcome, Status

if TYPE_CHECKING:
    from monitor.pipeline import FeedResult, PollSummary

#: Dashboard wording of each status (the issue speaks of "new" and "off-story").
STATUS_LABELS: dict[Status, str] = {
    Status.FILED: "new (filed)",
    Status.DUPLICATE: "duplicate",
    Status.OFF_STORY: "off-story",
    Status.REVIEW: "review",
    Status.FAILED: "failed",
}


def _md(text: object) -> str:
    """Stored text as Markdown that renders as its characters (the Prefect UI renders
    artifacts): no pipe or newline breaks a table row, no ``<img>``, link or
    image can be injected by a page's title."""
    return md_text(text)


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def verdict(outcome: Outcome) -> str:
    """One line: ``filed``, ``duplicate of <url>``, ``off-story``, ``failed: <reason>``."""
    if outcome.status is Status.DUPLICATE:
        return f"duplicate of {outcome.duplicate_of or '(unknown original)'}"
    if outcome.status is Status.FAILED:
        return f"failed: {outcome.reason or 'unknown reason'}"
    if outcome.status is Status.OFF_STORY:
        return "off-story"
    return outcome.status.value


def filed_by_this_run(outcome: Outcome) -> bool:
    """Filed, and by *this* run: a run that loses the race for a URL to a concurrent run
    (another worker) gets a ``filed`` outcome without a row id. Counting it again would
    show the item twice on the dashboard and alert twice."""
    return outcome.status is Status.FILED and (outcome.dry_run or outcome.article_id is not None)


def filed_rows(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """The items filed by a run: the table an editor scans first."""
    return [
        {
            "title": o.title or "(no title)",
            "site": o.site,
            # table cells are data, but a link column must never carry a javascript: URL
            "link": http_href(o.canonical_url) or http_href(o.url) or "",
            "score": None if o.score is None else round(o.score, 3),
        }
        for o in outcomes
        if filed_by_this_run(o)
    ]


def count_rows(summary: PollSummary) -> list[dict[str, Any]]:
    """Counts by outcome, failures split by reason; every status shows, zeros included."""
    counts = Counter(o.status for o in summary.outcomes)
    new = sum(1 for o in summary.outcomes if filed_by_this_run(o))
    rows: list[dict[str, Any]] = [{"outcome": STATUS_LABELS[Status.FILED], "count": new}]
    if counts[Status.FILED] > new:
        rows.append({"outcome": "filed by another run", "count": counts[Status.FILED] - new})
    for status in (Status.DUPLICATE, Status.OFF_STORY, Status.REVIEW):
        rows.append({"outcome": STATUS_LABELS[status], "count": counts[status]})
    rows.append({"outcome": "failed", "count": counts[Status.FAILED]})
    rows.extend(
        {"outcome": f"failed: {reason or 'unknown'}", "count": n}
        for reason, n in summary.failures_by_reason
    )
    feeds_failed = sum(1 for f in summary.feeds if f.outcome == "error")
    rows.append({"outcome": "feeds polled", "count": len(summary.feeds)})
    rows.append({"outcome": "feeds failed", "count": feeds_failed})
    return rows


def feed_rows(feeds: Sequence[FeedResult]) -> list[dict[str, Any]]:
    """Per-feed status: which sources answered, which failed and why."""
    return [
        {
            "feed": f.feed_name or f.feed_url,
            "url": f.feed_url,
            "outcome": f.outcome,
            "http_status": f.http_status,
            "entries": f.total_entries,
            "new": f.new_count,
            "reason": f.reason,
        }
        for f in feeds
    ]


def poll_markdown(summary: PollSummary, run_name: str, report: str | None = None) -> str:
    """The run's own page: the console summary, then the story report if there is one."""
    seconds = (summary.finished_at - summary.started_at).total_seconds()
    lines = [f"# {_md(run_name)}", "", f"Finished in {seconds:.1f} s.", ""]
    lines += [md_code_block(summary.as_text()), ""]  # feed names and reasons stay code
    if report:
        lines += ["---", "", report]
    return "\n".join(lines) + "\n"


def evidence_rows(outcome: Outcome) -> list[dict[str, Any]]:
    if outcome.judgement is None:
        return []
    return [e.as_dict() for e in outcome.judgement.evidence]


def verdict_markdown(outcome: Outcome) -> str:
    """An ``ingest-url`` run's verdict with the evidence and dedup figures behind it."""
    title = outcome.title or outcome.canonical_url or outcome.url
    lines = [f"# {_md(title)}", ""]
    lines.append(
        f"**Verdict: {_md(verdict(outcome))}**" + (" (dry run)" if outcome.dry_run else "")
    )
    lines += ["", "| | |", "|---|---|"]
    lines.append(f"| URL | {_md(outcome.url)} |")
    if outcome.canonical_url and outcome.canonical_url != outcome.url:
        lines.append(f"| canonical URL | {_md(outcome.canonical_url)} |")
    lines.append(f"| site | {_md(outcome.site)} |")
    lines.append(f"| language | {_md(outcome.language or '')} |")
    lines.append(f"| relevance score | {_score(outcome.score)} |")
    if outcome.article_id is not None:
        lines.append(f"| article id | {outcome.article_id} |")
    if outcome.reason:
        lines.append(f"| reason | {_md(outcome.reason)} |")
    judgement = outcome.judgement
    if judgement is not None:
        lines += ["", f"## Relevance: {judgement.label.value} ({judgement.score:.2f})", ""]
        lines.append(f"Story: {_md(judgement.story)}")
        if judgement.reasons:
            lines += [""] + [f"- {_md(r)}" for r in judgement.reasons]
        if judgement.evidence:
            lines += ["", "| term | group | where | count |", "|---|---|---|---:|"]
            lines += [
                f"| {_md(e.term)} | {_md(e.group)} | {_md(e.where)} | {e.count} |"
                for e in judgement.evidence
            ]
        else:
            lines += ["", "No story terms matched."]
    dedup = outcome.dedup
    if dedup is not None:
        lines += ["", "## Duplicate check", ""]
        if dedup.is_duplicate:
            lines.append(f"Duplicate of {_md(dedup.original_url or dedup.original_id)}.")
        else:
            lines.append(f"No earlier copy found among {dedup.candidates} candidate(s).")
        lines.append(
            f"Method: {_md(dedup.method)}; score: {_score(dedup.score)}; "
            f"threshold: {_score(dedup.threshold)}."
        )
    return "\n".join(lines) + "\n"


def outcome_dict(outcome: Outcome) -> dict[str, Any]:
    """JSON-ready form of an outcome (``newsmon ingest --json``)."""
    dedup = outcome.dedup
    return {
        "url": outcome.url,
        "canonical_url": outcome.canonical_url,
        "status": outcome.status.value,
        "verdict": verdict(outcome),
        "title": outcome.title,
        "site": outcome.site,
        "language": outcome.language,
        "score": outcome.score,
        "reason": outcome.reason,
        "duplicate_of": outcome.duplicate_of,
        "article_id": outcome.article_id,
        "dry_run": outcome.dry_run,
        "evidence": outcome.judgement.evidence_json() if outcome.judgement else None,
        "dedup": None
        if dedup is None
        else {
            "original_id": dedup.original_id,
            "original_url": dedup.original_url,
            "method": dedup.method,
            "score": dedup.score,
            "threshold": dedup.threshold,
            "candidates": dedup.candidates,
        },
    }

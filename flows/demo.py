"""``newsmon demo``: the whole pipeline on a local site, no internet needed.

Serves the bundled demo site (the five seeds as pages, reposts of them, a few
off-story pages, two RSS feeds) on 127.0.0.1, then runs the real poll-feeds
flow twice into a fresh demo database: first the originals, then the reposts.
It prints what was filed, the reposts caught and why, and writes the report.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from monitor.cli.common import console, fail


def demo(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Where the demo database and report go (default data/demo)."
        ),
    ] = None,
) -> None:
    """Serve a local demo site built from the seeds and poll it for real.

    Uses its own SQLite database (DATA_DIR/newsmon.db, recreated each time) so
    your own database is not touched. Without PREFECT_API_URL the flows run on
    Prefect's local ephemeral API.

    Examples:
      newsmon demo
      newsmon demo --data-dir /tmp/newsmon-demo
      newsmon items --config data/demo/feeds.yaml
    """
    from monitor.demo import serve_demo

    base = (data_dir or Path(os.environ.get("MONITOR_DATA_DIR", "data")) / "demo").resolve()
    base.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (base / f"newsmon.db{suffix}").unlink(missing_ok=True)
    with serve_demo() as site:
        config = base / "feeds.yaml"
        config.write_text(
            f"database_url: sqlite:///{base / 'newsmon.db'}\n"
            f"data_dir: {base}\n"
            # the demo site is on 127.0.0.1: this run only may fetch from private networks
            "fetch: {host_interval_s: 0, allow_private_networks: true}\n"
            "feeds:\n"
            f"  - {{url: '{site.feed_url('originals')}', name: 'demo originals', language: fr}}\n"
            f"  - {{url: '{site.feed_url('reposts')}', name: 'demo reposts', language: fr}}\n",
            encoding="utf-8",
        )
        os.environ["MONITOR_CONFIG"] = str(config)
        os.environ.pop("MONITOR_DATABASE_URL", None)
        from flows.cli import foreground
        from flows.poll import poll_feeds

        console.print(f"[bold]Demo site[/bold] {site.base}/ ({len(site.pages)} pages, 2 feeds)")
        try:
            with foreground():
                for feed in ("originals", "reposts"):
                    console.rule(f"poll-feeds: {feed}.xml")
                    summary = poll_feeds(feeds=[site.feed_url(feed)])
                    console.print(summary.as_text(), highlight=False, soft_wrap=True)
        except Exception as exc:
            fail(f"demo poll failed: {exc}".splitlines()[0])
    _show(config, base)


def _show(config: Path, base: Path) -> None:
    from monitor.cli.common import db_session
    from monitor.report import build_report, render_html
    from monitor.views import ItemFilter, list_items

    with db_session(config) as (_settings, session):
        items = list_items(session, ItemFilter(limit=100))
        table = Table(title="What was filed")
        for col in ("status", "score", "title", "why"):
            table.add_column(col, overflow="fold")
        for item in items:
            why = ""
            if item.status == "duplicate":
                why = f"repost of {item.duplicate_of} ({item.dup_method} {item.dup_score or 0:.1f})"
            score = "" if item.relevance is None else f"{item.relevance:.1f}"
            table.add_row(item.status, score, item.title[:70], why)
        console.print(table)
        report = base / "report.html"
        report.write_text(render_html(build_report(session, since=None)), encoding="utf-8")
    console.print(f"Report: {report}")
    console.print(
        f"Browse: newsmon items --config {config}   ·   why a repost: "
        f"newsmon dedup explain URL --config {config}"
    )

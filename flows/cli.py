"""The ``newsmon`` console script: read-only commands plus the pipeline commands.

:func:`monitor.cli.build_app` provides the commands that only read the database;
this module adds ``poll``, ``ingest`` and ``serve``, which run the Prefect flows.
Prefect is imported inside those command functions only, so ``newsmon items``
never pays its import time (about 1.5 s here).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from monitor.cli import build_app
from monitor.cli.common import (
    ConfigOption,
    JsonOption,
    checked_url,
    console,
    fail,
    get_settings,
    print_json,
)
from monitor.config import Settings
from monitor.lifetime import loaded_for_good
from monitor.records import Outcome, Status

if TYPE_CHECKING:
    from monitor.pipeline import PollSummary

#: Set before Prefect is imported: no usage analytics leave the machine.
PRIVACY_DEFAULTS = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}

#: Without ``PREFECT_API_URL`` a run starts Prefect's temporary server, which gives
#: up after 20 s by default; on a loaded two-core machine it took longer than that
#: (seen here: the README's first command failed with "Timed out while attempting
#: to connect to ephemeral Prefect API server").
STARTUP_DEFAULTS = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}


def _settings_for_flows(config: Path | None) -> Settings:
    """Validate the config and the story files now (one-line error, exit 2), then
    hand them to the flow run.

    Everything a person typed is checked before Prefect is even imported: a
    typo must cost milliseconds and leave no flow run, no database and no
    Prefect server behind. Flows load their settings themselves (a served run
    has no CLI), from ``MONITOR_CONFIG``: exporting it makes an in-process run
    read the same file.
    """
    settings = get_settings(config, stories=True)
    os.environ["MONITOR_CONFIG"] = str(settings.config_path.resolve())
    return settings


def _reachable(settings: Settings, url: str, what: str) -> None:
    """Refuse, before any flow starts, a URL the fetcher would refuse anyway: an IP
    literal or local-only name inside the private network (names that only resolve
    there are caught at connect time, and recorded as ``blocked_address``)."""
    if settings.fetch.allow_private_networks:
        return
    from urllib.parse import urlsplit

    from monitor.errors import FetchError
    from monitor.netguard import check_url_host

    try:
        check_url_host(urlsplit(url).hostname or "", url)
    except FetchError as exc:
        fail(f"{what}: {exc}", 2)


@contextmanager
def foreground() -> Iterator[None]:
    """Settings for a flow run in this process, watched by the person who started it.

    Prefect's flow-run heartbeat lets the server mark a run whose process died
    as crashed; here the person sees the process die, and the heartbeat thread
    costs about 0.8 s at the end of every run (it sleeps in 1 s steps before it
    notices the run is over). Served and worker runs keep it. An explicit
    ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` is respected.

    The current settings are copied with that one field changed, not rebuilt:
    ``temporary_settings`` validates a whole new Settings from every source,
    0.15 s of CPU at the start of every foreground run.
    """
    if "PREFECT_FLOWS_HEARTBEAT_FREQUENCY" in os.environ:
        yield
        return
    from prefect.context import SettingsContext, get_settings_context

    context = get_settings_context()
    current = context.settings
    flows = current.flows.model_copy(update={"heartbeat_frequency": None})
    with SettingsContext(
        profile=context.profile, settings=current.model_copy(update={"flows": flows})
    ):
        yield


def poll(
    feed: Annotated[
        list[str] | None,
        typer.Option(
            "--feed",
            "-f",
            help="Poll just this feed URL now, whatever its schedule (repeatable; "
            "not saved to the config).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Run the poll-feeds flow once and print its summary.

    Polls the feeds that are due, files what is new and on the story, and
    publishes the run's tables to the Prefect dashboard. Without PREFECT_API_URL
    the run uses a temporary local Prefect API. Feed failures are reported, not
    fatal: the exit code is 0 unless newsmon itself failed.

    Examples:
      newsmon poll
      newsmon poll --feed https://www.rfi.fr/fr/asie-pacifique/rss
      PREFECT_API_URL=http://127.0.0.1:4200/api newsmon poll --config config/feeds.yaml
    """
    feeds = [checked_url(url, "--feed") for url in feed or []]
    settings = _settings_for_flows(config)
    for url in feeds:
        _reachable(settings, url, "--feed")
    try:
        summary = poll_in_foreground(settings, feeds)
    except Exception as exc:
        fail(f"poll-feeds failed: {exc}".splitlines()[0])
    console.print(summary.as_text(), highlight=False, soft_wrap=True, markup=False)


def poll_in_foreground(settings: Settings, feeds: list[str]) -> PollSummary:
    """``newsmon poll``: the poll-feeds flow in this process.

    The extraction workers start before Prefect is even imported: importing it
    and the flows takes about 1 s of one core, and its first flow run in a
    process another 0.4-0.8 s to reach the flow's body (its client, its log
    worker's event loop, the run's creation); the workers' forkserver loads in
    less than that, in its own process, on the other core. A served run starts them at the
    top of the flow instead (:func:`monitor.pipeline.expect_pages`).
    """
    from monitor import pipeline

    pipeline.expect_pages(settings, only=feeds)  # before importing Prefect (~1 s)
    # What the imports build lives as long as the process: loaded with the collector
    # off (0.15 s of CPU less), then frozen, so that the run's full collections no
    # longer walk it (0.3-0.4 s of CPU on a 905-page poll). See monitor.lifetime.
    with loaded_for_good():
        from flows.poll import poll_feeds
    with foreground():
        return poll_feeds(feeds=feeds or None)


def _print_outcome(outcome: Outcome) -> None:
    """The verdict for a person; every value from the page is escaped (rich reads
    ``[bold]`` in a title as markup)."""
    from flows.present import evidence_rows, verdict

    style = {Status.FILED: "green", Status.FAILED: "red", Status.DUPLICATE: "blue"}.get(
        outcome.status, "yellow"
    )
    dry = " [dim](dry run: nothing written)[/dim]" if outcome.dry_run else ""
    shown = escape(verdict(outcome))
    console.print(f"[bold {style}]{shown}[/bold {style}]{dry}", highlight=False)
    console.print(f"title: {escape(outcome.title or '(none)')}", highlight=False, soft_wrap=True)
    console.print(f"url:   {escape(outcome.canonical_url or outcome.url)}", highlight=False)
    if outcome.site or outcome.language:
        console.print(
            f"site:  {escape(outcome.site)}  language: {escape(outcome.language or '?')}",
            highlight=False,
        )
    if outcome.score is not None:
        console.print(f"score: {outcome.score:.2f}")
    if outcome.reason and outcome.status is not Status.FAILED:
        console.print(f"note:  {escape(outcome.reason)}", highlight=False)
    rows = evidence_rows(outcome)
    if rows:
        table = Table(title="Evidence")
        for col in ("term", "group", "where", "count"):
            table.add_column(col, justify="right" if col == "count" else "left")
        for row in rows:
            table.add_row(*(Text(str(row[k])) for k in ("term", "group", "where", "count")))
        console.print(table)
    if outcome.judgement is not None and outcome.judgement.reasons:
        for reason in outcome.judgement.reasons:
            console.print(f"  - {escape(reason)}", highlight=False)
    dedup = outcome.dedup
    if dedup is not None:
        score = "" if dedup.score is None else f" score {dedup.score:.2f}"
        limit = "" if dedup.threshold is None else f" (threshold {dedup.threshold:.2f})"
        target = f" of {dedup.original_url or dedup.original_id}" if dedup.is_duplicate else ""
        kind = "duplicate" if dedup.is_duplicate else "no duplicate"
        console.print(
            escape(
                f"dedup: {kind}{target}: {dedup.method}{score}{limit}, "
                f"{dedup.candidates} candidate(s)"
            ),
            highlight=False,
        )


def ingest(
    url: Annotated[str, typer.Argument(help="The page to process.", show_default=False)],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Decide but write nothing (runs without Prefect).")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Process again even if the URL is already stored.")
    ] = False,
    json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Run one URL through the pipeline (the ingest-url flow) and show its verdict.

    Prints the verdict (filed, duplicate of X, off-story, review, failed), the
    relevance score with its evidence table, and the duplicate check. Exit code
    1 when the page could not be processed (verdict failed), else 0.

    Examples:
      newsmon ingest https://example.org/2024/06/19/poutine-pyongyang
      newsmon ingest https://example.org/article --dry-run --json
      newsmon ingest https://example.org/article --force
    """
    url = checked_url(url, "URL")
    settings = _settings_for_flows(config)
    _reachable(settings, url, "URL")
    try:
        if dry_run:  # nothing to record: skip Prefect and its start-up time
            from monitor import pipeline

            outcome = pipeline.ingest_url(settings, url, dry_run=True, force=force)
        else:
            from flows.ingest import ingest_url

            with foreground():
                outcome = ingest_url(url=url, dry_run=False, force=force)
    except Exception as exc:
        fail(f"ingest-url failed: {exc}".splitlines()[0])
    if json:
        from flows.present import outcome_dict

        print_json(outcome_dict(outcome))
    else:
        _print_outcome(outcome)
    if outcome.status is Status.FAILED:
        raise typer.Exit(1)


def serve(
    config: ConfigOption = None,
    no_feed_server: Annotated[
        bool,
        typer.Option("--no-feed-server", help="Do not serve the Atom feed of filed items."),
    ] = False,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Feed server address (default: serve.host from the config)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=1,
            max=65535,
            help="Feed server port (default: serve.port from the config).",
        ),
    ] = None,
) -> None:
    """Serve the poll-feeds (scheduled) and ingest-url (on demand) deployments.

    Needs a Prefect server: start one with `prefect server start` and set
    PREFECT_API_URL=http://127.0.0.1:4200/api. poll-feeds runs every
    poll.schedule_minutes; ingest-url runs from the dashboard's "Run" form or
    from the command line. At most serve.run_limit runs execute at once. Also
    serves the Atom feed of filed items on serve.host:serve.port.

    Examples:
      newsmon serve
      newsmon serve --config /etc/newsmon/feeds.yaml --no-feed-server
      newsmon serve --host 0.0.0.0 --port 8765
      prefect deployment run 'ingest-url/newsmon' --param url=https://example.org/a
      prefect deployment run 'poll-feeds/newsmon'
    """
    settings = _settings_for_flows(config)
    if host is not None or port is not None:
        update = {"host": host or settings.serve.host, "port": port or settings.serve.port}
        settings = settings.model_copy(update={"serve": settings.serve.model_copy(update=update)})
    from flows.serve import serve as serve_deployments

    serve_deployments(settings, feed_server=not no_feed_server)


def register(app: typer.Typer) -> None:
    from flows.demo import demo

    app.command("poll")(poll)
    app.command("ingest")(ingest)
    app.command("serve")(serve)
    app.command("demo")(demo)


def make_app() -> typer.Typer:
    app = build_app()
    register(app)
    return app


def main() -> None:
    for name, value in {**PRIVACY_DEFAULTS, **STARTUP_DEFAULTS}.items():
        os.environ.setdefault(name, value)
    make_app()()

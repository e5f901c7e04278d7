"""Outputs for people: ``items`` (browse), ``export`` (jsonl/csv/atom), ``report`` (HTML).

All three are read-only and import only the query and writer modules, so they
answer at once even on a machine where Prefect is installed. Filters are the
same for ``items`` and ``export``, so what a person sees in the table is what
the export writes.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.markup import escape
from rich.table import Table

from monitor.cli.common import (
    ConfigOption,
    JsonOption,
    console,
    db_session,
    err_console,
    fail,
    print_json,
)
from monitor.errors import MonitorError
from monitor.views import ItemFilter, ItemView

STATUS_STYLE = {
    "filed": "green",
    "duplicate": "blue",
    "off_story": "dim",
    "review": "yellow",
    "failed": "red",
}

StatusOption = Annotated[
    list[str] | None,
    typer.Option(
        "--status",
        "-s",
        help="filed, duplicate, off_story, review, failed (repeat or comma-separate).",
        show_default=False,
    ),
]
LanguageOption = Annotated[
    str | None, typer.Option("--language", "-l", help="Language code, e.g. fr.")
]
SiteOption = Annotated[str | None, typer.Option("--site", help="Site host, with or without www.")]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="First seen since: a date (2024-05-01), an ISO datetime, or 7d / 12h / 30m.",
    ),
]
SearchOption = Annotated[
    str | None,
    typer.Option("--search", "-q", help="Title or text contains (case-insensitive)."),
]


def register(app: typer.Typer) -> None:
    app.command("items")(items)
    app.command("export")(export)
    app.command("report")(report)


def build_filter(
    status: list[str] | None,
    language: str | None,
    site: str | None,
    since: str | None,
    search: str | None,
    limit: int | None,
    *,
    default_statuses: tuple[str, ...] = (),
) -> ItemFilter:
    from monitor.views import parse_since, parse_statuses

    try:
        statuses = parse_statuses(status or []) or default_statuses
        when = parse_since(since) if since else None
    except MonitorError as exc:
        fail(str(exc), 2)
    if limit is not None and limit < 1:
        fail("--limit: expected a number >= 1", 2)
    return ItemFilter(
        statuses=statuses,
        language=language,
        site=site,
        since=when,
        search=search,
        limit=limit,
    )


def _note(item: ItemView) -> str:
    """Why a row is not simply filed: the original it copies, or why it failed."""
    if item.duplicate_of:
        from monitor.report import format_similarity

        original = item.duplicate_of.split("://", 1)[-1]
        return f"{format_similarity(item.dup_score, item.dup_method)} copy of {original}"
    return item.fail_reason or ""


def items(
    config: ConfigOption = None,
    status: StatusOption = None,
    language: LanguageOption = None,
    site: SiteOption = None,
    since: SinceOption = None,
    search: SearchOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many rows.")] = 50,
    json: JsonOption = False,
) -> None:
    """List stored items, newest first, with filters.

    Examples:
      newsmon items
      newsmon items --status filed --language fr --since 7d
      newsmon items --search "Pyongyang" --json
    """
    from monitor.views import item_to_dict, list_items

    flt = build_filter(status, language, site, since, search, limit)
    with db_session(config) as (_settings, session):
        rows = list_items(session, flt)
    if json:
        print_json([item_to_dict(i) for i in rows])
        return
    if not rows:
        console.print("[dim]No items match.[/dim]")
        return
    table = Table(title=f"Items ({len(rows)}{'+' if len(rows) == limit else ''})", expand=True)
    table.add_column("id", justify="right", style="dim", no_wrap=True, min_width=2)
    table.add_column("date", no_wrap=True, min_width=10)
    table.add_column("status", no_wrap=True, min_width=9)
    table.add_column("lang", no_wrap=True, min_width=4)
    site_width = 22 if console.width >= 100 else 14
    table.add_column("site", no_wrap=True, max_width=site_width, overflow="ellipsis")
    table.add_column("title", ratio=1, min_width=30, overflow="fold")
    table.add_column("score", justify="right", no_wrap=True, min_width=5)
    # The note only fits a wide terminal; the title must never be squeezed out.
    wide = console.width >= 140
    if wide:
        table.add_column("note", max_width=36, no_wrap=True, overflow="ellipsis", style="dim")
    for item in rows:
        # Cells are rich markup: stored values come from other people's pages, so
        # they are escaped and a title "[bold]x[/]" shows as typed.
        style = STATUS_STYLE.get(item.status, "")
        shown = escape(item.status)
        cells = [
            str(item.id),
            f"{item.date:%Y-%m-%d}",
            f"[{style}]{shown}[/{style}]" if style else shown,
            escape(item.language or ""),
            escape(item.site),
            escape(item.title or item.url),
            "" if item.relevance is None else f"{item.relevance:.2f}",
        ]
        table.add_row(*cells, *([escape(_note(item))] if wide else []))
    console.print(table)


def export(
    config: ConfigOption = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="jsonl, csv or atom.", show_default=True)
    ] = "jsonl",
    status: StatusOption = None,
    language: LanguageOption = None,
    site: SiteOption = None,
    since: SinceOption = None,
    search: SearchOption = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="At most this many.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here (default: stdout).")
    ] = None,
) -> None:
    """Export items as JSON Lines, CSV or an Atom feed (streamed, newest first).

    Atom defaults to the on-story items (status filed), for any feed reader.

    Examples:
      newsmon export --format jsonl > items.jsonl
      newsmon export --format csv --status filed --since 2024-05-01 --out filed.csv
      newsmon export --format atom --out story.atom
    """
    from monitor.export import FORMATS, write_items
    from monitor.views import count_items, iter_items

    fmt = fmt.lower()
    if fmt not in FORMATS:
        fail(f"--format: expected one of {', '.join(FORMATS)} (got {fmt!r})", 2)
    defaults = ("filed",) if fmt == "atom" else ()
    flt = build_filter(status, language, site, since, search, limit, default_statuses=defaults)
    if out is not None and out.is_dir():
        fail(f"--out: {out} is a folder (expected a file name)", 2)
    with db_session(config) as (_settings, session), ExitStack() as stack:
        stream: TextIO
        if out is None:
            stream = sys.stdout
        else:
            newline = "" if fmt == "csv" else None
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
                stream = stack.enter_context(out.open("w", encoding="utf-8", newline=newline))
            except OSError as exc:
                fail(f"--out: cannot write {out}: {exc.strerror or exc}", 2)
        hook = None
        if out is not None and err_console.is_terminal:
            from rich.progress import Progress

            progress = stack.enter_context(Progress(console=err_console, transient=True))
            task = progress.add_task(f"export {fmt}", total=count_items(session, flt))

            def hook(_item: ItemView) -> None:
                progress.advance(task)

        written = write_items(fmt, iter_items(session, flt), stream, on_item=hook)
    if out is not None:
        err_console.print(f"wrote {written} item(s) to {out}", highlight=False, markup=False)


def report(
    config: ConfigOption = None,
    since: SinceOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for report.html (default: <data_dir>/reports)."),
    ] = None,
    by: Annotated[
        str, typer.Option("--by", help="Stack the timeline by language or source.")
    ] = "language",
    json: JsonOption = False,
) -> None:
    """Write a self-contained HTML report of the story and print its path.

    Timeline (reposts collapsed), top sources, reposts with delay and
    similarity, and the filed items.

    Examples:
      newsmon report
      newsmon report --since 7d --by source --out /tmp/newsmon
    """
    from monitor.report import build_report, render_html
    from monitor.views import parse_since

    if by not in ("language", "source"):
        fail(f"--by: expected language or source (got {by!r})", 2)
    try:
        when = parse_since(since) if since else None
    except MonitorError as exc:
        fail(str(exc), 2)
    with db_session(config) as (settings, session), ExitStack() as stack:
        if err_console.is_terminal:  # a spinner: years of items take a few seconds
            stack.enter_context(err_console.status("building the report…"))
        data = build_report(session, since=when, by="language" if by == "language" else "source")
        folder = out or settings.data_dir / "reports"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "report.html"
        path.write_text(render_html(data), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write the report to {folder}: {exc.strerror or exc}")
    if json:
        print_json(
            {
                "path": str(path.resolve()),
                "filed": data.filed_total,
                "reposts": data.reposts_total,
                "status_counts": dict(data.status_counts),
            }
        )
        return
    sys.stdout.write(f"{path.resolve()}\n")

"""``newsmon review``: borderline items, their evidence, and a person's decision.

``newsmon review`` lists items whose relevance was judged ``review`` with the
evidence that put them there; ``newsmon review decide URL --on-story`` (or
``--off-story``) settles one. The decision is kept as an override, so later
runs respect it (see ``monitor.review``).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from monitor.cli.common import (
    ConfigOption,
    JsonOption,
    checked_url,
    console,
    db_session,
    fail,
    print_json,
)
from monitor.errors import MonitorError
from monitor.records import Label
from monitor.relevance import summarize
from monitor.review import ReviewItem, decide, pending

review_app = typer.Typer(  # help: the callback's docstring (with its examples)
    invoke_without_command=True,
    no_args_is_help=False,
)


def register(app: typer.Typer) -> None:
    """Add ``review`` (list) and ``review decide`` to ``app``."""
    app.add_typer(review_app, name="review")


def _summary(item: ReviewItem) -> str:
    if not item.evidence:
        return "(no evidence stored)"
    return summarize(item.evidence)


@review_app.callback(invoke_without_command=True)
def review(
    ctx: typer.Context,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 50,
) -> None:
    """Items whose story relevance a person must confirm: list them with their evidence.

    Examples:
      newsmon review
      newsmon review --json --limit 10
      newsmon review decide https://example.org/a --on-story
    """
    if ctx.invoked_subcommand is not None:
        return
    with db_session(config) as (_settings, session):
        items = pending(session, limit)
    if as_json:
        print_json([{**item.as_dict(), "summary": _summary(item)} for item in items])
        return
    if not items:
        console.print("No item waiting for review.")
        return
    table = Table(title=f"{len(items)} item(s) to review", show_lines=True)
    table.add_column("score", justify="right")
    table.add_column("title / URL")
    table.add_column("site")
    table.add_column("evidence")
    for item in items:
        score = "" if item.score is None else f"{item.score:.2f}"
        table.add_row(
            score,
            f"{escape(item.title)}\n[dim]{escape(item.url)}[/dim]",
            escape(item.site),
            escape(_summary(item)),
        )
    console.print(table)
    console.print("Decide with: newsmon review decide URL --on-story | --off-story [--note TEXT]")


@review_app.command("decide")
def decide_command(
    url: Annotated[str, typer.Argument(help="The article's URL (canonical or as fetched).")],
    on_story: Annotated[bool, typer.Option("--on-story", help="It is about the story.")] = False,
    off_story: Annotated[bool, typer.Option("--off-story", help="It is not.")] = False,
    note: Annotated[str, typer.Option("--note", help="Why, for the record.")] = "",
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a person's decision; later runs keep it.

    Examples:
      newsmon review decide https://example.org/a --on-story
      newsmon review decide https://example.org/b --off-story --note "Putin-Xi summit only"
    """
    if on_story == off_story:
        fail("give exactly one of --on-story or --off-story", 2)
    url = checked_url(url, stored=True)
    label = Label.ON_STORY if on_story else Label.OFF_STORY
    with db_session(config) as (_settings, session):
        try:
            item = decide(session, url, label, note)
        except MonitorError as exc:
            fail(str(exc))
    if as_json:
        print_json(item.as_dict())
        return
    console.print(
        f"{item.url}: {label.value} (status {item.status})", highlight=False, markup=False
    )

"""``newsmon dedup``: why an article is (not) a duplicate, and the operator's say.

``explain`` re-checks the index candidates so an operator sees the figures
behind a decision (method, score against threshold, every candidate
considered); the two ``mark-*`` commands store an override that later runs
respect, and fix the article row at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from monitor.cli.common import (
    ConfigOption,
    JsonOption,
    checked_url,
    console,
    db_session,
    print_json,
)

if TYPE_CHECKING:  # the dedup modules pull in numpy: imported by the commands that need them
    from monitor.dedup_explain import DedupExplanation

UrlArgument = Annotated[str, typer.Argument(help="Canonical URL (or fetched URL) of the article.")]
NoteOption = Annotated[str, typer.Option("--note", help="Why: kept with the override.")]


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _show(ex: DedupExplanation) -> None:
    """The explanation for a person; titles and URLs are printed as data, never as markup."""

    def line(text: str) -> None:
        console.print(text, highlight=False, markup=False, soft_wrap=True)

    console.print(f"[bold]{escape(ex.title or '(no title)')}[/bold]", highlight=False)
    line(f"  url        {ex.canonical_url}")
    line(f"  status     {ex.status}   first seen {ex.first_seen_at}")
    if ex.original_url:
        line(f"  original   {ex.original_url}")
        line(f"             {ex.original_title}")
    line(
        f"  decision   method={ex.method or 'none'} score={_fmt(ex.score)} "
        f"threshold={_fmt(ex.threshold)}"
    )
    if ex.override:
        target = f" -> {ex.override.target_url}" if ex.override.target_url else ""
        note = f" ({ex.override.note})" if ex.override.note else ""
        line(f"  override   {ex.override.value}{target}{note} at {ex.override.created_at}")
    if ex.duplicates:
        line(f"  reposts    {len(ex.duplicates)} filed as duplicates of this article")
        for url in ex.duplicates:
            line(f"             {url}")
    line(f"  candidates {len(ex.candidates)} considered (earlier articles, same index keys)")
    for c in ex.candidates:
        line(
            f"    {c.method:<11} sim={c.similarity:5.1f} contained={c.containment:.2f} "
            f"lead={'yes' if c.lead_aligned else 'no '} title={c.title_similarity:5.1f} "
            f"keys={c.shared_keys:<2} {c.canonical_url}"
        )


def register(app: typer.Typer) -> None:
    """Add the ``dedup`` sub-app to ``app``."""
    sub = typer.Typer(help="Explain and override near-duplicate decisions.", no_args_is_help=True)

    @sub.command("explain")
    def explain_cmd(
        url: UrlArgument, as_json: JsonOption = False, config: ConfigOption = None
    ) -> None:
        """Why URL is (or is not) filed as a duplicate: original, method, score, candidates.

        Examples:
          newsmon dedup explain https://example.org/2024/06/19/poutine-pyongyang
          newsmon dedup explain seed://001_cdb125e7a517a750 --json
        """
        from monitor.dedup_explain import explain

        url = checked_url(url, stored=True)
        with db_session(config) as (settings, session):
            ex = explain(session, url, settings.dedup)
        if as_json:
            print_json(ex.as_dict())
        else:
            _show(ex)

    @sub.command("mark-not-duplicate")
    def not_duplicate_cmd(
        url: UrlArgument, note: NoteOption = "", config: ConfigOption = None
    ) -> None:
        """URL is its own story: file it by its relevance verdict; later runs keep it so.

        Examples:
          newsmon dedup mark-not-duplicate https://example.org/a --note "different interview"
        """
        from monitor.dedup_explain import explain, mark_not_duplicate

        url = checked_url(url, stored=True)
        with db_session(config) as (settings, session):
            mark_not_duplicate(session, url, note=note)
            session.commit()
            ex = explain(session, url, settings.dedup)
        console.print(
            f"{ex.canonical_url}: not a duplicate, status {ex.status}",
            highlight=False,
            markup=False,
        )

    @sub.command("mark-duplicate-of")
    def duplicate_of_cmd(
        url: UrlArgument,
        original_url: Annotated[str, typer.Argument(help="URL of the article it repeats.")],
        note: NoteOption = "",
        config: ConfigOption = None,
    ) -> None:
        """URL repeats ORIGINAL_URL (its root, if that is itself a repost).

        Examples:
          newsmon dedup mark-duplicate-of https://copy.example/a https://example.org/a
        """
        from monitor.dedup_explain import explain, mark_duplicate_of

        url = checked_url(url, stored=True)
        original_url = checked_url(original_url, "ORIGINAL_URL", stored=True)
        with db_session(config) as (settings, session):
            mark_duplicate_of(session, url, original_url, note=note)
            session.commit()
            ex = explain(session, url, settings.dedup)
        console.print(
            f"{ex.canonical_url}: duplicate of {ex.original_url}, status {ex.status}",
            highlight=False,
            markup=False,
        )

    app.add_typer(sub, name="dedup")

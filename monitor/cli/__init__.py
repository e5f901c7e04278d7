"""The ``newsmon`` command line, assembled from one module per concern.

Each module exposes ``register(app)``. The commands that run the pipeline
through Prefect (poll, ingest, serve, demo) are added by ``flows.cli`` so this
package, like the rest of ``monitor``, never imports Prefect.
"""

from __future__ import annotations

import typer

from . import core, dedup, outputs, review


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="newsmon",
        help="Monitor news feeds for a story: poll, extract, de-duplicate, judge, file.",
        no_args_is_help=True,
        rich_markup_mode="rich",
        pretty_exceptions_enable=False,
    )
    for module in (core, outputs, review, dedup):
        module.register(app)
    return app

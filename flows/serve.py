"""``newsmon serve``: both deployments in one long-running process.

``poll-feeds/newsmon`` runs on the interval from the config
(``poll.schedule_minutes``); ``ingest-url/newsmon`` has no schedule and is run
from the dashboard's form or ``prefect deployment run``. Prefect's runner starts
each flow run in a fresh subprocess, so these settings matter here:

* ``limit`` (``serve.run_limit``): Prefect's default is no cap at all, and a
  burst of manual runs would start that many Python processes at once.
* ``query_seconds`` (``serve.query_seconds``, default 1 s): how soon a run
  triggered from the dashboard is noticed; Prefect's default of 10 s alone
  would miss the 5 s trigger-to-verdict goal.
* ``MONITOR_CONFIG``: the subprocesses inherit this process's environment, so
  the config file given to ``serve`` is exported for them to load.
* warm starts (``serve.warm_start``): runs fork from a preloaded process
  instead of importing everything anew, see :func:`enable_warm_starts`.

The optional feed server (``monitor.feedserver``) shares the process on a
daemon thread, so one command gives the operator the dashboard's deployments
and the Atom feed of filed items.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from datetime import timedelta
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING, Any

from monitor.config import Settings

if TYPE_CHECKING:
    from prefect.runner import Runner

log = logging.getLogger(__name__)

DEPLOYMENT_NAME = "newsmon"
TAGS = ["newsmon"]


def make_runner(settings: Settings) -> Runner:
    """A Prefect runner holding both deployments, their flows registered in memory.

    ``Runner.add_flow`` (unlike ``prefect.serve(*deployments)``) keeps the flow
    object, so each run starts by forking/spawning a process that already has the
    flow (see :func:`enable_warm_starts`) instead of a cold ``python -m
    prefect.engine`` that imports it again from the entry point.
    """
    from prefect.runner import Runner
    from prefect.types.entrypoint import EntrypointType

    from flows.ingest import ingest_url
    from flows.poll import poll_feeds

    runner = Runner(
        name=f"newsmon-serve-{os.getpid()}",
        limit=settings.serve.run_limit,
        query_seconds=settings.serve.query_seconds,
        pause_on_shutdown=True,
    )
    runner.add_flow(
        poll_feeds,
        name=DEPLOYMENT_NAME,
        interval=timedelta(minutes=settings.poll.schedule_minutes),
        paused=False,
        tags=TAGS,
        description="Poll the due feeds and file what is new (scheduled).",
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    runner.add_flow(
        ingest_url,
        name=DEPLOYMENT_NAME,
        paused=False,
        tags=TAGS,
        description="Run one URL through the pipeline and show the verdict (by hand).",
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    return runner


def _print_banner(settings: Settings) -> None:
    minutes = settings.poll.schedule_minutes
    print(
        f"Serving poll-feeds/{DEPLOYMENT_NAME} (every {minutes:g} min) and "
        f"ingest-url/{DEPLOYMENT_NAME} (on demand), at most {settings.serve.run_limit} "
        "runs at once.\n"
        f"  prefect deployment run 'ingest-url/{DEPLOYMENT_NAME}' --param url=https://...\n"
        f"  prefect deployment run 'poll-feeds/{DEPLOYMENT_NAME}'\n"
        "Ctrl-C stops serving (and pauses the poll schedule).",
        flush=True,
    )


def start_feed_server(settings: Settings) -> Callable[[], None] | None:
    """Serve the Atom feed of filed items on a thread; returns how to stop it.

    ``None`` when the feed-server module is not installed or the port is taken:
    the deployments matter more than the feed, so serving goes on without it.
    """
    try:
        feedserver = importlib.import_module("monitor.feedserver")
    except ImportError:
        return None
    make_server: Any = getattr(feedserver, "make_server", None)
    if make_server is None:
        return None
    host, port = settings.serve.host, settings.serve.port
    try:
        server = make_server(settings, host, port)
    except OSError as exc:
        log.warning("feed server not started on %s:%s: %s", host, port, exc)
        return None
    thread = threading.Thread(target=server.serve_forever, name="feed-server", daemon=True)
    thread.start()
    print(f"Atom feed of filed items: http://{host}:{port}/feed.atom", flush=True)

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop


class _ForkserverShim:
    """Stands in for the ``multiprocessing`` module inside ``prefect.flow_engine``.

    Prefect asks for the ``spawn`` context to start a served flow run; this hands
    it the ``forkserver`` context instead, every other attribute unchanged.
    """

    def __init__(self, context: BaseContext) -> None:
        self._context = context

    def get_context(self, method: str | None = None) -> BaseContext:
        if method == "spawn":
            return self._context
        return multiprocessing.get_context(method)

    def __getattr__(self, name: str) -> Any:
        return getattr(multiprocessing, name)


def enable_warm_starts() -> bool:
    """Start served flow runs by forking a warm process instead of spawning a cold one.

    The forkserver imports :mod:`flows.warm` (Prefect, the flows, the language
    model) once; each run then starts in a few hundred milliseconds instead of
    about 3 s. The forkserver is single-threaded, so forking it is safe (unlike
    forking this process, which runs Prefect's threads). Prefect offers no
    setting for this, so the switch is made on the one module attribute its
    runner uses; if that attribute is not where it should be (another Prefect
    version), nothing is changed and runs start the normal, slower way.
    """
    try:
        import prefect.flow_engine as engine
    except ImportError:
        return False
    if (
        "forkserver" not in multiprocessing.get_all_start_methods()
        or getattr(engine, "multiprocessing", None) is not multiprocessing
        or not hasattr(engine, "run_flow_in_subprocess")
    ):
        return False
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "flows.warm"])
    engine.multiprocessing = _ForkserverShim(context)  # type: ignore[assignment,attr-defined]
    from multiprocessing import forkserver

    forkserver.ensure_running()  # preload now, not on the first run
    return True


def serve(settings: Settings, *, feed_server: bool = True) -> None:
    """Block serving both deployments until interrupted (Ctrl-C or SIGTERM)."""
    from prefect.exceptions import TerminationSignal

    from monitor import pipeline

    os.environ["MONITOR_CONFIG"] = str(settings.config_path.resolve())
    # Migrate once here: the first scheduled poll and a manual run starting together
    # on a new database would otherwise both try to create the schema.
    pipeline.prepare(settings)
    if settings.serve.warm_start and enable_warm_starts():
        log.info("flow runs fork from a preloaded process (serve.warm_start)")
    runner = make_runner(settings)
    stop = start_feed_server(settings) if feed_server else None
    _print_banner(settings)
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal):
        log.info("newsmon serve stopped")
    finally:
        if stop is not None:
            stop()

"""Per-host concurrency across processes and machines, through Prefect.

Inside one process the library's Fetcher already spaces and caps requests per
host. Once several workers poll at the same time (two flow runs, two machines)
those in-process limits no longer see each other, so feed tasks also take a
slot of a Prefect *global concurrency limit* named after the host: the server
counts slots for every worker, and operators can see and tune the limits in
the dashboard (Concurrency page). Slots are leased, so a crashed worker's slot
frees itself when its lease runs out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import Any

from flows.shared import host_limit_name

log = logging.getLogger(__name__)

_PAGE = 200
_WRITERS = 8  # limits created or resized at once

# Feed tasks of one run queue for a host here first, on a plain semaphore, and ask
# the server only once a slot is free in this process: a refused Prefect acquisition
# is retried after about a second, which made a run's feeds on one host go in
# waves one second apart (measured: 20 feeds of one host took 5.4 s, not 1 s).
_local_slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_local_lock = threading.Lock()


def _local_slot(name: str, slots: int) -> threading.BoundedSemaphore:
    with _local_lock:
        return _local_slots.setdefault((name, slots), threading.BoundedSemaphore(slots))


def ensure_host_limits(hosts: Iterable[str], slots: int) -> set[str]:
    """Create (or resize) one limit per host; returns the limit names in force.

    One listing call plus one call per missing or changed limit (made
    concurrently), so a warm server costs a single request per flow run.
    Failure is not fatal: the run falls back to the in-process per-host limits
    and says so in its log.

    It asks on the process's slot client (:func:`_client`), so that client is
    ready before the feed tasks start: built by the first of them, it held the
    other seven on its lock while it loaded the CA bundle (66 ms of CPU, at the
    moment every feed task of the run is starting).
    """
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectAlreadyExists

    wanted = {host_limit_name(h) for h in hosts if h}
    if not wanted:
        return set()
    try:
        client = _client()
        existing: dict[str, int] = {}
        offset = 0
        while True:
            page = client.read_global_concurrency_limits(limit=_PAGE, offset=offset)
            existing.update({lim.name: lim.limit for lim in page})
            if len(page) < _PAGE:
                break
            offset += _PAGE

        def settle(name: str) -> None:
            if name not in existing:
                # another run may create it meanwhile: that is fine
                with suppress(ObjectAlreadyExists):
                    client.create_global_concurrency_limit(
                        GlobalConcurrencyLimitCreate(name=name, limit=slots)
                    )
            else:
                client.update_global_concurrency_limit(
                    name, GlobalConcurrencyLimitUpdate(limit=slots)
                )

        todo = sorted(n for n in wanted if existing.get(n) != slots)
        # At once, not one after another: a run over new hosts waited 0.4 s for
        # nine creations in a row (benchmarks/pipeline.py).
        if todo:
            with ThreadPoolExecutor(min(_WRITERS, len(todo))) as pool:
                list(pool.map(settle, todo))
    except Exception as exc:
        log.warning("per-host Prefect limits unavailable, using in-process limits: %s", exc)
        return set()
    return wanted


@contextmanager
def host_slot(host: str, active: set[str], lease_s: float, slots: int = 2) -> Iterator[None]:
    """Hold one slot of the host's limit while polling it (no-op if not in force).

    ``slots`` is the limit's size: tasks of this process beyond it wait locally,
    so the server is asked only when this process could actually use a slot.
    ``lease_s`` bounds both the wait for a slot (then ``TimeoutError``: the feed
    fails and is polled again later) and, twice over, the lease itself: a feed
    poll is bounded by the fetch deadlines well inside it, so the lease is never
    renewed and a crashed holder's slot frees itself.
    """
    name = host_limit_name(host)
    if name not in active:
        yield
        return
    with _local_slot(name, slots):
        lease = _acquire(name, lease_s)
        try:
            yield
        finally:
            if lease is not None:
                _release(lease)


# Prefect's own ``concurrency()`` builds a new API client for every release, and a
# client loads the CA bundle into a fresh SSL context: 137 ms of CPU per slot here,
# against 7 ms for the same two requests on one long-lived client (measured side by
# side on the benchmark machine). A 20-feed run spent 2.7 s of its CPU on it.
_clients: dict[tuple[str | None, str | None], Any] = {}
_clients_lock = threading.Lock()
_HTTPX = {"timeout": 30.0}  # also what makes get_client build a client of our own


def _client() -> Any:
    """This process's client for the current API (tests switch servers), opened once.

    Asking with httpx settings of our own keeps ``get_client`` from handing back the
    flow run's client, which closes when the run ends.
    """
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_KEY, PREFECT_API_URL

    key = (PREFECT_API_URL.value(), PREFECT_API_KEY.value())
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = get_client(httpx_settings=dict(_HTTPX), sync_client=True)
            client.__enter__()
            _clients[key] = client
        return client


def _holder() -> Any:
    """The task run holding the slot, shown beside the lease in the dashboard."""
    from prefect.client.schemas.objects import ConcurrencyLeaseHolder
    from prefect.context import TaskRunContext

    ctx = TaskRunContext.get()
    return None if ctx is None else ConcurrencyLeaseHolder(type="task_run", id=ctx.task_run.id)


def _acquire(name: str, wait_s: float) -> str | None:
    """A lease on one slot; None when the server cannot be asked (in-process limits
    then still hold). Raises ``TimeoutError`` when no slot frees up in ``wait_s``."""
    import httpx

    deadline = time.monotonic() + wait_s
    while True:
        try:
            response = _client().increment_concurrency_slots_with_lease(
                names=[name],
                slots=1,
                mode="concurrency",
                lease_duration=max(60.0, 2 * wait_s),
                holder=_holder(),
            )
        except (httpx.HTTPError, OSError) as exc:
            # 423 Locked means every slot is taken; anything else, no server to ask
            if not (isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code == 423):
                log.warning("per-host slot for %s unavailable: %s", name, exc)
                return None
            pause = _retry_after(exc.response)
        else:
            lease = response.json().get("lease_id")
            return str(lease) if lease else None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no free slot of {name} within {wait_s:.0f} s")
        time.sleep(min(pause, remaining))  # the server's own Retry-After, bounded


def _retry_after(response: Any) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", 1.0)), 0.05), 10.0)
    except ValueError:
        return 1.0


def _release(lease: str) -> None:
    """Give the slot back; on failure the lease runs out by itself."""
    import httpx

    try:
        _client().release_concurrency_slots_with_lease(lease_id=lease)
    except (httpx.HTTPError, OSError) as exc:
        log.warning("could not release a per-host slot (it expires by itself): %s", exc)

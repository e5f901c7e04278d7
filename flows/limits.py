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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress

from flows.shared import host_limit_name

log = logging.getLogger(__name__)

_PAGE = 200

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

    One listing call plus one call per missing or changed limit, so a warm
    server costs a single request per flow run. Failure is not fatal: the run
    falls back to the in-process per-host limits and says so in its log.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectAlreadyExists

    wanted = {host_limit_name(h) for h in hosts if h}
    if not wanted:
        return set()
    try:
        with get_client(sync_client=True) as client:
            existing: dict[str, int] = {}
            offset = 0
            while True:
                page = client.read_global_concurrency_limits(limit=_PAGE, offset=offset)
                existing.update({lim.name: lim.limit for lim in page})
                if len(page) < _PAGE:
                    break
                offset += _PAGE
            for name in sorted(wanted):
                if name not in existing:
                    # another run may create it meanwhile: that is fine
                    with suppress(ObjectAlreadyExists):
                        client.create_global_concurrency_limit(
                            GlobalConcurrencyLimitCreate(name=name, limit=slots)
                        )
                elif existing[name] != slots:
                    client.update_global_concurrency_limit(
                        name, GlobalConcurrencyLimitUpdate(limit=slots)
                    )
    except Exception as exc:
        log.warning("per-host Prefect limits unavailable, using in-process limits: %s", exc)
        return set()
    return wanted


@contextmanager
def host_slot(host: str, active: set[str], lease_s: float, slots: int = 2) -> Iterator[None]:
    """Hold one slot of the host's limit while polling it (no-op if not in force).

    ``slots`` is the limit's size: tasks of this process beyond it wait locally,
    so the server is asked only when this process could actually use a slot.
    """
    name = host_limit_name(host)
    if name not in active:
        yield
        return
    from prefect.concurrency.sync import concurrency

    with (
        _local_slot(name, slots),
        concurrency(
            name,
            occupy=1,
            timeout_seconds=lease_s,  # a slot held too long by others: fail, retry later
            lease_duration=max(60.0, lease_s),
            strict=False,
            raise_on_lease_renewal_failure=False,
        ),
    ):
        yield

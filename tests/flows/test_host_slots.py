"""Per-host slots against a real Prefect server: they exclude other holders, are
given back, and a wait that outlasts its budget fails instead of hanging."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest
from prefect_harness import PrefectServer, wait_for

from flows.limits import ensure_host_limits, host_slot
from flows.shared import host_limit_name

pytestmark = pytest.mark.slow


def _active_slots(server: PrefectServer, name: str) -> int:
    return int(server.api("GET", f"/v2/concurrency_limits/{name}")["active_slots"])


def _take_only_slot(server: PrefectServer, name: str) -> str:
    """Another process holding the host's one slot, as the server sees it."""
    body = {"names": [name], "slots": 1, "mode": "concurrency", "lease_duration": 60}
    return str(
        server.api("POST", "/v2/concurrency_limits/increment-with-lease", json=body)["lease_id"]
    )


def _give_back(server: PrefectServer, lease: str) -> None:
    server.api("POST", "/v2/concurrency_limits/decrement-with-lease", json={"lease_id": lease})


def test_a_slot_held_elsewhere_is_waited_for_then_taken_and_released(
    prefect_api: PrefectServer,
) -> None:
    host = "slots-wait.example"
    name = host_limit_name(host)
    active = ensure_host_limits([host], 1)
    assert active == {name}
    other = _take_only_slot(prefect_api, name)

    inside = threading.Event()
    leave = threading.Event()

    def feed_task() -> None:
        with host_slot(host, active, lease_s=30.0, slots=1):
            inside.set()
            leave.wait(30)

    # Prefect's task runner carries the settings context into its threads; so does this.
    worker = threading.Thread(target=contextvars.copy_context().run, args=(feed_task,))
    worker.start()
    try:
        watch_until = time.monotonic() + 1.5  # the server keeps refusing while it is held
        while time.monotonic() < watch_until:
            assert not inside.is_set()
            time.sleep(0.05)
        _give_back(prefect_api, other)
        wait_for(inside.is_set, 20, "the feed task to get the freed slot", 0.05)
        assert _active_slots(prefect_api, name) == 1
    finally:
        leave.set()
        worker.join(30)
    wait_for(lambda: _active_slots(prefect_api, name) == 0, 10, "the slot to be released", 0.05)


def test_waiting_past_the_budget_raises_and_holds_nothing(prefect_api: PrefectServer) -> None:
    host = "slots-timeout.example"
    name = host_limit_name(host)
    active = ensure_host_limits([host], 1)
    other = _take_only_slot(prefect_api, name)
    try:
        start = time.monotonic()
        with pytest.raises(TimeoutError), host_slot(host, active, lease_s=1.0, slots=1):
            pytest.fail("entered a slot that another holder has")
        assert time.monotonic() - start < 15
    finally:
        _give_back(prefect_api, other)
    assert _active_slots(prefect_api, name) == 0


def test_an_unreachable_server_falls_back_to_the_local_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect_harness import free_port

    name = host_limit_name("slots-down.example")
    down = f"http://127.0.0.1:{free_port()}/api"
    with (
        temporary_settings({PREFECT_API_URL: down}),
        host_slot("slots-down.example", {name}, lease_s=5.0, slots=1),
    ):
        entered = True
    assert entered


def test_limits_are_created_and_resized_for_every_host_in_one_call(
    prefect_api: PrefectServer,
) -> None:
    hosts = [f"limits-{i}.example" for i in range(12)]
    ensure_host_limits(hosts[:1], 5)  # one exists already, with another size
    active = ensure_host_limits([*hosts, ""], 2)
    assert active == {host_limit_name(h) for h in hosts}
    for host in hosts:
        limit = prefect_api.api("GET", f"/v2/concurrency_limits/{host_limit_name(host)}")
        assert limit["limit"] == 2


def test_setting_up_the_limits_readies_the_client_the_feed_tasks_take_slots_on(
    prefect_api: PrefectServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built by the first feed task instead, it held the run's other feed tasks on its lock."""
    from flows import limits

    monkeypatch.setattr(limits, "_clients", {})
    ensure_host_limits(["slots-client.example"], 2)
    assert len(limits._clients) == 1
    ready = next(iter(limits._clients.values()))
    assert limits._client() is ready

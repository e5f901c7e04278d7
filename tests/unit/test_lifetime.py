"""Imports a process keeps are loaded with the collector off and frozen afterwards."""

from __future__ import annotations

import gc

import pytest

from monitor.lifetime import loaded_for_good


@pytest.fixture(autouse=True)
def _collector_restored() -> object:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_block_runs_without_the_collector_and_what_it_built_is_frozen() -> None:
    gc.enable()
    gc.unfreeze()
    with loaded_for_good():
        assert not gc.isenabled()
        kept = [{"n": n} for n in range(1_000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(kept)


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with loaded_for_good():
        pass
    assert not gc.isenabled()


def test_a_failing_block_still_gets_its_collector_back() -> None:
    gc.enable()
    with pytest.raises(ImportError), loaded_for_good():
        raise ImportError("no such module")
    assert gc.isenabled()

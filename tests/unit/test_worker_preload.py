"""The extraction workers fork from a forkserver that already holds the imports and
the language model. ``multiprocessing`` ignores an ImportError in a preload module,
so a broken one would silently make every worker load the model again in every run."""

from __future__ import annotations

import gc
import importlib

from monitor import analysis, language
from monitor.config import ExtractionSettings


def test_preload_module_loads_the_model_and_freezes_the_collector() -> None:
    import monitor.worker_preload

    try:
        importlib.reload(monitor.worker_preload)
        assert language._identifier.cache_info().currsize == 1
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_pool_workers_come_from_the_preloaded_forkserver() -> None:
    pool = analysis.get_pool(ExtractionSettings(extract_processes=1))
    # eval runs in the worker: what that process had imported before any page.
    check = "'monitor.worker_preload' in __import__('sys').modules"
    assert pool.submit(eval, check).result(timeout=120) is True

"""The extraction workers fork from a forkserver that already holds the imports and
the language model. ``multiprocessing`` ignores an ImportError in a preload module,
so a broken one would silently make every worker load the model again in every run."""

from __future__ import annotations

import gc
import importlib
import subprocess
import sys
import textwrap
from multiprocessing import spawn
from pathlib import Path

from monitor import analysis, language
from monitor.config import ExtractionSettings

ROOT = Path(__file__).resolve().parents[2]


def test_preload_module_loads_the_model_and_freezes_the_collector() -> None:
    import monitor.worker_preload

    hooks = spawn._fixup_main_from_path, spawn._fixup_main_from_name
    try:
        importlib.reload(monitor.worker_preload)
        assert language._identifier.cache_info().currsize == 1
        assert "monitor.minhash" in sys.modules  # the sketch's numpy half, for the workers
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        spawn._fixup_main_from_path, spawn._fixup_main_from_name = hooks  # this process's own


def test_workers_do_not_run_the_parents_main_script(tmp_path: Path) -> None:
    """The parent's ``__main__`` (the ``newsmon`` script, or ``prefect.engine`` in a
    run started from a deployment) is not re-run in each worker: it cost each one
    1.3 s of CPU."""
    marker = tmp_path / "imported"
    script = tmp_path / "main_script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os
            with open({str(marker)!r}, "a") as out:
                out.write(f"{{__name__}} {{os.getpid()}}\\n")
            if __name__ == "__main__":
                from monitor import analysis
                from monitor.config import ExtractionSettings
                pool = analysis.get_pool(ExtractionSettings(extract_processes=2))
                pids = {{pool.submit(os.getpid).result(timeout=120) for _ in range(4)}}
                assert os.getpid() not in pids
                print(len(pool._processes))
            """
        ),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 1  # workers ran (they start on demand)
    assert [line.split()[0] for line in marker.read_text().splitlines()] == ["__main__"]


def test_pool_workers_come_from_the_preloaded_forkserver() -> None:
    pool = analysis.get_pool(ExtractionSettings(extract_processes=1))
    # eval runs in the worker: what that process had imported before any page.
    check = "'monitor.worker_preload' in __import__('sys').modules"
    assert pool.submit(eval, check).result(timeout=120) is True


def test_the_warm_forkserver_module_freezes_the_collector() -> None:
    """What ``newsmon serve``'s forkserver preloads for its runs (:mod:`flows.warm`)."""
    code = "import gc, flows.warm; print(gc.get_freeze_count())"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 10_000


def test_the_polling_process_leaves_the_extraction_libraries_to_the_workers() -> None:
    """The process that fetches and files never extracts or sketches: importing
    trafilatura and lxml there cost every poll's start about 0.16 s, and numpy (for
    the MinHash sketch) 0.25 s more (``python -X importtime``)."""
    code = (
        "import sys, flows.cli, flows.poll, monitor.pipeline, monitor.analysis; "
        "libs = ('trafilatura', 'lxml', 'htmldate', 'justext', 'numpy'); "
        "print(sorted(m for m in libs if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

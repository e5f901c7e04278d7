"""Imported by the extraction pool's forkserver, and only there: the workers' start-up.

Every extraction worker needs the same imports and the same language model
(about 0.9 s of CPU to load). Loading them once in the forkserver, which every
worker is forked from, makes a worker ready at once and shares those pages
between workers until written; loading them in each worker's initializer cost
that CPU again per worker, in every run (each flow run is its own process). The
garbage collector is off while they load and frozen afterwards
(:mod:`monitor.lifetime`), so that collections in the workers do not walk, and
so copy, the preloaded objects.

Workers also skip re-running the parent's ``__main__``. ``multiprocessing`` runs it
in every child it starts from the forkserver (the "safe importing of main module"
rule), for programs whose children need the functions defined there. Ours need
none: they run :func:`monitor.analysis.analyze`. But the parent's main is the
``newsmon`` script, which imports the CLI stack (``newsmon poll``, and the runs
``newsmon serve`` starts), or ``prefect.engine``, which imports all of Prefect (a
run Prefect starts from a deployment's entry point). Measured: 1.3 s of CPU and about
70 MB in each worker before its first page.

Importing this module is its whole effect: ``multiprocessing`` preloads modules by
name, and offers no hook to run a function instead.
"""

from __future__ import annotations

from multiprocessing import spawn

from monitor.lifetime import loaded_for_good


def _skip_main(_: str) -> None:
    """Workers unpickle functions of ``monitor`` only; the parent's ``__main__`` is
    not theirs to import."""


# Private hooks of ``multiprocessing.spawn``, replaced in this process only (the
# forkserver), so only the extraction workers forked from it skip the import.
for _hook in ("_fixup_main_from_path", "_fixup_main_from_name"):
    setattr(spawn, _hook, _skip_main)

with loaded_for_good():  # the collector off while the extractor loads, then frozen
    from monitor import analysis

    analysis.warm_up()

"""Imported by the extraction pool's forkserver, and only there: the workers' start-up.

Every extraction worker needs the same imports and the same language model
(about 0.9 s of CPU to load). Loading them once in the forkserver, which every
worker is forked from, makes a worker ready at once and shares those pages
between workers until written; loading them in each worker's initializer cost
that CPU again per worker, in every run (each flow run is its own process). The
garbage collector is frozen afterwards so that collections in the workers do not
walk, and so copy, the preloaded objects.

Importing this module is its whole effect: ``multiprocessing`` preloads modules by
name, and offers no hook to run a function instead.
"""

from __future__ import annotations

import gc

from monitor import analysis

analysis.warm_up()
gc.freeze()

"""Objects that live as long as the process: loaded with the collector off, then frozen.

Three processes import far more than they will ever free: ``newsmon poll``
(Prefect and the flows), the extraction forkserver (trafilatura, lxml, numpy,
the language model) and ``newsmon serve``'s warm forkserver (all of them).
While those imports run, the collector's allocation thresholds trigger
collections, and the full ones walk everything loaded so far: importing the
flows took 0.87-0.90 s of CPU with the collector on and 0.72-0.76 s with it
off (3 runs each, 2026-12-03). That is CPU spent at the start of a run, before
the first page reaches a worker.

Frozen afterwards (``gc.freeze``), the loaded objects move to a generation no
collection looks at again, so the run's collections skip them, and forked
children keep those pages shared instead of writing to them. The price is the
few cyclic garbage objects the imports left (about 4,600, 2 MB of RSS,
measured), which stay frozen with the rest.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def loaded_for_good() -> Iterator[None]:
    """Run the block with the collector off; freeze what it built; restore the collector.

    Only for code that builds what the process keeps (imports, models): the
    block's garbage is never collected.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()

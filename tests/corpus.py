"""Where the shared test corpus lives, for the tests that read or sweep it.

The corpus (about 37 MB of third-party feeds and article pages, described in
its README) is not part of the repository: its articles may not be
republished. A clone therefore looks for it, in order, at

1. ``MONITOR_CORPUS_DIR``,
2. ``<repo>/../shared/corpus`` (the layout of the machine the project grew on),
3. ``/work/shared/corpus``.

Where none exists the corpus tests are skipped with a message naming the
places looked at, CI included: CI runs on a clean clone whose location is not
known, and a test that fails wherever the data is absent would only teach
people to ignore it. A ``MONITOR_CORPUS_DIR`` that is set but does not hold
the corpus is a failure, since someone asked for the corpus explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CANDIDATES = (REPO.parent / "shared" / "corpus", Path("/work/shared/corpus"))
PARTS = ("feeds", "article-extraction-benchmark", "trafilatura-eval")


def corpus_root() -> Path | None:
    """The first corpus folder that exists, or None (``MONITOR_CORPUS_DIR`` first)."""
    explicit = os.environ.get("MONITOR_CORPUS_DIR")
    if explicit:
        return Path(explicit)
    return next((path for path in CANDIDATES if path.is_dir()), None)


def corpus_part(part: str) -> Path:
    """``<corpus>/<part>``, possibly missing (for ``skipif`` marks at import time)."""
    root = corpus_root()
    return (root if root is not None else CANDIDATES[-1]) / part


def require_corpus(*parts: str) -> Path:
    """The corpus root holding ``parts`` (default: all three), else skip or fail."""
    wanted = parts or PARTS
    root = corpus_root()
    if root is not None and all((root / part).is_dir() for part in wanted):
        return root
    if os.environ.get("MONITOR_CORPUS_DIR"):
        pytest.fail(f"MONITOR_CORPUS_DIR={root} does not hold {', '.join(wanted)}")
    places = ", ".join(str(p) for p in CANDIDATES)
    pytest.skip(f"shared corpus not found (set MONITOR_CORPUS_DIR; looked in {places})")

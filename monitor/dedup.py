"""Near-duplicate detection: the one import the pipeline needs.

A repost is the same article under another URL: other boilerplate, a prefixed
or suffixed title, a truncated teaser with "read more", a paragraph dropped or
an ad added, other quotes and dashes, typos. Two different articles on the same
event are not reposts, nor is a new article that reuses a background paragraph
or a long quote of an older one. The work is split by concern (and library):

* ``monitor.normalize`` (stdlib): the text form hashes and sketches are made of.
* ``monitor.sketch`` (numpy): :class:`Fingerprint` = exact hash + MinHash-LSH
  band keys over the body and over its lead; computed in the worker process.
* ``monitor.verify`` (rapidfuzz): sentence alignment on bounded text decides
  ``near_body`` or ``containment`` for each candidate.
* ``monitor.dedup_index`` (SQLAlchemy): the shared ``dedup_keys`` index and
  the decision order (override, exact hash, verified candidates).
* ``monitor.dedup_explain``: explanations and operator overrides (CLI).

This module re-exports the public surface so callers write
``from monitor import dedup`` and ``dedup.find_duplicate(...)``.
"""

from __future__ import annotations

from monitor.dedup_explain import (
    CandidateView,
    DedupExplanation,
    OverrideView,
    explain,
    mark_duplicate_of,
    mark_not_duplicate,
)
from monitor.dedup_index import find_duplicate, index_article
from monitor.sketch import Fingerprint, fingerprint
from monitor.verify import Comparison, compare

__all__ = [
    "CandidateView",
    "Comparison",
    "DedupExplanation",
    "Fingerprint",
    "OverrideView",
    "compare",
    "explain",
    "find_duplicate",
    "fingerprint",
    "index_article",
    "mark_duplicate_of",
    "mark_not_duplicate",
]

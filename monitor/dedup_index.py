"""The database side of dedup: the shared candidate index and the decision.

The index is the ``dedup_keys`` table: one row per band key of each article,
with the UTC day it was seen. A check is ``key IN (the new article's 30 keys)
AND day >= window start``, grouped by article and ranked by keys shared: a
handful of index range scans whatever the archive size, and every worker on
every machine sees the same index because it lives in the database. The
primary key ``(key, day, article_id)`` makes that lookup index-only (SQLite
stores the table as that very B-tree, WITHOUT ROWID).

Order of a decision (:func:`find_duplicate`): a person's override for the URL,
then the exact hash of the normalized text, then index candidates verified by
``monitor.verify``. Only articles that count (filed, off_story, review,
duplicate; never failed) can be originals, and the original is always the
*root*: a repost of a repost points at the first item of the chain, so the
earliest item stays ``filed`` and every later copy points to it.

Two workers filing two copies of one story in the same second can both file
them (neither sees the other's uncommitted keys); the next copy then points to
the earlier of the two. That race is accepted: an operator can merge them with
``newsmon dedup mark-duplicate-of`` (``monitor.dedup_explain``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Select, Table, bindparam, delete, func, select
from sqlalchemy.orm import Session

from monitor.config import DedupSettings
from monitor.db import ARTICLES_TABLE, ArticleRow, DedupKeyRow, OverrideRow
from monitor.normalize import normalize_text, normalize_title
from monitor.records import DedupDecision, Status, as_utc
from monitor.sketch import EXCERPT_CHARS, Fingerprint, fingerprint, tokens
from monitor.verify import Comparison, compare

COUNTED = (Status.FILED.value, Status.OFF_STORY.value, Status.REVIEW.value, Status.DUPLICATE.value)
OVERRIDE_KIND = "dedup"
NOT_DUPLICATE = "not_duplicate"
DUPLICATE_OF = "duplicate_of"
# Raw characters of a stored candidate read for verification (normalization only shrinks text).
_RAW_CHARS = 3 * EXCERPT_CHARS
_MAX_HOPS = 32


def day_number(moment: datetime) -> int:
    """Days since the Unix epoch (UTC): the index's time bucket."""
    stamp = as_utc(moment)
    assert stamp is not None
    return int(stamp.timestamp() // 86_400)


# ----------------------------------------------------------------- lookups


def article_by_any_url(session: Session, url: str) -> ArticleRow | None:
    """By canonical URL, else by the URL it was fetched from (what an operator pastes)."""
    row = session.scalars(select(ArticleRow).where(ArticleRow.canonical_url == url)).first()
    if row is None:
        row = session.scalars(
            select(ArticleRow).where(ArticleRow.url == url).order_by(ArticleRow.id)
        ).first()
    return row


def root_of(session: Session, row: ArticleRow) -> ArticleRow:
    """Follow duplicate_of to the first item of the chain (cycle-safe)."""
    seen = {row.id}
    for _ in range(_MAX_HOPS):
        if row.duplicate_of_id is None or row.duplicate_of_id in seen:
            return row
        parent = session.get(ArticleRow, row.duplicate_of_id)
        if parent is None:
            return row
        seen.add(parent.id)
        row = parent
    return row


def latest_override(session: Session, canonical_url: str) -> OverrideRow | None:
    """The most recent dedup override for a URL: later decisions replace earlier ones."""
    return session.scalars(
        select(OverrideRow)
        .where(OverrideRow.canonical_url == canonical_url, OverrideRow.kind == OVERRIDE_KIND)
        .order_by(OverrideRow.created_at.desc(), OverrideRow.id.desc())
        .limit(1)
    ).first()


def _decision(
    root: ArticleRow, method: str, score: float | None, threshold: float | None, candidates: int = 0
) -> DedupDecision:
    return DedupDecision(
        original_id=root.id,
        original_url=root.canonical_url,
        method=method,
        score=score,
        threshold=threshold,
        candidates=candidates,
    )


def hash_query(
    digest: str, since: datetime, canonical_url: str
) -> Select[int, str, str, int | None]:
    """The exact-hash lookup :func:`_by_hash` runs, with these values bound (for EXPLAIN)."""
    return _hash_columns_query().params(digest=digest, since=since, url=canonical_url)


def _by_hash(
    session: Session, fp: Fingerprint, canonical_url: str, since: datetime, settings: DedupSettings
) -> DedupDecision | None:
    """Earliest counted article with the same normalized text inside the window.

    Short texts (feed summaries, paywall stubs) collide by accident, so below
    ``min_words`` the titles must agree too. Reads four columns, not the rows:
    exact reposts are the commonest case and their texts are never needed.
    """
    params = {"digest": fp.text_hash, "since": since, "url": canonical_url}
    for id_, url, title, parent in session.execute(_hash_columns_query(), params):
        if fp.words >= settings.min_words or normalize_title(title) == fp.title:
            row = session.get(ArticleRow, parent) if parent is not None else None
            if row is not None:
                root = root_of(session, row)
                id_, url = root.id, root.canonical_url
            return DedupDecision(
                original_id=id_, original_url=url, method="exact_hash", score=100.0, threshold=100.0
            )
    return None


@lru_cache(maxsize=1)
def _hash_columns_query() -> Select[int, str, str, int | None]:
    """Counted articles in the window with a normalized-text hash, earliest first:
    (id, canonical URL, title, duplicate_of_id).

    Built once with bound parameters, on the table: it runs for every filed
    article, and building the statement, keying it for the compiled cache and
    the ORM's result handling cost several times the query itself on SQLite
    (py-spy on ``benchmarks/pipeline.py``).
    """
    c = ARTICLES_TABLE.c
    return (
        select(c.id, c.canonical_url, c.title, c.duplicate_of_id)
        .where(
            c.text_hash == bindparam("digest"),
            c.status.in_(COUNTED),
            c.first_seen_at >= bindparam("since"),
            c.canonical_url != bindparam("url"),
        )
        .order_by(c.first_seen_at, c.id)
        .limit(10)
    )


def candidate_query(keys: Sequence[int], since_day: int, limit: int) -> Select[int, int]:
    """(article_id, shared keys) of the articles sharing most band keys in the window.

    Index-only on the (key, day, article_id) primary key: one short range scan
    per key, whatever the archive size.
    """
    shared = func.count().label("shared")
    return (
        select(DedupKeyRow.article_id, shared)
        .where(DedupKeyRow.key.in_(list(keys)), DedupKeyRow.day >= since_day)
        .group_by(DedupKeyRow.article_id)
        .order_by(shared.desc(), DedupKeyRow.article_id)
        .limit(limit)
    )


def candidate_ids(
    session: Session, keys: Sequence[int], since_day: int, limit: int
) -> list[tuple[int, int]]:
    """Run :func:`candidate_query`; no keys (a text too short to sketch), no query."""
    if not keys:
        return []
    rows = session.execute(candidate_query(keys, since_day, limit))
    return [(int(r[0]), int(r[1])) for r in rows]


def _candidate_rows(
    session: Session, keys: Sequence[int], since_day: int, limit: int, canonical_url: str
) -> list[tuple[ArticleRow, int]]:
    """The counted candidate articles with their shared-key counts.

    Two short queries rather than one join: most articles have no candidate at
    all, and then the index lookup is the only round trip.
    """
    ranked = dict(candidate_ids(session, keys, since_day, limit))
    if not ranked:
        return []
    rows = session.scalars(
        select(ArticleRow).where(
            ArticleRow.id.in_(list(ranked)),
            ArticleRow.status.in_(COUNTED),
            ArticleRow.canonical_url != canonical_url,
        )
    ).all()
    return sorted(((row, ranked[row.id]) for row in rows), key=lambda rs: (-rs[1], rs[0].id))


@dataclass(frozen=True, slots=True)
class Checked:
    row: ArticleRow
    shared: int
    comparison: Comparison


def verify_candidates(
    session: Session,
    fp: Fingerprint,
    canonical_url: str,
    seen_at: datetime,
    settings: DedupSettings,
    *,
    before: tuple[datetime, int] | None = None,
) -> list[Checked]:
    """Index candidates in the window, compared with the article on bounded text."""
    since = seen_at - timedelta(days=settings.window_days)
    found = _candidate_rows(
        session, fp.keys, day_number(since), settings.max_candidates, canonical_url
    )
    checked = []
    for row, shared in found:
        if before is not None and (as_utc(row.first_seen_at), row.id) >= before:
            continue
        other = normalize_text(row.text[:_RAW_CHARS], title=row.title)
        comparison = compare(
            fp.title, fp.body, fp.words,
            normalize_title(row.title), other[:EXCERPT_CHARS], len(tokens(other)),
            settings,
        )  # fmt: skip
        checked.append(Checked(row, shared, comparison))
    return checked


# ----------------------------------------------------------------- the check


def find_duplicate(
    session: Session,
    *,
    canonical_url: str,
    title: str,
    text: str,
    fp: Fingerprint,
    seen_at: datetime,
    settings: DedupSettings,
    check_override: bool = True,
) -> DedupDecision:
    """Is this article a repost of one already stored? Override, exact hash, then index.

    An override ``duplicate_of`` whose target is not (or no longer) stored
    falls through to the automatic checks rather than pointing nowhere.

    ``title``/``text`` are accepted for callers without a fingerprint's excerpt
    (an empty ``fp.body``): the fingerprint is then recomputed here.
    """
    if not fp.body and text:
        fp = fingerprint(title, text)
    override = latest_override(session, canonical_url) if check_override else None
    if override is not None:
        if override.value == NOT_DUPLICATE:
            return DedupDecision(original_id=None, method="override")
        target = article_by_any_url(session, override.target_url or "")
        if override.value == DUPLICATE_OF and target is not None:
            root = root_of(session, target)
            if root.canonical_url != canonical_url:
                return _decision(root, "override", None, None)

    since = seen_at - timedelta(days=settings.window_days)
    exact = _by_hash(session, fp, canonical_url, since, settings) if fp.text_hash else None
    if exact is not None:
        return exact

    checked = verify_candidates(session, fp, canonical_url, seen_at, settings)
    matches = [c for c in checked if c.comparison.is_duplicate]
    if not matches:
        return DedupDecision(original_id=None, candidates=len(checked))

    def preference(c: Checked) -> tuple[datetime, int, bool, float]:
        """Earliest root first; then a match with the root itself; then the clearest margin."""
        root = root_of(session, c.row)
        margin = c.comparison.score / c.comparison.threshold if c.comparison.threshold else 1.0
        return (as_utc(root.first_seen_at) or seen_at, root.id, root.id != c.row.id, -margin)

    best = min(matches, key=preference)
    cmp = best.comparison
    return _decision(root_of(session, best.row), cmp.method, cmp.score, cmp.threshold, len(checked))


_KEYS_TABLE: Table = DedupKeyRow.__table__  # type: ignore[assignment]


def index_article(
    session: Session, article_id: int, fp: Fingerprint, seen_at: datetime, *, replace: bool = True
) -> None:
    """Put an article's band keys in the shared index.

    ``replace`` drops the article's earlier keys first; a row that was only
    queued or failed has none, so filing skips that statement.
    """
    if replace:
        session.execute(delete(DedupKeyRow).where(DedupKeyRow.article_id == article_id))
    if fp.keys:
        day = day_number(seen_at)
        session.execute(
            _KEYS_TABLE.insert(),  # core executemany: no ORM bookkeeping per key
            [{"key": key, "day": day, "article_id": article_id} for key in dict.fromkeys(fp.keys)],
        )


__all__ = [
    "Checked",
    "article_by_any_url",
    "candidate_ids",
    "candidate_query",
    "day_number",
    "find_duplicate",
    "hash_query",
    "index_article",
    "latest_override",
    "root_of",
    "verify_candidates",
]

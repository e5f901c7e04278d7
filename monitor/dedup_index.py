"""The database side of dedup: shared candidate index, decisions, operator overrides.

The index is the ``dedup_keys`` table: one row per band key of each article,
with the UTC day it was seen. A check is ``key IN (the new article's ~26 keys)
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
:func:`mark_duplicate_of`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from monitor.config import DedupSettings
from monitor.db import ArticleRow, DedupKeyRow, OverrideRow
from monitor.errors import BadInputError
from monitor.normalize import normalize_text, normalize_title
from monitor.records import DedupDecision, Label, Status, as_utc, utcnow
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


@dataclass(frozen=True, slots=True)
class CandidateView:
    """One candidate an explanation shows: who it is and how it compared."""

    article_id: int
    canonical_url: str
    title: str
    status: str
    first_seen_at: datetime | None
    shared_keys: int
    method: str
    score: float
    threshold: float
    similarity: float
    containment: float
    title_similarity: float
    lead_aligned: bool


@dataclass(frozen=True, slots=True)
class OverrideView:
    value: str
    target_url: str | None
    note: str
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class DedupExplanation:
    """Why an article is (not) a duplicate: the stored decision and what backs it."""

    article_id: int
    canonical_url: str
    title: str
    status: str
    first_seen_at: datetime | None
    original_id: int | None
    original_url: str | None
    original_title: str | None
    method: str | None
    score: float | None
    threshold: float | None
    override: OverrideView | None = None
    candidates: tuple[CandidateView, ...] = ()
    duplicates: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        def plain(obj: Any) -> Any:
            if isinstance(obj, datetime):
                return obj.isoformat()
            if isinstance(obj, float):
                return round(obj, 4)
            return obj

        data: dict[str, Any] = {
            name: plain(getattr(self, name))
            for name in self.__slots__
            if name not in ("override", "candidates", "duplicates")
        }
        data["override"] = (
            {k: plain(getattr(self.override, k)) for k in OverrideView.__slots__}
            if self.override
            else None
        )
        data["candidates"] = [
            {k: plain(getattr(c, k)) for k in CandidateView.__slots__} for c in self.candidates
        ]
        data["duplicates"] = list(self.duplicates)
        return data


# ----------------------------------------------------------------- lookups


def _article(session: Session, url: str) -> ArticleRow | None:
    row = session.scalars(select(ArticleRow).where(ArticleRow.canonical_url == url)).first()
    if row is None:
        row = session.scalars(
            select(ArticleRow).where(ArticleRow.url == url).order_by(ArticleRow.id)
        ).first()
    return row


def _root(session: Session, row: ArticleRow) -> ArticleRow:
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


def _by_hash(
    session: Session, fp: Fingerprint, canonical_url: str, since: datetime, settings: DedupSettings
) -> ArticleRow | None:
    """Earliest counted article with the same normalized text inside the window.

    Short texts (feed summaries, paywall stubs) collide by accident, so below
    ``min_words`` the titles must agree too.
    """
    rows = session.scalars(
        select(ArticleRow)
        .where(
            ArticleRow.text_hash == fp.text_hash,
            ArticleRow.status.in_(COUNTED),
            ArticleRow.first_seen_at >= since,
            ArticleRow.canonical_url != canonical_url,
        )
        .order_by(ArticleRow.first_seen_at, ArticleRow.id)
        .limit(10)
    )
    for row in rows:
        if fp.words >= settings.min_words or normalize_title(row.title) == fp.title:
            return row
    return None


def candidate_ids(
    session: Session, keys: Sequence[int], since_day: int, limit: int
) -> list[tuple[int, int]]:
    """(article_id, shared keys) of the articles sharing most band keys in the window."""
    if not keys:
        return []
    shared = func.count().label("shared")
    rows = session.execute(
        select(DedupKeyRow.article_id, shared)
        .where(DedupKeyRow.key.in_(list(keys)), DedupKeyRow.day >= since_day)
        .group_by(DedupKeyRow.article_id)
        .order_by(shared.desc(), DedupKeyRow.article_id)
        .limit(limit)
    )
    return [(int(a), int(n)) for a, n in rows]


@dataclass(frozen=True, slots=True)
class _Checked:
    row: ArticleRow
    shared: int
    comparison: Comparison


def _verify_candidates(
    session: Session,
    fp: Fingerprint,
    canonical_url: str,
    seen_at: datetime,
    settings: DedupSettings,
    *,
    before: tuple[datetime, int] | None = None,
) -> list[_Checked]:
    """Index candidates in the window, compared with the article on bounded text."""
    since = seen_at - timedelta(days=settings.window_days)
    ranked = candidate_ids(session, fp.keys, day_number(since), settings.max_candidates)
    if not ranked:
        return []
    shared = dict(ranked)
    rows = session.scalars(
        select(ArticleRow).where(
            ArticleRow.id.in_(list(shared)),
            ArticleRow.status.in_(COUNTED),
            ArticleRow.canonical_url != canonical_url,
        )
    ).all()
    checked = []
    for row in sorted(rows, key=lambda r: (-shared[r.id], r.id)):
        if before is not None and (as_utc(row.first_seen_at), row.id) >= before:
            continue
        other = normalize_text(row.text[:_RAW_CHARS], title=row.title)
        comparison = compare(
            fp.title, fp.body, fp.words,
            normalize_title(row.title), other[:EXCERPT_CHARS], len(tokens(other)),
            settings,
        )  # fmt: skip
        checked.append(_Checked(row, shared[row.id], comparison))
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
) -> DedupDecision:
    """Is this article a repost of one already stored? Override, exact hash, then index.

    An override ``duplicate_of`` whose target is not (or no longer) stored
    falls through to the automatic checks rather than pointing nowhere.

    ``title``/``text`` are accepted for callers without a fingerprint's excerpt
    (an empty ``fp.body``): the fingerprint is then recomputed here.
    """
    if not fp.body and text:
        fp = fingerprint(title, text)
    override = latest_override(session, canonical_url)
    if override is not None:
        if override.value == NOT_DUPLICATE:
            return DedupDecision(original_id=None, method="override")
        target = _article(session, override.target_url or "")
        if override.value == DUPLICATE_OF and target is not None:
            root = _root(session, target)
            if root.canonical_url != canonical_url:
                return _decision(root, "override", None, None)

    since = seen_at - timedelta(days=settings.window_days)
    exact = _by_hash(session, fp, canonical_url, since, settings) if fp.text_hash else None
    if exact is not None:
        return _decision(_root(session, exact), "exact_hash", 100.0, 100.0)

    checked = _verify_candidates(session, fp, canonical_url, seen_at, settings)
    matches = [c for c in checked if c.comparison.is_duplicate]
    if not matches:
        return DedupDecision(original_id=None, candidates=len(checked))

    def preference(c: _Checked) -> tuple[datetime, int, bool, float]:
        """Earliest root first; then a match with the root itself; then the clearest margin."""
        root = _root(session, c.row)
        margin = c.comparison.score / c.comparison.threshold if c.comparison.threshold else 1.0
        return (as_utc(root.first_seen_at) or seen_at, root.id, root.id != c.row.id, -margin)

    best = min(matches, key=preference)
    cmp = best.comparison
    return _decision(_root(session, best.row), cmp.method, cmp.score, cmp.threshold, len(checked))


def index_article(session: Session, article_id: int, fp: Fingerprint, seen_at: datetime) -> None:
    """Put an article's band keys in the shared index (replacing any earlier keys)."""
    session.execute(delete(DedupKeyRow).where(DedupKeyRow.article_id == article_id))
    if fp.keys:
        day = day_number(seen_at)
        session.execute(
            insert(DedupKeyRow),
            [{"key": key, "day": day, "article_id": article_id} for key in dict.fromkeys(fp.keys)],
        )


# ----------------------------------------------------------------- explain and override


def explain(
    session: Session, canonical_url: str, settings: DedupSettings | None = None
) -> DedupExplanation:
    """The stored decision, the override behind it, and the candidates re-checked now.

    Candidates are those the index offers among articles seen *before* this
    one, compared with the current settings: what the decision saw, give or
    take threshold changes since.
    """
    settings = settings or DedupSettings()
    row = _article(session, canonical_url)
    if row is None:
        raise BadInputError(f"no article with URL {canonical_url}")
    original = session.get(ArticleRow, row.duplicate_of_id) if row.duplicate_of_id else None
    override = latest_override(session, row.canonical_url)
    seen = as_utc(row.first_seen_at) or utcnow()
    fp = fingerprint(row.title, row.text)
    checked = _verify_candidates(
        session, fp, row.canonical_url, seen, settings, before=(seen, row.id)
    )
    candidates = tuple(
        CandidateView(
            article_id=c.row.id,
            canonical_url=c.row.canonical_url,
            title=c.row.title,
            status=c.row.status,
            first_seen_at=as_utc(c.row.first_seen_at),
            shared_keys=c.shared,
            method=c.comparison.method,
            score=c.comparison.score,
            threshold=c.comparison.threshold,
            similarity=c.comparison.similarity,
            containment=c.comparison.containment,
            title_similarity=c.comparison.title_similarity,
            lead_aligned=c.comparison.lead_aligned,
        )
        for c in checked
    )
    duplicates = tuple(
        session.scalars(
            select(ArticleRow.canonical_url)
            .where(ArticleRow.duplicate_of_id == row.id)
            .order_by(ArticleRow.first_seen_at, ArticleRow.id)
        )
    )
    return DedupExplanation(
        article_id=row.id,
        canonical_url=row.canonical_url,
        title=row.title,
        status=row.status,
        first_seen_at=as_utc(row.first_seen_at),
        original_id=row.duplicate_of_id,
        original_url=original.canonical_url if original else None,
        original_title=original.title if original else None,
        method=row.dup_method,
        score=row.dup_score,
        threshold=row.dup_threshold,
        override=OverrideView(
            override.value, override.target_url, override.note, as_utc(override.created_at)
        )
        if override
        else None,
        candidates=candidates,
        duplicates=duplicates,
    )


def _status_without_duplicate(row: ArticleRow) -> str:
    """What an article becomes once it is not a duplicate: its relevance verdict decides."""
    verdict = row.human_verdict or row.verdict
    if verdict == Label.ON_STORY.value:
        return Status.FILED.value
    if verdict == Label.REVIEW.value:
        return Status.REVIEW.value
    return Status.OFF_STORY.value


def _record_override(
    session: Session, row: ArticleRow, value: str, target_url: str | None, note: str
) -> None:
    session.add(
        OverrideRow(
            canonical_url=row.canonical_url,
            kind=OVERRIDE_KIND,
            value=value,
            target_url=target_url,
            note=note,
            created_at=utcnow(),
        )
    )


def mark_not_duplicate(session: Session, canonical_url: str, note: str = "") -> None:
    """Operator: this article is its own story. Kept as an override; the row is updated now."""
    row = _article(session, canonical_url)
    if row is None:
        raise BadInputError(f"no article with URL {canonical_url}")
    _record_override(session, row, NOT_DUPLICATE, None, note)
    if row.status == Status.DUPLICATE.value or row.duplicate_of_id is not None:
        row.status = _status_without_duplicate(row)
    row.duplicate_of_id = None
    row.dup_method = "override"
    row.dup_score = None
    row.dup_threshold = None
    row.updated_at = utcnow()
    session.flush()


def mark_duplicate_of(
    session: Session, canonical_url: str, original_url: str, note: str = ""
) -> None:
    """Operator: this article repeats ``original_url`` (resolved to its root).

    Articles that pointed to this one are re-pointed to the root, so every
    duplicate keeps pointing at the first item of its story.
    """
    row = _article(session, canonical_url)
    if row is None:
        raise BadInputError(f"no article with URL {canonical_url}")
    target = _article(session, original_url)
    if target is None:
        raise BadInputError(f"no article with URL {original_url}")
    root = _root(session, target)
    if root.id == row.id:
        raise BadInputError(
            f"{original_url} is {canonical_url} itself or one of its duplicates; "
            "mark it not-duplicate first"
        )
    _record_override(session, row, DUPLICATE_OF, root.canonical_url, note)
    now = utcnow()
    row.status = Status.DUPLICATE.value
    row.duplicate_of_id = root.id
    row.dup_method = "override"
    row.dup_score = None
    row.dup_threshold = None
    row.updated_at = now
    session.execute(
        update(ArticleRow)
        .where(ArticleRow.duplicate_of_id == row.id)
        .values(duplicate_of_id=root.id, updated_at=now)
    )
    session.flush()


__all__ = [
    "CandidateView",
    "DedupExplanation",
    "OverrideView",
    "candidate_ids",
    "day_number",
    "explain",
    "find_duplicate",
    "index_article",
    "latest_override",
    "mark_duplicate_of",
    "mark_not_duplicate",
]

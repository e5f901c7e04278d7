"""Replay the dedup fixtures through the real database path, in a given arrival order.

Shared by the integration tests, the golden-file regeneration
(``python -m tests.regen_golden_dedup``) and ``benchmarks/dedup_eval.py``: each
item is fingerprinted, checked with ``find_duplicate``, inserted the way the
pipeline inserts it (status, duplicate_of, method, score, threshold), flushed,
and indexed with ``index_article``, so later items see earlier ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from monitor import dedup
from monitor.config import DedupSettings
from monitor.db import ArticleRow
from monitor.records import DedupDecision, Label, Status

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dedup"
START = datetime(2024, 6, 18, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Item:
    id: str
    group: str
    kind: str
    lang: str
    title: str
    body: str

    @property
    def url(self) -> str:
        return f"https://{self.id.replace('_', '-').replace('+', '-')}.example/article"

    @property
    def is_variant(self) -> bool:
        return self.kind not in ("original", "hard_negative")


@dataclass(frozen=True)
class Filed:
    item: Item
    article_id: int
    decision: DedupDecision


def load_items() -> list[Item]:
    manifest = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    items = []
    for rec in manifest:
        raw = (FIXTURES / rec["file"]).read_text(encoding="utf-8")
        title, _, body = raw.partition("\n\n")
        items.append(Item(rec["id"], rec["group"], rec["kind"], rec["lang"], title.strip(), body))
    return items


def arrival_order(items: list[Item], order: str) -> list[Item]:
    """``originals_first``: manifest order; ``variants_first``: every repost before its source."""
    if order == "originals_first":
        return list(items)
    if order == "variants_first":
        return [i for i in items if i.is_variant] + [i for i in items if not i.is_variant]
    raise ValueError(order)


def file_item(session: Session, item: Item, seen_at: datetime, settings: DedupSettings) -> Filed:
    fp = dedup.fingerprint(item.title, item.body)
    decision = dedup.find_duplicate(
        session,
        canonical_url=item.url,
        title=item.title,
        text=item.body,
        fp=fp,
        seen_at=seen_at,
        settings=settings,
    )
    row = ArticleRow(
        canonical_url=item.url,
        url=item.url,
        title=item.title,
        text=item.body,
        text_hash=fp.text_hash,
        language=item.lang,
        first_seen_at=seen_at,
        updated_at=seen_at,
        status=Status.DUPLICATE.value if decision.is_duplicate else Status.FILED.value,
        verdict=Label.ON_STORY.value,
        duplicate_of_id=decision.original_id,
        dup_method=decision.method,
        dup_score=decision.score,
        dup_threshold=decision.threshold,
    )
    session.add(row)
    session.flush()
    dedup.index_article(session, row.id, fp, seen_at)
    return Filed(item, row.id, decision)


def replay(
    session: Session, items: list[Item], settings: DedupSettings | None = None
) -> list[Filed]:
    settings = settings or DedupSettings()
    return [
        file_item(session, item, START + timedelta(minutes=n), settings)
        for n, item in enumerate(items)
    ]


def decisions_table(filed: list[Filed]) -> list[dict[str, object]]:
    """The golden form: per item, which item it was filed as a duplicate of, and how."""
    by_article = {f.article_id: f.item.id for f in filed}
    rows: list[dict[str, object]] = []
    for f in filed:
        d = f.decision
        rows.append(
            {
                "id": f.item.id,
                "duplicate_of": by_article.get(d.original_id) if d.original_id else None,
                "method": d.method,
                "score": None if d.score is None else round(d.score, 1),
                "threshold": d.threshold,
                "candidates": d.candidates,
            }
        )
    return rows


def clusters(filed: list[Filed]) -> dict[str, str]:
    """item id -> id of the root item of its cluster."""
    by_article = {f.article_id: f for f in filed}
    root: dict[str, str] = {}
    for f in filed:
        current = f
        for _ in range(len(filed)):
            parent = current.decision.original_id
            if parent is None or parent not in by_article:
                break
            current = by_article[parent]
        root[f.item.id] = current.item.id
    return root

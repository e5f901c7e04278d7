"""The story's first items: the five seed documents, filed through the real stages.

Seeds are text files as scraped from the web (noise lines included). They get
stable ``seed://<file stem>`` canonical URLs so ``newsmon seed`` is idempotent,
and they go through the same relevance and dedup stages as any article: they
are the regression set, so a change that judges a seed off-story or merges two
of them shows up in the tests and in ``newsmon seed``'s output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from monitor import analysis, dedup, extract, normalize, store
from monitor.config import PACKAGE_ROOT, Settings
from monitor.filing import file_analysis
from monitor.inflight import Item, story_paths
from monitor.records import Article, FeedEntry, Outcome, utcnow

SEED_DIR = PACKAGE_ROOT / "tests" / "fixtures" / "seeds"


@dataclass(frozen=True, slots=True)
class SeedDocument:
    path: Path
    canonical_url: str
    title: str
    text: str


def read_seeds(directory: Path = SEED_DIR) -> list[SeedDocument]:
    docs = []
    for path in sorted(directory.glob("*.txt")):
        title, body = normalize.title_from_document(path.read_text(encoding="utf-8"))
        docs.append(SeedDocument(path, f"seed://{path.stem}", title, body))
    return docs


def file_seeds(settings: Settings, session: Session, directory: Path = SEED_DIR) -> list[Outcome]:
    """File each seed not stored yet; already-stored seeds are reported as they are."""
    from monitor.filing import outcome_from_row

    outcomes = []
    paths = story_paths(settings)
    for doc in read_seeds(directory):
        existing = store.article_by_url(session, doc.canonical_url)
        if existing is not None:
            outcomes.append(outcome_from_row(existing, session, reason="already seeded"))
            continue
        now = utcnow()
        article = Article(
            url=doc.canonical_url,
            canonical_url=doc.canonical_url,
            title=doc.title,
            text=doc.text,
            site="seed",
            language=extract.detect_language(doc.text),
            extraction_method="seed",
            fetched_at=now,
        )
        result = analysis.Analysis(
            article=article,
            judgement=analysis.judge_text(paths, doc.title, doc.text),
            fingerprint=dedup.fingerprint(doc.title, doc.text),
        )
        item = Item(FeedEntry(feed_url="", link=doc.canonical_url), doc.canonical_url)
        store.acquire_filing_lock(session)
        outcomes.append(file_analysis(settings, session, item, result, None, now))
        session.commit()
    return outcomes

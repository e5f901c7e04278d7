from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from monitor.db import FeedRow, migrate
from monitor.records import utcnow


def test_migrations_create_every_table(engine: Engine) -> None:
    names = set(inspect(engine).get_table_names())
    assert {"feeds", "articles", "dedup_keys", "overrides", "runs", "alembic_version"} <= names


def test_migrate_is_idempotent_and_keeps_rows(engine: Engine) -> None:
    from monitor.db import session_factory

    with session_factory(engine)() as s:
        s.add(FeedRow(url="https://example.org/rss", created_at=utcnow()))
        s.commit()
    migrate(engine)
    with session_factory(engine)() as s:
        row = s.scalars(select(FeedRow)).one()
        assert row.url == "https://example.org/rss"
        assert row.created_at.tzinfo is not None

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


def test_schema_revision_constant_is_alembic_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from monitor.db import MIGRATIONS_DIR, SCHEMA_REVISION

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_REVISION


def test_database_is_at_head_after_open(engine: Engine) -> None:
    from monitor.db import SCHEMA_REVISION, current_revision

    assert current_revision(engine) == SCHEMA_REVISION

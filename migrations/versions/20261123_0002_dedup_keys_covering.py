"""dedup_keys: primary key (key, day, article_id), WITHOUT ROWID on SQLite

The candidate query is ``key IN (...) AND day >= window start`` and needs only
``article_id`` back. With that primary key the lookup is index-only on both
databases, and the former (key, article_id) primary key plus the (key, day)
index collapse into one B-tree: a third less to write when the archive holds
tens of millions of keys.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _create(name: str, primary: tuple[str, ...], without_rowid: bool) -> None:
    op.create_table(
        name,
        sa.Column("key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("article_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(*primary, name=f"pk_{name}"),
        sqlite_with_rowid=not without_rowid,
    )


def _swap(primary: tuple[str, ...], without_rowid: bool, key_day_index: bool) -> None:
    _create("dedup_keys_new", primary, without_rowid)
    op.execute(
        "INSERT INTO dedup_keys_new (key, day, article_id) "
        "SELECT key, day, article_id FROM dedup_keys"
    )
    op.drop_table("dedup_keys")
    op.rename_table("dedup_keys_new", "dedup_keys")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE dedup_keys RENAME CONSTRAINT pk_dedup_keys_new TO pk_dedup_keys")
    op.create_index("ix_dedup_keys_article_id", "dedup_keys", ["article_id"])
    if key_day_index:
        op.create_index("ix_dedup_keys_key_day", "dedup_keys", ["key", "day"])


def upgrade() -> None:
    _swap(("key", "day", "article_id"), without_rowid=True, key_day_index=False)


def downgrade() -> None:
    _swap(("key", "article_id"), without_rowid=False, key_day_index=True)

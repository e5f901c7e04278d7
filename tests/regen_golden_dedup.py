"""Regenerate tests/fixtures/dedup/golden_decisions.json; review the result as a diff.

    .venv/bin/python -m tests.regen_golden_dedup

Replays the dedup fixtures (``tests/fixtures/dedup``) in both arrival orders on
a throw-away SQLite database and records, per item, what it was filed as a
duplicate of, by which method, with which score. The integration test replays
the same on SQLite and PostgreSQL and compares with this file.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from monitor.db import open_database, session_factory
from tests.dedup_replay import FIXTURES, arrival_order, decisions_table, load_items, replay

GOLDEN = FIXTURES / "golden_decisions.json"
ORDERS = ("originals_first", "variants_first")


def compute(database_url: str) -> dict[str, list[dict[str, object]]]:
    items = load_items()
    out: dict[str, list[dict[str, object]]] = {}
    for order in ORDERS:
        engine = open_database(database_url)
        try:
            with session_factory(engine)() as session:
                out[order] = decisions_table(replay(session, arrival_order(items, order)))
                session.rollback()
        finally:
            engine.dispose()
    return out


def render(data: dict[str, list[dict[str, object]]]) -> str:
    """One decision per line, so a review diff shows exactly which items changed."""
    blocks = []
    for order, rows in data.items():
        lines = ",\n".join("  " + json.dumps(r, ensure_ascii=False) for r in rows)
        blocks.append(f"{json.dumps(order)}: [\n{lines}\n ]")
    return "{\n " + ",\n ".join(blocks) + "\n}\n"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = compute(f"sqlite:///{Path(tmp) / 'golden.db'}")
    GOLDEN.write_text(render(data), encoding="utf-8")
    print(f"wrote {GOLDEN} ({sum(len(v) for v in data.values())} decisions)")


if __name__ == "__main__":
    main()

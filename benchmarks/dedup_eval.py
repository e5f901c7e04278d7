"""Dedup quality on the fixtures: precision, recall and F1 per kind of change.

    .venv/bin/python benchmarks/dedup_eval.py

Replays ``tests/fixtures/dedup`` through the real database path (SQLite, temp
file) in two arrival orders: sources first, then every repost *before* its
source (so teasers are also seen arriving first). An item counts as a true
positive when it ends in the same cluster (same root original) as its source,
as a false positive when its cluster holds an item of another story. Hard
negatives (seeds against each other, articles reusing a seed's paragraph or
quote, unrelated real pages) only have false positives: merges.

Then the margins: for each kind, the lowest deciding score among reposts
against their source; for the negatives, the highest figures any pair reached.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor import dedup
from monitor.config import DedupSettings
from monitor.db import open_database, session_factory
from tests.dedup_replay import arrival_order, clusters, load_items, replay


def evaluate(order: str, settings: DedupSettings) -> dict[str, list[int]]:
    items = load_items()
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{Path(tmp) / 'eval.db'}")
        with session_factory(engine)() as session:
            filed = replay(session, arrival_order(items, order), settings)
        engine.dispose()
    roots = clusters(filed)
    groups_of_root: dict[str, set[str]] = defaultdict(set)
    for item in items:
        groups_of_root[roots[item.id]].add(item.group)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp, fp, fn
    for item in items:
        kind = item.kind if item.is_variant else f"negative:{item.kind}"
        counts[kind]  # every kind gets a row, merges or not
        merged_elsewhere = len(groups_of_root[roots[item.id]]) > 1
        if item.is_variant:
            if roots[item.id] == roots[item.group]:
                counts[kind][0] += 1
            else:
                counts[kind][2] += 1
        if merged_elsewhere:
            counts[kind][1] += 1
    return counts


def report(order: str, counts: dict[str, list[int]]) -> None:
    print(f"\narrival order: {order}")
    head = (("n", 4), ("TP", 4), ("FP", 4), ("FN", 4), ("prec", 6), ("recall", 6), ("F1", 6))
    print(f"{'kind':46s} " + " ".join(f"{h:>{w}s}" for h, w in head))
    total = [0, 0, 0]
    for kind in sorted(counts, key=lambda k: (k.startswith("negative"), k)):
        tp, fp, fn = counts[kind]
        total = [total[0] + tp, total[1] + fp, total[2] + fn]
        if kind.startswith("negative"):
            print(f"{kind:46s} {'':>4s} {'':>4s} {fp:4d} {'':>4s}   merges: {fp}")
            continue
        prec = tp / (tp + fp) if tp + fp else 1.0
        rec = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        print(f"{kind:46s} {tp + fn:4d} {tp:4d} {fp:4d} {fn:4d} {prec:6.3f} {rec:6.3f} {f1:6.3f}")
    tp, fp, fn = total
    prec, rec = tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    figures = f"{tp + fn:4d} {tp:4d} {fp:4d} {fn:4d} {prec:6.3f} {rec:6.3f} {f1:6.3f}"
    print(f"{'ALL reposts':46s} {figures}")


def margins(settings: DedupSettings) -> None:
    items = load_items()
    fps = {i.id: dedup.fingerprint(i.title, i.body) for i in items}

    def cmp(a: str, b: str) -> dedup.Comparison:
        fa, fb = fps[a], fps[b]
        return dedup.compare(fa.title, fa.body, fa.words, fb.title, fb.body, fb.words, settings)

    print("\nmargins: reposts against their source (lowest figures per kind)")
    by_kind: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for item in items:
        if item.is_variant:
            c = cmp(item.id, item.group)
            shared = len(set(fps[item.id].keys) & set(fps[item.group].keys))
            by_kind[item.kind].append((c.similarity, c.containment, shared))
    print(f"{'kind':46s} {'min sim':>8s} {'min cont':>9s} {'min keys':>9s}")
    for kind, vals in sorted(by_kind.items()):
        print(
            f"{kind:46s} {min(v[0] for v in vals):8.1f} {min(v[1] for v in vals):9.2f} "
            f"{min(v[2] for v in vals):9d}"
        )
    negatives = [i.id for i in items if not i.is_variant]
    worst_sim = worst_cont = 0.0
    worst_keys, pairs, started = 0, 0, time.perf_counter()
    for a, b in itertools.combinations(negatives, 2):
        c = cmp(a, b)
        pairs += 1
        worst_sim, worst_cont = max(worst_sim, c.similarity), max(worst_cont, c.containment)
        worst_keys = max(worst_keys, len(set(fps[a].keys) & set(fps[b].keys)))
    per_pair = (time.perf_counter() - started) / pairs * 1000
    print(
        f"negatives ({len(negatives)} items, {pairs} pairs): max similarity {worst_sim:.1f} "
        f"(threshold {settings.body_threshold}), max containment {worst_cont:.2f} "
        f"(threshold {settings.containment_threshold}), max shared keys {worst_keys}; "
        f"{per_pair:.2f} ms per verification"
    )


def main() -> None:
    settings = DedupSettings()
    for order in ("originals_first", "variants_first"):
        report(order, evaluate(order, settings))
    margins(settings)


if __name__ == "__main__":
    main()

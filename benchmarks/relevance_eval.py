"""Relevance on the labeled set: precision/recall overall and per language, misses, cost.

    .venv/bin/python benchmarks/relevance_eval.py [--story config/stories/russia-dprk.yaml]
                                                  [--labeled tests/fixtures/relevance] [--check]

An item counts as predicted on-story only when judged ``on_story``; ``review``
items are listed apart (a person will see them) and count as not filed, so
they cost recall but never precision. A hard negative is *missed* when it is
filed on-story. Cost is CPU time per judge() call (process time, so other jobs
on the machine do not inflate it), mean and p95, over the labeled items and
over 5,000-character articles built from the seeds. ``--check`` exits 1 when a
target is not met (precision and recall >= 0.95, at most one miss per
hard-negative kind, every seed on-story, mean cost < 1 ms).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.records import Judgement, Label  # noqa: E402
from monitor.relevance import judge, summarize  # noqa: E402
from monitor.story import Story, load_story  # noqa: E402
from tests.relevance_labeled import (  # noqa: E402
    HARD_NEGATIVE_KINDS,
    LABELED_DIR,
    LabeledItem,
    load_labeled,
)


def prf(pairs: list[tuple[bool, bool]]) -> tuple[float, float, int, int, int]:
    """Precision, recall, tp, fp, fn over (gold_on, predicted_on) pairs."""
    tp = sum(1 for g, p in pairs if g and p)
    fp = sum(1 for g, p in pairs if not g and p)
    fn = sum(1 for g, p in pairs if g and not p)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp, fp, fn


def cpu_cost(fn: Callable[[], object], repeat: int) -> list[float]:
    """CPU seconds of each of ``repeat`` calls (after one warm-up call)."""
    fn()
    out = []
    for _ in range(repeat):
        start = time.process_time_ns()
        fn()
        out.append((time.process_time_ns() - start) / 1e9)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def long_articles(items: list[LabeledItem], size: int = 5000) -> list[tuple[str, str]]:
    """5,000-character articles: each seed's text repeated to length, plus mixed ones."""
    out = []
    bodies = [i.text for i in items if i.kind == "seed"] or [i.text for i in items]
    for n, body in enumerate(bodies):
        text = body
        k = n
        while len(text) < size:
            k += 1
            text += "\n\n" + bodies[k % len(bodies)]
        out.append((items[0].title, text[:size]))
    others = "\n\n".join(i.text for i in items if i.label == "off_story")
    for start in range(0, min(len(others) - size, 20 * size), size):
        out.append(("", others[start : start + size]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--story", type=Path, default=ROOT / "config/stories/russia-dprk.yaml")
    parser.add_argument("--labeled", type=Path, default=LABELED_DIR)
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per long article")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    story: Story = load_story(args.story)
    items = load_labeled(args.labeled)
    verdicts: dict[str, Judgement] = {i.id: judge(story, i.title, i.text) for i in items}

    def on(item: LabeledItem) -> bool:
        return verdicts[item.id].label is Label.ON_STORY

    print(f"story {story.id}: {len(items)} labeled items")
    by_lang: dict[str, list[LabeledItem]] = defaultdict(list)
    for item in items:
        by_lang[item.language].append(item)
    print(f"{'':10} {'items':>5} {'on':>4} {'precision':>9} {'recall':>7} {'review':>6}")
    rows = [("overall", items), *sorted(by_lang.items())]
    for name, group in rows:
        p, r, *_ = prf([(i.label == "on_story", on(i)) for i in group])
        n_on = sum(1 for i in group if i.label == "on_story")
        n_review = sum(1 for i in group if verdicts[i.id].label is Label.REVIEW)
        print(f"{name:10} {len(group):5} {n_on:4} {p:9.3f} {r:7.3f} {n_review:6}")
    precision, recall, tp, fp, fn = prf([(i.label == "on_story", on(i)) for i in items])
    print(f"overall: tp={tp} fp={fp} fn={fn}")

    print("\nhard negatives filed on-story, by kind:")
    worst = 0
    for kind in HARD_NEGATIVE_KINDS:
        group = [i for i in items if i.kind == kind]
        missed = sum(1 for i in group if on(i))
        reviewed = sum(1 for i in group if verdicts[i.id].label is Label.REVIEW)
        worst = max(worst, missed)
        print(f"  {kind:16} {missed}/{len(group)} missed, {reviewed} to review")

    seeds_ok = all(on(i) for i in items if i.kind == "seed")
    print(f"\nseeds on-story: {'yes' if seeds_ok else 'NO'}")

    wrong = [i for i in items if (i.label == "on_story") != on(i)]
    reviews = [i for i in items if verdicts[i.id].label is Label.REVIEW]
    print(f"\nmisjudged items ({len(wrong)}):")
    for item in wrong:
        print(
            f"  {item.id} [{item.language}, {item.kind}] gold={item.label}: "
            f"{summarize(verdicts[item.id])}"
        )
    print(f"items sent to review ({len(reviews)}):")
    for item in reviews:
        print(f"  {item.id} gold={item.label}: {summarize(verdicts[item.id])}")

    per_item = [
        statistics.mean(cpu_cost(lambda i=i: judge(story, i.title, i.text), 5)) for i in items
    ]
    long = long_articles(items)
    per_long = [
        statistics.median(cpu_cost(lambda t=t, x=x: judge(story, t, x), args.repeat))
        for t, x in long
    ]
    mean_long = statistics.mean(per_long)
    print("\ncost of judge() per article (CPU time):")
    print(
        f"  labeled items (mean {statistics.mean(len(i.text) for i in items):.0f} chars): "
        f"mean {statistics.mean(per_item) * 1e3:.3f} ms, p95 {p95(per_item) * 1e3:.3f} ms"
    )
    print(
        f"  5,000-char articles ({len(long)}): mean {mean_long * 1e3:.3f} ms, "
        f"p95 {p95(per_long) * 1e3:.3f} ms"
    )

    met = precision >= 0.95 and recall >= 0.95 and worst <= 1 and seeds_ok and mean_long < 1e-3
    print(f"\ntargets met: {'yes' if met else 'NO'}")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())

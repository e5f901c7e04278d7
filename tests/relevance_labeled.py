"""The labeled relevance set (tests/fixtures/relevance/*.yaml), shared by tests and the eval.

One YAML file per language; each item has id, language, label (on_story /
off_story), kind, and either title + text or ``seed: <file>`` naming one of
the scraped seed articles in tests/fixtures/seeds/, whose title is the first
line that is not site furniture (the rest is kept as scraped, noise included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

FIXTURES = Path(__file__).parent / "fixtures"
LABELED_DIR = FIXTURES / "relevance"
SEEDS_DIR = FIXTURES / "seeds"

HARD_NEGATIVE_KINDS = (
    "putin_vietnam",
    "putin_xi",
    "inter_korean",
    "nk_missile_test",
    "trump_kim",
    "russia_ukraine",
    "russia_iran",
    "one_side_only",
    "passing_mention",
)
KINDS = ("seed", "on_story", *HARD_NEGATIVE_KINDS, "easy_negative")
LABELS = ("on_story", "off_story")

_SEED_NOISE = re.compile(
    r"^(étiquettes|spread the love|partagez|tags|share)$|^[\W\d_]*$", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class LabeledItem:
    id: str
    language: str
    label: str
    kind: str
    title: str
    text: str


def read_seed(path: Path) -> tuple[str, str]:
    """Title (first line that is not furniture) and the rest of a scraped seed."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if not _SEED_NOISE.match(line.strip()):
            return line.strip(), "\n".join(lines[i + 1 :])
    raise ValueError(f"{path}: no title line")


def load_labeled(directory: Path = LABELED_DIR) -> list[LabeledItem]:
    items: list[LabeledItem] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.yaml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            where = f"{path.name}: {raw.get('id', '?')}"
            if raw.get("label") not in LABELS or raw.get("kind") not in KINDS:
                raise ValueError(f"{where}: bad label or kind")
            if raw["id"] in seen:
                raise ValueError(f"{where}: duplicate id")
            seen.add(raw["id"])
            if "seed" in raw:
                title, text = read_seed(SEEDS_DIR / raw["seed"])
            else:
                title, text = raw["title"], raw["text"]
            items.append(
                LabeledItem(raw["id"], raw["language"], raw["label"], raw["kind"], title, text)
            )
    return items

from __future__ import annotations

import itertools
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from monitor import dedup
from monitor.config import DedupSettings
from monitor.normalize import normalize_text
from monitor.sketch import (
    BODY_BANDS,
    EXCERPT_CHARS,
    LEAD_BANDS,
    Fingerprint,
    fingerprint,
    jaccard,
    tokens,
)
from monitor.verify import VERIFY_CHARS, Comparison, sentences, title_core

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dedup"
SETTINGS = DedupSettings()


def _items() -> dict[str, dict[str, str]]:
    out = {}
    for rec in json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8")):
        title, _, body = (FIXTURES / rec["file"]).read_text(encoding="utf-8").partition("\n\n")
        out[rec["id"]] = {**rec, "title": title, "body": body}
    return out


ITEMS = _items()
FPS = {k: fingerprint(v["title"], v["body"]) for k, v in ITEMS.items()}


def _compare(a: str, b: str) -> Comparison:
    fa, fb = FPS[a], FPS[b]
    return dedup.compare(fa.title, fa.body, fa.words, fb.title, fb.body, fb.words, SETTINGS)


VARIANTS = [k for k, v in ITEMS.items() if v["kind"] not in ("original", "hard_negative")]
NEGATIVES = [k for k, v in ITEMS.items() if v["kind"] == "hard_negative"]
ORIGINALS = [k for k, v in ITEMS.items() if v["kind"] in ("original", "hard_negative")]


def test_fixtures_cover_the_required_kinds() -> None:
    kinds = {ITEMS[k]["kind"] for k in VARIANTS}
    assert {"teaser", "title_change", "boilerplate", "title_affix", "drop_paragraph",
            "ad_paragraph", "quotes_dashes", "typos"} <= kinds  # fmt: skip
    assert any("+" in k for k in kinds)  # combinations
    assert {ITEMS[k]["lang"] for k in VARIANTS} >= {"fr", "zh", "ja", "ko", "ru", "de", "en"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_verifies_against_its_source_both_ways(variant: str) -> None:
    source = ITEMS[variant]["group"]
    forward, backward = _compare(source, variant), _compare(variant, source)
    assert forward.is_duplicate, forward
    assert (forward.method, forward.score) == (backward.method, backward.score)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_shares_index_keys_with_its_source(variant: str) -> None:
    source = ITEMS[variant]["group"]
    assert set(FPS[source].keys) & set(FPS[variant].keys)


def test_seeds_negatives_and_unrelated_pages_never_verify() -> None:
    merged = [
        (a, b) for a, b in itertools.combinations(ORIGINALS, 2) if _compare(a, b).is_duplicate
    ]
    assert merged == []


def test_seeds_stay_far_apart() -> None:
    seeds = [k for k in ORIGINALS if k.startswith("seed")]
    assert len(seeds) == 5
    for a, b in itertools.combinations(seeds, 2):
        cmp = _compare(a, b)
        assert cmp.similarity < 30 and cmp.containment < 0.3, (a, b, cmp)
        assert not set(FPS[a].keys) & set(FPS[b].keys)


@pytest.mark.parametrize("negative", NEGATIVES)
def test_reused_paragraph_or_quote_is_not_a_duplicate(negative: str) -> None:
    seed = negative.rsplit("_", 1)[1]
    cmp = _compare(negative, seed)
    assert not cmp.is_duplicate
    assert cmp.containment > 0.15  # it really does reuse text of the seed


def test_teaser_is_contained_and_lead_aligned() -> None:
    cmp = _compare("seed001__teaser", "seed001")
    assert cmp.method == "containment"
    assert cmp.lead_aligned and cmp.containment >= SETTINGS.containment_threshold
    assert cmp.similarity < SETTINGS.body_threshold  # only containment catches it


def test_short_teaser_below_min_words_is_not_contained() -> None:
    strict = SETTINGS.model_copy(update={"min_words": 10_000})
    fa, fb = FPS["seed001__teaser"], FPS["seed001"]
    cmp = dedup.compare(fa.title, fa.body, fa.words, fb.title, fb.body, fb.words, strict)
    assert not cmp.is_duplicate


def test_title_agreement_lowers_the_near_threshold() -> None:
    agree = _compare("seed000__title_affix", "seed000")
    differ = _compare("seed000__title_change", "seed000")
    assert agree.threshold < differ.threshold == SETTINGS.body_threshold


def test_title_core_strips_site_and_rubric() -> None:
    assert title_core("vidéo - poutine à pyongyang") == "poutine à pyongyang"
    assert title_core("poutine à pyongyang | le figaro") == "poutine à pyongyang"


def test_sentences_are_bounded() -> None:
    long = "\n".join(f"Phrase numéro {i} d'un très long article de fond." for i in range(5000))
    sents = sentences(normalize_text(long))
    assert sum(len(s) for s in sents) < VERIFY_CHARS + 200
    assert len(fingerprint("t", long).body) <= EXCERPT_CHARS


def test_fingerprint_shape_and_pickle() -> None:
    fp = FPS["seed000"]
    assert len(fp.keys) == BODY_BANDS + LEAD_BANDS
    assert all(-(2**63) <= k < 2**63 for k in fp.keys)
    assert pickle.loads(pickle.dumps(fp)) == fp
    assert fingerprint("", "trop court").keys == ()


def test_keys_are_stable_across_processes() -> None:
    """Workers on other machines must compute the same keys: no Python hash()."""
    code = (
        "import sys, json; from monitor.sketch import fingerprint;"
        "t, b = json.load(sys.stdin); print(json.dumps(list(fingerprint(t, b).keys)))"
    )
    item = ITEMS["zh_xinhua"]
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps([item["title"], item["body"]]),
        capture_output=True, text=True, check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )  # fmt: skip
    assert tuple(json.loads(out.stdout)) == FPS["zh_xinhua"].keys


def test_cjk_is_tokenized_by_character() -> None:
    assert tokens("北朝鮮とロシア g7首脳 한국어 문장") == [
        "北", "朝", "鮮", "と", "ロ", "シ", "ア", "g7", "首", "脳", "한국어", "문장",
    ]  # fmt: skip


def test_jaccard_of_identical_and_disjoint() -> None:
    a = normalize_text(ITEMS["seed000"]["body"])
    assert jaccard(a, a) == 1.0
    assert jaccard(a, normalize_text(ITEMS["zh_xinhua"]["body"])) == 0.0


def test_fingerprint_is_a_frozen_record() -> None:
    fp = Fingerprint(text_hash="x", keys=(1, 2))
    with pytest.raises(AttributeError):
        fp.keys = ()  # type: ignore[misc]


def _template(day: int, index: float, change: float, volume: int) -> str:
    return "\n".join(
        [
            f"Le CAC 40 a terminé la séance du {day} juin à {index:.2f} points, en hausse de "
            f"{change:.2f} %, dans un volume de {volume} millions d'euros échangés.",
            f"Les banques ont mené la hausse, avec un gain moyen de {change + 0.4:.2f} %, "
            "tandis que le secteur de l'énergie restait stable sur la journée.",
            f"Le baril de Brent s'échangeait à {70 + day / 10:.2f} dollars en clôture, et l'euro "
            f"valait {1.05 + day / 1000:.4f} dollar à la fin des échanges européens.",
        ]
    )


def test_template_stories_with_other_figures_are_different_articles() -> None:
    monday = normalize_text(_template(17, 7512.31, 0.42, 3120))
    tuesday = normalize_text(_template(18, 7544.09, 0.36, 2870))
    words = len(tokens(monday))
    cmp = dedup.compare("bourse", monday, words, "bourse", tuesday, words, SETTINGS)
    assert not cmp.is_duplicate and cmp.similarity == 0.0
    typo = monday.replace("séance", "sénace").replace("hausse", "hasuse")
    assert dedup.compare("bourse", monday, words, "bourse", typo, words, SETTINGS).is_duplicate


def test_sentences_cut_differently_still_match() -> None:
    """A repost that lost the spaces after some full stops keeps its sentences."""
    body = normalize_text(ITEMS["seed000"]["body"])
    glued = body.replace(". l", ".l").replace(". d", ".d").replace(". c", ".c")
    assert sentences(glued) != sentences(body)
    words = len(tokens(body))
    cmp = dedup.compare("a", body, words, "b", glued, len(tokens(glued)), SETTINGS)
    assert cmp.method == "near_body" and cmp.similarity >= SETTINGS.body_threshold

"""Extraction quality and speed: our extract_article against plain trafilatura.extract.

    python benchmarks/extraction_eval.py [CORPUS_DIR] [--details FILE.jsonl] [--limit N]

CORPUS_DIR defaults to /work/shared/corpus. Three extractors get the same bytes
and the same URL, in one run, side by side: ours (``extract_article``), plain
``trafilatura.extract`` with default settings (the body baseline), and
``trafilatura.bare_extraction(with_metadata=True)`` (the metadata baseline, and
the cost our per-page time should be compared with). Printed figures:

* article-extraction-benchmark (181 pages): body precision / recall / F1 against
  ``ground-truth.json``, two ways. "token" is the mean over pages of per-page
  scores on word-token multisets (``\\w+``). "upstream" is how the benchmark's
  own evaluate.py scores (and how its 0.958 for trafilatura 2.0.0 was computed):
  4-token shingles, each page's TP/FP/FN normalized to sum to 1, then pooled.
* trafilatura-eval (202 annotated pages): share of pages whose text contains
  every ``with`` snippet and no ``without`` snippet; title / date / author
  accuracy on the pages whose ground truth has that field (title: normalized
  equality or containment; date: same YYYY-MM-DD; author:
  containment either way, ignoring case, accents and punctuation). "date" compares the publisher's
  stated day (Extraction.published_day); "UTC date" the day of published_at
  in UTC, which evening articles west of Greenwich legitimately move by one.
* "ours+fallbk" is ours with ``extraction.fallback: true``: trafilatura also runs
  its fallback extractors (readability, jusText) on every page and keeps the best.
* every one of the 384 pages (incl. the unannotated client-rendered one): how
  many were extracted, rejected (BadInputError, by reason) or crashed, and
  pages per second for each extractor (extraction time only, one process,
  after an untimed warm-up pass over all pages unless ``--cold``).

``--details`` writes one JSON line per page (scores, fields) for diffing runs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.config import ExtractionSettings
from monitor.errors import BadInputError
from monitor.extract import ExtractionRejected, extract_article
from monitor.records import Page

DEFAULT_CORPUS = Path("/work/shared/corpus")
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class CorpusPage:
    source: str  # "aeb" or "tev"
    key: str
    url: str
    body: bytes
    truth: dict[str, Any]


def load_corpus(root: Path, limit: int | None = None) -> list[CorpusPage]:
    """Every page of both collections, gz pages decompressed (as a server would)."""
    pages: list[CorpusPage] = []
    aeb = root / "article-extraction-benchmark"
    truth = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
    for key in sorted(truth):
        body = gzip.decompress((aeb / "html" / f"{key}.html.gz").read_bytes())
        pages.append(CorpusPage("aeb", key, truth[key]["url"], body, truth[key]))
    tev = root / "trafilatura-eval"
    evaldata = json.loads((tev / "evaldata.json").read_text(encoding="utf-8"))
    annotated = set()
    for key in sorted(evaldata):
        entry = evaldata[key]
        annotated.add(entry["file"])
        url = key if key.startswith("http") else f"https://example.org/{entry['file']}"
        pages.append(
            CorpusPage("tev", key, url, (tev / "html" / entry["file"]).read_bytes(), entry)
        )
    for path in sorted((tev / "html").iterdir()):
        if path.name not in annotated:
            url = f"https://example.org/{path.name}"
            pages.append(CorpusPage("extra", path.name, url, path.read_bytes(), {}))
    return pages[:limit] if limit else pages


def _ngrams(text: str, n: int) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))


def tp_fp_fn(truth: str, pred: str, n: int) -> tuple[float, float, float]:
    true_grams, pred_grams = _ngrams(truth, n), _ngrams(pred, n)
    true_grams.pop((), None)
    pred_grams.pop((), None)
    tp = sum((true_grams & pred_grams).values())
    fp = sum((pred_grams - true_grams).values())
    fn = sum((true_grams - pred_grams).values())
    return float(tp), float(fp), float(fn)


def prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.split()).strip(" .:;|-–—\"'«»")


def title_matches(truth: str, ours: str) -> bool:
    t, o = fold(truth), fold(ours)
    if not t or not o:
        return False
    return t == o or t in o or (o in t and len(o) >= 0.6 * len(t))


def _name_key(name: str) -> str:
    """Names compare without accents, punctuation or separators: "R.C. BAKER" = "R C Baker"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_TOKEN.findall(letters))


def author_matches(truth: str, ours: str) -> bool:
    t, o = _name_key(truth), _name_key(ours)
    return bool(t and o) and (t in o or o in t)


@dataclass
class Result:
    text: str = ""
    title: str = ""
    date: str = ""
    utc_date: str = ""
    author: str = ""
    language: str = ""
    method: str = ""
    rejected: str = ""
    crashed: str = ""
    seconds: float = 0.0


def run_ours(page: CorpusPage, settings: ExtractionSettings | None = None) -> Result:
    fetched = Page(url=page.url, final_url=page.url, status_code=200, body=page.body)
    start = time.perf_counter()
    try:
        extraction = extract_article(fetched, None, settings)
    except ExtractionRejected as exc:
        return Result(rejected=exc.reason, seconds=time.perf_counter() - start)
    except BadInputError as exc:
        return Result(rejected=f"bad_input: {exc}", seconds=time.perf_counter() - start)
    except Exception as exc:  # counted and printed: the figure says whether this ever happens
        return Result(crashed=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - start)
    elapsed = time.perf_counter() - start
    article = extraction.article
    return Result(
        text=article.text,
        title=article.title,
        date=extraction.published_day.isoformat() if extraction.published_day else "",
        utc_date=article.published_at.date().isoformat() if article.published_at else "",
        author=article.author,
        language=article.language or "",
        method=article.extraction_method,
        seconds=elapsed,
    )


def run_plain(page: CorpusPage) -> Result:
    """trafilatura.extract with its default settings: the body baseline (no metadata)."""
    start = time.perf_counter()
    try:
        text = trafilatura.extract(page.body, url=page.url) or ""
    except Exception as exc:
        return Result(crashed=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - start)
    return Result(text=text, seconds=time.perf_counter() - start)


def run_bare(page: CorpusPage) -> Result:
    """bare_extraction(with_metadata=True), defaults otherwise: the metadata baseline."""
    start = time.perf_counter()
    try:
        doc = trafilatura.bare_extraction(page.body, url=page.url, with_metadata=True)
    except Exception as exc:
        return Result(crashed=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - start)
    elapsed = time.perf_counter() - start
    if doc is None or isinstance(doc, dict):
        return Result(seconds=elapsed)
    day = doc.date or ""
    return Result(
        text=doc.text or "",
        title=doc.title or "",
        date=day,
        utc_date=day,
        author=doc.author or "",
        seconds=elapsed,
    )


def run_ours_fallback(page: CorpusPage) -> Result:
    """Ours with ``extraction.fallback: true`` (trafilatura's readability/jusText pass)."""
    return run_ours(page, ExtractionSettings(fallback=True))


RUNNERS = {
    "ours": run_ours,
    "ours+fallbk": run_ours_fallback,
    "extract()": run_plain,
    "bare+meta": run_bare,
}


@dataclass
class Tally:
    token: list[tuple[float, float, float]] = field(default_factory=list)
    shingle: list[tuple[float, float, float]] = field(default_factory=list)
    snippets: list[bool] = field(default_factory=list)
    title: list[bool] = field(default_factory=list)
    date: list[bool] = field(default_factory=list)
    utc_date: list[bool] = field(default_factory=list)
    author: list[bool] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    pages: int = 0

    def add(self, page: CorpusPage, result: Result) -> dict[str, Any]:
        self.pages += 1
        self.seconds += result.seconds
        if result.crashed:
            self.outcomes["crashed"] += 1
        elif result.rejected:
            self.outcomes[f"rejected: {result.rejected}"] += 1
        else:
            self.outcomes[f"extracted ({result.method or 'text'})"] += 1
        row: dict[str, Any] = {}
        if page.source == "aeb":
            truth = page.truth["articleBody"]
            self.token.append(prf(*tp_fp_fn(truth, result.text, 1)))
            tp, fp, fn = tp_fp_fn(truth, result.text, 4)
            total = tp + fp + fn
            self.shingle.append((tp / total, fp / total, fn / total) if total else (0, 0, 0))
            row["f1"] = round(self.token[-1][2], 4)
        elif page.source == "tev":
            ok = all(s in result.text for s in page.truth.get("with", [])) and not any(
                s in result.text for s in page.truth.get("without", [])
            )
            self.snippets.append(ok)
            row["snippets_ok"] = ok
            for name, matcher, bucket in (
                ("title", title_matches, self.title),
                ("date", lambda t, o: t[:10] == o[:10], self.date),
                ("utc_date", lambda t, o: t[:10] == o[:10], self.utc_date),
                ("author", author_matches, self.author),
            ):
                truth = page.truth.get(name.removeprefix("utc_")) or ""
                if truth:
                    bucket.append(matcher(truth, getattr(result, name)))
                    row[f"{name}_ok"] = bucket[-1]
        return row

    def figures(self) -> dict[str, float]:
        n = len(self.token) or 1
        token_p = sum(x[0] for x in self.token) / n
        token_r = sum(x[1] for x in self.token) / n
        token_f = sum(x[2] for x in self.token) / n
        up_p, up_r, up_f = prf(*(sum(x[i] for x in self.shingle) for i in range(3)))

        def share(values: list[bool]) -> float:
            return sum(values) / len(values) if values else 0.0

        return {
            "token P": token_p,
            "token R": token_r,
            "token F1": token_f,
            "upstream P": up_p,
            "upstream R": up_r,
            "upstream F1": up_f,
            "snippets ok": share(self.snippets),
            "title acc": share(self.title),
            "date acc": share(self.date),
            "UTC date acc": share(self.utc_date),
            "author acc": share(self.author),
            "pages/s": self.pages / self.seconds if self.seconds else 0.0,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--details", type=Path, help="write per-page JSON lines here")
    parser.add_argument("--limit", type=int, help="only the first N pages (quick look)")
    parser.add_argument(
        "--cold", dest="warm", action="store_false", help="skip the untimed warm-up pass"
    )
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # trafilatura logs every discarded page

    pages = load_corpus(args.corpus, args.limit)
    # Pool workers live long: time them warm. htmldate/dateparser compile regexes
    # per locale on first sight (~0.4 s each), which a cold pass would charge to
    # whichever page meets a locale first.
    warm_up = pages if args.warm else pages[:2]
    for page in warm_up:
        for runner in RUNNERS.values():
            runner(page)
    tallies = {name: Tally() for name in RUNNERS}
    details = args.details.open("w", encoding="utf-8") if args.details else None
    for page in pages:
        record: dict[str, Any] = {"source": page.source, "key": page.key}
        for name, runner in RUNNERS.items():
            result = runner(page)
            row = tallies[name].add(page, result)
            record[name] = {
                **row,
                **{k: getattr(result, k) for k in ("title", "date", "utc_date", "author")},
                **{k: getattr(result, k) for k in ("language", "method", "rejected", "crashed")},
                "chars": len(result.text),
            }
        record["truth"] = {k: page.truth.get(k) for k in ("title", "date", "author")}
        if details is not None:
            details.write(json.dumps(record, ensure_ascii=False) + "\n")
    if details is not None:
        details.close()

    figures = {name: tally.figures() for name, tally in tallies.items()}
    ours = tallies["ours"]
    print(f"corpus: {args.corpus}  pages: {len(pages)}  warm: {args.warm}")
    print(f"{'figure':<14}" + "".join(f"{name:>12}" for name in RUNNERS))
    no_metadata = {"title acc", "date acc", "UTC date acc", "author acc"}
    for figure in figures["ours"]:
        cells = [
            f"{'n/a':>12}"
            if n == "extract()" and figure in no_metadata
            else f"{figures[n][figure]:>12.4f}"
            for n in RUNNERS
        ]
        print(f"{figure:<14}" + "".join(cells))
    print(f"counted on: body {len(ours.token)} pages, snippets {len(ours.snippets)}, "
          f"title {len(ours.title)}, date {len(ours.date)}, author {len(ours.author)}")  # fmt: skip
    print("outcomes (ours):")
    for outcome, count in sorted(ours.outcomes.items()):
        print(f"  {outcome:<40}{count:>5}")
    crashed = ours.outcomes.get("crashed", 0)
    print("all pages processed without exception" if not crashed else f"CRASHED: {crashed}")
    return 1 if crashed else 0


if __name__ == "__main__":
    raise SystemExit(main())

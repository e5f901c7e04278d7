"""Regenerate docs/report.png: a report over made-up data, screenshotted by headless Chromium.

    .venv/bin/python scripts/outputs_screenshot.py [--out docs/report.png] [--html FILE]

The data is synthetic (invented headlines on fictional ``*.example`` sites), so
the picture in the README shows what the report looks like without
republishing anyone's journalism. Deterministic: a fixed seed and a fixed "now".
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.db import ArticleRow, open_database, session_factory
from monitor.report import build_report, render_html

NOW = datetime(2024, 6, 28, 18, 0, tzinfo=UTC)
SITES = {
    "fr": ["lemonde.example", "rfi.example", "france24.example", "lefigaro.example"],
    "en": ["nknews.example", "yonhap.example", "guardian.example"],
    "ru": ["tass.example", "ria.example"],
    "ko": ["hani.example"],
}
HEADLINES = {
    "fr": [
        "Moscou et Pyongyang signent un traité de partenariat stratégique",
        "Kim Jong-un reçoit Vladimir Poutine avec les honneurs",
        "Ce que prévoit l'accord de défense mutuelle russo-nord-coréen",
        "Séoul convoque l'ambassadeur russe après le sommet",
        "Munitions nord-coréennes : de nouvelles livraisons signalées",
        "Le rapprochement Russie–Corée du Nord inquiète Tokyo",
    ],
    "en": [
        "Putin and Kim sign mutual defence pact in Pyongyang",
        "Satellite images show rail traffic at Tumangang border crossing",
        "Seoul weighs response to Russia–North Korea treaty",
        "Analysis: what Moscow gets from its new partnership with Pyongyang",
    ],
    "ru": [
        "Путин и Ким Чен Ын подписали договор о стратегическом партнёрстве",
        "Лавров провёл переговоры с главой МИД КНДР",
        "Россия и КНДР договорились о безвизовых туристических поездках",
    ],
    "ko": ["북·러 정상회담…포괄적 전략 동반자 조약 체결", "정부, 북러 군사협력에 깊은 우려 표명"],
}


def make_rows(seed: int = 7) -> list[ArticleRow]:
    rng = random.Random(seed)
    rows: list[ArticleRow] = []
    start = NOW - timedelta(days=20)
    for day in range(21):
        burst = 5 if 11 <= day <= 13 else 0
        for _ in range(rng.randint(0, 3) + burst):
            lang = rng.choices(list(SITES), weights=[5, 3, 2, 1])[0]
            site = rng.choice(SITES[lang])
            seen = start + timedelta(days=day, minutes=rng.randint(0, 1439))
            title = rng.choice(HEADLINES[lang])
            n = len(rows)
            rows.append(
                ArticleRow(
                    canonical_url=f"https://{site}/2024/{n:04d}",
                    url=f"https://{site}/2024/{n:04d}",
                    title=title,
                    text=f"{title}. " * 30,
                    language=lang,
                    site=site,
                    published_at=seen - timedelta(minutes=rng.randint(5, 90)),
                    fetched_at=seen,
                    first_seen_at=seen,
                    updated_at=seen,
                    status=rng.choices(
                        ["filed", "off_story", "review", "failed"], weights=[8, 3, 1, 1]
                    )[0],
                    story="russia-dprk",
                    relevance=round(rng.uniform(0.55, 0.98), 2),
                )
            )
    return rows


def add_reposts(rows: list[ArticleRow], seed: int = 7) -> list[ArticleRow]:
    rng = random.Random(seed + 1)
    copiers = ["aggregator.example", "newsportal.example", "blog.example", "reprints.example"]
    originals = [r for r in rows if r.status == "filed"]
    copies = []
    for original in rng.sample(originals, k=min(8, len(originals))):
        for k in range(rng.randint(1, 3)):
            site = copiers[k]
            seen = original.first_seen_at + timedelta(minutes=rng.randint(4, 2000))
            copies.append(
                ArticleRow(
                    canonical_url=f"https://{site}/r/{original.id}-{k}",
                    url=f"https://{site}/r/{original.id}-{k}",
                    title=original.title,
                    text=original.text,
                    language=original.language,
                    site=site,
                    published_at=seen,
                    fetched_at=seen,
                    first_seen_at=seen,
                    updated_at=seen,
                    status="duplicate",
                    story="russia-dprk",
                    duplicate_of_id=original.id,
                    dup_method=rng.choice(["near_body", "near_body", "containment"]),
                    dup_score=round(rng.uniform(86, 99.5), 1),
                )
            )
    return copies


def screenshot(html: Path, png: Path, *, width: int = 1280, height: int = 2000) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium not found: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size={width},{height}",
                html.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/report.png"))
    parser.add_argument("--html", type=Path, help="also keep the HTML here")
    parser.add_argument("--height", type=int, default=1700)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{tmp}/demo.db")
        with session_factory(engine)() as session:
            rows = make_rows()
            session.add_all(rows)
            session.flush()
            session.add_all(add_reposts(rows))
            session.commit()
            data = build_report(session, since=NOW - timedelta(days=21), by="language", now=NOW)
        engine.dispose()
        html = Path(tmp) / "report.html"
        html.write_text(render_html(data), encoding="utf-8")
        if args.html:
            shutil.copy(html, args.html)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        screenshot(html, args.out.resolve(), height=args.height)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

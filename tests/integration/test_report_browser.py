"""The HTML report renders in a real browser: headless Chromium takes a screenshot.

Skipped (with the reason) where Chromium is not installed, except under CI
(``CI`` set), where a missing browser is a failure: CI installs ``chromium``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from outputs_sample import sample_story
from sqlalchemy.orm import Session

from monitor.report import build_report, render_html

pytestmark = pytest.mark.slow


def chromium_path() -> str:
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    message = "Chromium not installed (apt-get install -y chromium) — cannot screenshot the report"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run the browser test)")
    pytest.skip(message)


def screenshot(browser: str, page: Path, png: Path, profile: Path) -> None:
    subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
            f"--screenshot={png}", "--window-size=1280,2000", page.as_uri(),
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def test_report_renders_in_headless_chromium(session: Session, tmp_path: Path) -> None:
    from PIL import Image

    browser = chromium_path()
    sample_story(session)
    page = tmp_path / "report.html"
    page.write_text(render_html(build_report(session, since=None)), encoding="utf-8")
    png = tmp_path / "shot.png"
    screenshot(browser, page, png, tmp_path / "profile")

    assert png.exists() and png.stat().st_size > 20_000
    with Image.open(png) as image:
        assert image.size == (1280, 2000)
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 50  # text, bars, cards: not a blank page
        # the timeline's bars are drawn: some pixels carry the palette's blue (#4e79a7)
        small = rgb.resize((320, 500))
        blue = sum(1 for p in small.getdata() if abs(p[0] - 0x4E) < 20 and abs(p[1] - 0x79) < 20
                   and abs(p[2] - 0xA7) < 20)  # fmt: skip
        assert blue > 10

"""In Chromium: an analyst uploads a scan of a demo customer's signature on the Identify page
and sees the ranked customers beside the query (screenshot: docs/screenshots/identify.png)."""

from __future__ import annotations

import re

import pytest
from PIL import Image, ImageDraw

from verification.demo import CANVAS_H, CANVAS_W, demo_strokes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def scan_of(strokes, path):
    im = Image.new("L", (CANVAS_W, CANVAS_H), 255)
    draw = ImageDraw.Draw(im)
    for stroke in strokes:
        draw.line([(p["x"], p["y"]) for p in stroke["points"]], fill=0, width=4)
    im.save(path)
    return str(path)


def test_analyst_identifies_a_scan(browser, sigweb_server, console, shots, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = console.watch(context.new_page())
    page.goto(sigweb_server("/login/"))
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill("browser-analyst-pw")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))
    page.get_by_role("link", name="Identify").click()
    page.wait_for_url(re.compile(r"/dashboard/identify/$"))
    page.get_by_label("Signature to identify").set_input_files(scan_of(demo_strokes("DEMO-0002", 60), tmp_path / "q.png"))
    page.get_by_label("Case reference").fill("CASE-42")
    page.get_by_role("button", name="Identify", exact=True).click()
    page.wait_for_url(re.compile(r"/dashboard/identifications/\d+/$"))
    outcome = page.locator("#outcome").text_content().strip()
    assert outcome in ("Match", "Ambiguous", "No match")
    rows = page.locator("#candidates tbody tr")
    assert rows.count() == 2
    assert "Alan Turing" in rows.first.inner_text()  # DEMO-0002's own enrollment ranks first
    assert rows.first.locator("td").nth(4).inner_text().strip() == "image"  # a scan: no pen dynamics
    assert page.locator("figure.sig img").first.evaluate("img => img.naturalWidth") > 0
    shots(page, "identify")
    context.close()

"""End to end in Chromium: an analyst uploads a page SigWeb generates
(``verification.demo_pages``), sees the boxes drawn over it, clicks one, picks the customer
and verifies with the real engine; the dashboard shows the result live and the review page
shows the page with the box. The server runs the fake detector
(``tests/support/live_fake_detector.py``), so what is tested is the page, not the detector
(``tests/verification/api/test_documents_real_detector.py`` tests that)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from verification.demo_pages import demo_page

from .conftest import live_server
from .test_signing_and_review import login

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory):
    """A live server like ``sigweb_server`` (embedded defaults, real model), on the fake detector."""
    yield from live_server(tmp_path_factory, "live-docs", ["tests/support/live_fake_detector.py", "{address}"])


def test_upload_a_page_pick_a_box_and_verify(browser, docs_server, console, shots, tmp_path):
    sigweb_server = docs_server
    page_file = tmp_path / "mandate.png"
    page_file.write_bytes(demo_page(writer="DEMO-0001", sample=61, seed=5))

    ctx = browser.new_context(viewport={"width": 1366, "height": 1000})
    dashboard = console.watch(login(ctx, sigweb_server, "analyst", "browser-analyst-pw"))
    dashboard.locator('[data-role="live-status"][data-state="live"]').wait_for()

    docs = console.watch(ctx.new_page())
    docs.goto(sigweb_server("/dashboard/"))
    docs.get_by_role("link", name="Documents").click()
    docs.wait_for_url(re.compile(r"/documents/$"))
    docs.locator("#doc-file").set_input_files(str(page_file))
    docs.get_by_role("button", name="Find signatures").click()
    box = docs.locator(".docbox").first
    box.wait_for(timeout=60_000)
    assert "signature(s) found" in docs.locator("#doc-status").inner_text()
    docs.locator(".docpage img").first.evaluate("img => img.decode()")
    shots(docs, "documents-boxes")

    box.click()
    assert box.get_attribute("aria-pressed") == "true"
    docs.locator("#cand-crop").wait_for()
    docs.get_by_label("Customer").select_option(label="Ada Lovelace (DEMO-0001)")
    docs.get_by_role("button", name="Verify").click()
    decision = docs.locator("#verify-decision")
    decision.wait_for(timeout=60_000)
    assert decision.text_content().strip() in ("accept", "review", "reject")
    shots(docs, "documents-verified")

    link = docs.get_by_role("link", name=re.compile(r"Open verification \d+"))
    verification_id = int(re.search(r"(\d+)", link.inner_text()).group(1))
    dashboard.locator(f'#feed tr[data-id="{verification_id}"][data-status="done"]').wait_for(timeout=30_000)

    link.click()
    docs.wait_for_url(re.compile(rf"/dashboard/verifications/{verification_id}/$"))
    docs.locator("#source-box").wait_for()
    docs.locator("#source-page img").evaluate("img => img.decode()")
    docs.locator("#source-page").scroll_into_view_if_needed()
    shots(docs, "documents-review")
    ctx.close()

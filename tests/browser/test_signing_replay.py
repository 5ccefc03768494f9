"""The review page replays a pad query with its own timing and plots pen speed and pressure
beside the references'; a replay of a stored reference shows the replay flag."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_review_page_replays_the_signing(browser, sigweb_server, console, shots):
    vid = sigweb_server.setup["replay_verification"]
    ctx = browser.new_context(viewport={"width": 1366, "height": 1000})
    page = console.watch(ctx.new_page())
    page.goto(sigweb_server("/login/"))
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill("browser-analyst-pw")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))
    page.goto(sigweb_server(f"/dashboard/verifications/{vid}/"))
    card = page.locator("#dynamics")
    card.wait_for()
    assert page.locator("#decision").inner_text().strip().lower() == "reject"
    assert page.locator("#replay-flag").inner_text().lower() == "replay"
    assert page.locator("#decision-path").inner_text() == "fused"
    canvas = page.locator("#replay-canvas")
    canvas.wait_for()
    assert canvas.get_attribute("data-state") == "ready"
    duration = int(canvas.get_attribute("data-drawn-ms"))
    assert duration > 300  # the whole signature, drawn at rest
    page.select_option("#replay-speed", "2")
    page.get_by_role("button", name="Replay").click()
    page.wait_for_timeout(duration // 4)  # half-way at 2x speed
    midway = int(canvas.get_attribute("data-drawn-ms"))
    assert 0 < midway < duration
    page.locator('#replay-canvas[data-state="done"]').wait_for(timeout=10_000)
    assert int(canvas.get_attribute("data-drawn-ms")) == duration
    # speed: the query and the 5 pad references; pressure: constant in the demo strokes
    assert page.locator("#speed-plot svg").get_attribute("data-series") == "6"
    assert "not reported" in page.locator("#pressure-plot").inner_text()
    card.scroll_into_view_if_needed()
    shots(page, "review_signing_replay", full_page=False)

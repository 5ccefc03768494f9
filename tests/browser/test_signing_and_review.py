"""End to end in Chromium: a customer enrolls and verifies on the pad with real mouse
movements, an analyst watches the dashboard update live and reviews a flagged signature,
an admin manages the enrollment; and a customer without JavaScript uploads a scan."""

from __future__ import annotations

import io
import random
import re

import pytest
from PIL import Image, ImageDraw

from verification.demo import CANVAS_H, CANVAS_W, demo_strokes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

WRITER = "browser-writer-marie"
FORGER = "browser-forger-zz"


def draw(page, strokes, *, seed: int = 0):
    """Draw signature_pad-style strokes on the page's pad with the mouse, point by point."""
    canvas = page.locator('[data-role="canvas"]')
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    scale = min((box["width"] - 30) / CANVAS_W, (box["height"] - 20) / CANVAS_H)
    rng = random.Random(seed)
    dx, dy = box["x"] + 15 + rng.uniform(-3, 3), box["y"] + 10 + rng.uniform(-3, 3)
    for stroke in strokes:
        points = stroke["points"]
        page.mouse.move(dx + points[0]["x"] * scale, dy + points[0]["y"] * scale)
        page.mouse.down()
        for i, p in enumerate(points[1:]):
            page.mouse.move(dx + p["x"] * scale, dy + p["y"] * scale)
            if i % 12 == 11:
                page.wait_for_timeout(16)  # a human pace: a signature takes about a second
        page.mouse.up()
        page.wait_for_timeout(60)


def login(context, sigweb_server, username, password):
    page = context.new_page()
    page.goto(sigweb_server("/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))
    return page


def test_enroll_verify_live_dashboard_and_review(browser, sigweb_server, console, shots):
    setup = sigweb_server.setup
    sign_url = sigweb_server(f"/sign/{setup['token']}/")

    # The analyst's dashboard is open in its own browser context before anything happens.
    analyst_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    dashboard = console.watch(login(analyst_ctx, sigweb_server, "analyst", "browser-analyst-pw"))
    dashboard.locator('[data-role="live-status"][data-state="live"]').wait_for()

    # ---- the customer enrolls: five signatures drawn with the mouse
    customer_ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    pad = console.watch(customer_ctx.new_page())
    pad.goto(sign_url)
    pad.get_by_role("heading", name="Enroll your signature").wait_for()
    submit = pad.get_by_role("button", name="Save this signature")

    # immediate quality feedback: blank, then a tiny scribble
    submit.click()
    assert pad.locator("#sign").get_attribute("data-quality") == "blank"
    draw(pad, [{"points": [{"x": 300 + i % 4, "y": 100 + i % 3} for i in range(30)]}])
    submit.click()
    assert pad.locator("#sign").get_attribute("data-quality") in ("too_small", "too_few_points")
    pad.get_by_role("button", name="Clear").click()

    # undo removes the last stroke
    draw(pad, demo_strokes(WRITER, 0)[:1], seed=99)
    assert pad.evaluate("window.sigwebPad.toData().length") == 1
    pad.get_by_role("button", name="Undo").click()
    assert pad.evaluate("window.sigwebPad.toData().length") == 0

    for i in range(5):
        draw(pad, demo_strokes(WRITER, i), seed=i)
        data = pad.evaluate("window.sigwebPad.strokes()")
        assert all({"x", "y", "time", "pressure"} <= set(p) for s in data for p in s["points"])
        if i == 2:
            shots(pad, "pad-enrollment")
        submit.click()
        if i < 4:
            pad.locator('[data-role="samples"] li').nth(i).wait_for()
            assert pad.locator('[data-role="feedback"]').inner_text().startswith("Saved")
    pad.locator('#sign[data-state="enrolled"]').wait_for(timeout=60_000)
    assert "You're enrolled" in pad.locator('[data-role="result"]').inner_text()

    # ---- the customer verifies; the result arrives over the customer's websocket
    pad.get_by_role("link", name="Verify a signature now").click()
    pad.get_by_role("heading", name="Confirm with your signature").wait_for()
    draw(pad, demo_strokes(WRITER, 7), seed=7)
    pad.get_by_role("button", name="Verify my signature").click()
    pad.locator("#sign[data-verification]").wait_for(timeout=60_000)
    genuine_id = int(pad.locator("#sign").get_attribute("data-verification"))
    assert pad.locator("#sign").get_attribute("data-state") in ("accept", "review", "reject")
    assert pad.locator('[data-role="result"]').is_visible()
    shots(pad, "pad-result")

    # ... and the analyst's dashboard shows it without a reload
    row = dashboard.locator(f'#feed tr[data-id="{genuine_id}"][data-status="done"]')
    try:
        row.wait_for(timeout=30_000)
    except Exception:
        print("FEED:", dashboard.locator("#feed").inner_html()[:3000])
        print("STATUS:", dashboard.locator('[data-role="live-status"]').get_attribute("data-state"))
        print("LOG:", sigweb_server.log.read_text()[-6000:])
        raise
    assert "Marie Curie" in row.inner_text()

    # ---- a very different signature (another writer's hand) is flagged by the model's own
    # decision (the enrollment keeps the model's threshold) and reaches the analyst live
    draw(pad, demo_strokes(FORGER, 1), seed=11)
    pad.get_by_role("button", name="Verify my signature").click()
    # predicates are functions, not strings: the Content-Security-Policy forbids eval
    pad.wait_for_function(
        "(previous) => { const v = document.querySelector('#sign').dataset.verification; return Boolean(v) && v !== previous; }",
        arg=str(genuine_id),
        timeout=60_000,
    )
    forged_id = int(pad.locator("#sign").get_attribute("data-verification"))
    assert pad.locator("#sign").get_attribute("data-state") in ("review", "reject")
    title = pad.locator('[data-role="result-title"]').inner_text()
    assert title in ("Sent for review", "We could not verify your signature")

    dashboard.locator(f'#feed tr[data-id="{forged_id}"][data-status="done"]').wait_for(timeout=30_000)
    dashboard.wait_for_function("() => document.querySelector('[data-counter=open_reviews]').textContent.trim() !== '0'")
    dashboard.wait_for_timeout(400)  # let the counters and chart settle for the screenshot
    shots(dashboard, "dashboard")

    # ---- the analyst reviews it from the queue
    dashboard.get_by_role("link", name="Review queue").first.click()
    queue_row = dashboard.locator(f'#flagged tr[data-id="{forged_id}"]')
    queue_row.wait_for()
    shots(dashboard, "review-queue")
    queue_row.get_by_role("link", name=re.compile("Review")).click()
    dashboard.wait_for_url(re.compile(rf"/dashboard/verifications/{forged_id}/$"))
    dashboard.locator("#history-chart svg").wait_for()
    # a pad query against five pad references is decided on the fused path: the page replays the
    # signing, and the chart of image scores (another scale) is left out
    assert dashboard.locator("#decision-path").inner_text() == "fused"
    dashboard.locator("#speed-plot svg").wait_for()
    assert dashboard.locator("#range-chart").count() == 0
    assert dashboard.locator("#sigs figure").count() == 6  # the query and five references
    dashboard.get_by_label("Forgery").check()
    dashboard.get_by_label("Note").fill("Different letter shapes and rhythm from all five references.")
    shots(dashboard, "review-detail")
    dashboard.get_by_role("button", name="Record verdict").click()
    dashboard.get_by_text("Verdict recorded: forgery.").wait_for()
    trail = dashboard.locator("#reviews").inner_text().lower()
    assert "forgery" in trail and "analyst" in trail and "different letter shapes" in trail
    dashboard.get_by_role("button", name="As the model sees them").click()
    assert dashboard.locator("#sigs").get_attribute("data-view") == "model"

    # ---- an admin raises this customer's threshold (trade-off plot on the page)
    admin_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    admin = console.watch(login(admin_ctx, sigweb_server, "admin", "browser-admin-pw"))
    admin.goto(sigweb_server(f"/manage/customers/{setup['customer']}/"))
    admin.locator("#tradeoff svg").wait_for()
    assert admin.locator("#references figure").count() == 5
    admin.get_by_label("Threshold for Marie Curie").fill("0.99")
    admin.get_by_role("button", name="Save threshold").click()
    admin.get_by_text("Threshold set to 0.990.").wait_for()
    shots(admin, "admin-customer")

    # the admin sees the jobs with their progress bars, and the model versions
    admin.goto(sigweb_server("/manage/jobs/"))
    admin.locator('[data-role="live-status"][data-state="live"]').wait_for()
    assert admin.locator("#jobs-table tr[data-job]").count() >= 7
    shots(admin, "admin-jobs")
    admin.goto(sigweb_server("/manage/models/"))
    assert "active" in admin.locator("#models").inner_text().lower()

    # the pad on a phone-sized screen
    phone_ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
    phone = console.watch(phone_ctx.new_page())
    phone.goto(sigweb_server(f"/sign/{setup['other_token']}/"))
    phone.get_by_role("heading", name="Enroll your signature").wait_for()
    box = phone.locator('[data-role="canvas"]').bounding_box()
    assert box["width"] <= 390 and box["height"] >= 150
    shots(phone, "pad-phone")

    for ctx in (analyst_ctx, customer_ctx, admin_ctx, phone_ctx):
        ctx.close()


def _scan_png(seed: int) -> bytes:
    """A 'scanned' signature: dark ink strokes from a demo writer on off-white paper."""
    strokes = demo_strokes("DEMO-0001", seed)
    im = Image.new("L", (CANVAS_W + 80, CANVAS_H + 80), 246)
    d = ImageDraw.Draw(im)
    for s in strokes:
        pts = [(p["x"] + 40, p["y"] + 40) for p in s["points"]]
        if len(pts) > 1:
            d.line(pts, fill=25, width=4, joint="curve")
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def test_upload_a_scan_without_javascript(browser, sigweb_server, console, shots, tmp_path):
    """With JavaScript off, an enrolled customer uploads a scan and gets a server-rendered result."""
    # the live server has its own database: the admin makes a signing link on the management page
    ctx = browser.new_context(java_script_enabled=False, viewport={"width": 900, "height": 900})
    admin_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    admin = console.watch(login(admin_ctx, sigweb_server, "admin", "browser-admin-pw"))
    admin.goto(sigweb_server("/manage/customers/?q=DEMO-0001"))
    admin.get_by_role("link", name=re.compile("Manage")).first.click()
    admin.get_by_role("button", name="New signing link").click()
    link = admin.locator("#signing-link").inner_text().strip()
    admin_ctx.close()

    page = console.watch(ctx.new_page())
    page.goto(link)
    assert page.locator(".js-pad").is_hidden()  # the pad needs JavaScript; the upload form does not
    page.locator("details#upload summary").click()
    scan = tmp_path / "scan.png"
    scan.write_bytes(_scan_png(3))
    page.get_by_label("Scanned signature").set_input_files(str(scan))
    shots(page, "upload-no-js")
    page.get_by_role("button", name="Upload and verify").click()
    page.wait_for_url(re.compile(r"/result/\d+/$"))
    heading = page.locator("h1").inner_text()
    assert heading in ("Signature verified", "Sent for review", "We could not verify your signature"), heading
    assert "V-" in page.locator(".result-ref").inner_text()
    shots(page, "upload-result")
    ctx.close()

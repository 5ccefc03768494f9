"""End to end in Chromium: an analyst uploads a page SigWeb generates
(``verification.demo_pages``), sees the boxes drawn over it, clicks one, picks the customer
and verifies with the real engine; the dashboard shows the result live and the review page
shows the page with the box. The server runs the fake detector
(``tests/support/live_fake_detector.py``), so what is tested is the page, not the detector
(``tests/verification/api/test_documents_real_detector.py`` tests that)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from verification.demo_pages import demo_page

from .conftest import LiveServer, model_path
from .test_signing_and_review import login

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory):
    """A live server like ``sigweb_server`` (embedded defaults, real model), on the fake detector."""
    model = model_path()
    if model is None:
        pytest.skip("no model: ml/weights/sigweb.pt or runs/*/model.pt")
    tmp = tmp_path_factory.mktemp("live-docs")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        DJANGO_ENV="development",
        DJANGO_DEBUG="1",
        SIGWEB_SQLITE_PATH=str(tmp / "live.sqlite3"),
        SIGWEB_MODEL_PATH=str(model),
        SIGWEB_PROGRESS_MIN_INTERVAL="0",
        PYTHONUNBUFFERED="1",
    )
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
    setup_code = (Path(__file__).parent / "live_setup.py").read_text()
    out = subprocess.run(
        [python, "manage.py", "shell", "-c", setup_code],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
        capture_output=True,
        text=True,
    ).stdout
    setup = json.loads(next(line for line in out.splitlines() if line.startswith("SETUP "))[6:])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp / "server.log"
    with open(log, "w") as log_file:
        proc = subprocess.Popen(
            [python, "tests/support/live_fake_detector.py", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("live server did not start:\n" + log.read_text()[-4000:])
            time.sleep(0.3)
    yield LiveServer(f"http://127.0.0.1:{port}", setup, log)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


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

"""The signing page never spins forever: when no result comes, it says so after the
server's SIGWEB_CLIENT_WAIT_SECONDS (rewritten to 2 s in the page for the test).

The network is stubbed with Playwright routes: the enrollment answers with a job that
stays "running" over the API, and the websocket never reports it (Chromium refuses the
page's websocket once the page itself is a stubbed response, so no result can arrive)."""

from __future__ import annotations

import json
import re


def test_enrollment_wait_times_out_with_a_message(browser, sigweb_server):
    setup = sigweb_server.setup
    ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    page = ctx.new_page()
    page_errors = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))  # uncaught errors: none expected
    fake_job = {"id": "00000000-0000-4000-8000-000000000000", "kind": "enroll", "status": "running", "progress": 10}

    def sign_page(route):
        html = route.fetch().text()
        needed = re.search(r'data-needed="(\d+)"', html).group(1)
        html = re.sub(r'data-wait-seconds="\d+"', 'data-wait-seconds="2"', html)
        html = re.sub(r'data-collected="\d+"', f'data-collected="{needed}"', html)  # all samples "saved"
        html = html.replace('data-enrollment-ready="0"', 'data-enrollment-ready="1"')  # the server's "enroll now"
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

    page.route(re.compile(r".*/sign/[^/]+/$"), sign_page)
    page.route(
        re.compile(r".*/api/customers/\d+/enrollment/$"),
        lambda route: route.fulfill(status=202, content_type="application/json", body=json.dumps({"job": fake_job})),
    )
    page.route(
        re.compile(r".*/api/jobs/.*"),
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(fake_job)),
    )
    page.goto(sigweb_server(f"/sign/{setup['other_token']}/"))
    page.locator('#sign[data-state="timeout"]').wait_for(timeout=15_000)
    feedback = page.locator('[data-role="feedback"]')
    assert "taking longer than it should" in feedback.inner_text()
    assert feedback.get_attribute("data-kind") == "error"
    assert not page_errors, page_errors
    ctx.close()

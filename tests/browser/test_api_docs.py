"""The API reference pages work under the Content-Security-Policy and load nothing from the
internet: Swagger UI and ReDoc render the schema with assets served by SigWeb itself."""

import re
from urllib.parse import urlparse

# ReDoc's sidebar footer always tries Redocly's logo from its CDN (no option turns it off);
# the CSP blocks it, the browser reports the block, and ReDoc hides the image.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def login(context, sigweb_server, username, password):
    page = context.new_page()
    page.goto(sigweb_server("/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))
    return page


def _local(url: str) -> bool:
    return url.startswith(("data:", "blob:")) or urlparse(url).hostname == "127.0.0.1"


def test_swagger_and_redoc_render_offline_under_the_csp(browser, sigweb_server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    answered_from_outside: list[str] = []
    attempted_outside: list[str] = []
    errors: list[str] = []
    ctx.on("request", lambda req: None if _local(req.url) else attempted_outside.append(req.url))
    ctx.on("requestfinished", lambda req: None if _local(req.url) else answered_from_outside.append(req.url))
    page = login(ctx, sigweb_server, "analyst", "browser-analyst-pw")
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(sigweb_server("/api/docs/"))
    page.locator(".swagger-ui .opblock").first.wait_for(timeout=30_000)
    assert page.locator(".swagger-ui .opblock").count() > 20  # every operation is listed

    page.goto(sigweb_server("/api/redoc/"))
    page.get_by_text("SigWeb API").first.wait_for(timeout=30_000)
    page.locator("[data-section-id^='tag/']").first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)

    assert not answered_from_outside, f"requests left the machine: {answered_from_outside}"
    assert set(attempted_outside) <= {REDOC_LOGO}, attempted_outside
    unexpected = [e for e in errors if not (REDOC_LOGO in e and "Content Security Policy" in e)]
    assert not unexpected, unexpected  # no other CSP violation, no script error, no 404
    ctx.close()

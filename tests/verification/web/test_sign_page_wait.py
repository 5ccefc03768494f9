"""The signing page stops waiting for a result after a server-owned timeout, with a message."""

import re
from pathlib import Path

from django.test import Client

from verification.services.customers import signing_token_create

SIGN_JS = Path(__file__).resolve().parents[3] / "static" / "js" / "sign.js"


def test_sign_page_carries_the_wait_timeout_from_settings(enrolled_customer, settings):
    settings.SIGWEB_CLIENT_WAIT_SECONDS = 42
    customer = enrolled_customer("writer-a")
    _, raw = signing_token_create(customer=customer)
    html = Client().get(f"/sign/{raw}/").content.decode()
    assert re.search(r'data-wait-seconds="42"', html)


def test_sign_js_wait_rejects_after_the_timeout_with_a_message_for_the_customer():
    js = SIGN_JS.read_text()
    wait = js[
        js.index("function waitFor") : js.index(
            "// ------------------------------------------------------------------ results panel"
        )
    ]
    assert "root.dataset.waitSeconds" in js
    assert "reject(new Error(WAIT_TIMEOUT_MESSAGE))" in wait and "timeoutSeconds * 1000" in wait

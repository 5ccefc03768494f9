"""Importing the settings has no side effects on disk, and sign-in goes to the app's own page."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_settings_creates_no_directory(tmp_path):
    static_root = tmp_path / "not-yet-collected"
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_ENV", "DJANGO_DEBUG")}
    env.update(DJANGO_SETTINGS_MODULE="sigweb.settings", SIGWEB_STATIC_ROOT=str(static_root))
    code = "import django; django.setup(); from django.conf import settings as s; print(s.STATIC_ROOT)"
    out = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(static_root)
    assert not static_root.exists()


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_the_apps_login_page(client):
    from django.conf import settings
    from django.shortcuts import resolve_url

    assert resolve_url(settings.LOGIN_URL) == "/login/"
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/dashboard/"

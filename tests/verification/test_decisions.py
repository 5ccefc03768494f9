"""One owner for the decision rule (verification/decisions.py), and the front end hears it from the server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from verification.decisions import decision_for, front_end_rules, threshold_resolve
from verification.models import Job

from fake_engine import FakeEngine

STATIC_JS = Path(__file__).resolve().parents[2] / "static" / "js"


def test_the_enrollment_threshold_wins_over_the_model():
    engine = FakeEngine(threshold=0.42)
    assert threshold_resolve(enrollment_threshold=None, engine=engine, n_refs=5) == pytest.approx(0.42)
    assert threshold_resolve(enrollment_threshold=0.8, engine=engine, n_refs=5) == pytest.approx(0.8)
    assert threshold_resolve(enrollment_threshold=0.0, engine=engine, n_refs=5) == 0.0  # zero is a threshold, not "unset"


class BucketedEngine(FakeEngine):
    """An engine whose checkpoint has one operating point per reference-count bucket."""

    def threshold_for(self, n_refs: int) -> float:
        return 0.9 if n_refs == 1 else 0.6


def test_the_models_threshold_is_the_operating_point_for_the_enrollments_reference_count():
    engine = BucketedEngine(threshold=0.42)
    assert threshold_resolve(enrollment_threshold=None, engine=engine, n_refs=1) == pytest.approx(0.9)
    assert threshold_resolve(enrollment_threshold=None, engine=engine, n_refs=5) == pytest.approx(0.6)
    assert threshold_resolve(enrollment_threshold=0.3, engine=engine, n_refs=1) == pytest.approx(0.3)


def test_review_band_follows_the_setting(settings):
    settings.SIGWEB_REVIEW_MARGIN = 0.3
    assert decision_for(score=0.25, threshold=0.5) == "review"
    assert decision_for(score=0.19, threshold=0.5) == "reject"
    assert front_end_rules()["review_margin"] == pytest.approx(0.3)


def _rules_on(page: bytes) -> dict:
    m = re.search(rb'<script id="rules-data" type="application/json">(.*?)</script>', page, re.S)
    assert m, "the page carries no rules-data JSON"
    return json.loads(m.group(1))


def test_pages_carry_the_margin_and_job_kinds_from_the_server(analyst_user, settings):
    settings.SIGWEB_REVIEW_MARGIN = 0.21
    client = Client()
    client.force_login(analyst_user)
    r = client.get("/dashboard/")
    assert r.status_code == 200
    rules = _rules_on(r.content)
    assert rules["review_margin"] == pytest.approx(0.21)
    assert rules["job_kinds"] == {k.value: str(k.label) for k in Job.Kind}


def test_scripts_do_not_repeat_the_server_rules():
    charts = (STATIC_JS / "charts.js").read_text()
    assert "0.15" not in charts and "rules.review_margin" in charts
    for name in ("jobs.js", "jobs_page.js"):
        text = (STATIC_JS / name).read_text()
        assert "rules.job_kinds" in text
        assert not any(f"{k.value}:" in text for k in Job.Kind), name


def test_the_pixel_cap_is_the_engines_unless_set_lower(settings):
    from ml.preprocess import MAX_PIXELS
    from verification.ml_engine import image_pixel_limit

    settings.SIGWEB_MAX_IMAGE_PIXELS = 0
    assert image_pixel_limit() == MAX_PIXELS
    settings.SIGWEB_MAX_IMAGE_PIXELS = 1000
    assert image_pixel_limit() == 1000
    settings.SIGWEB_MAX_IMAGE_PIXELS = MAX_PIXELS * 2
    assert image_pixel_limit() == MAX_PIXELS


def test_the_upload_limit_is_one_rule(settings):
    import io

    from verification.errors import DomainError
    from verification.services.signatures import upload_read

    class Upload(io.BytesIO):
        size = None

    settings.SIGWEB_MAX_UPLOAD_BYTES = 10
    assert upload_read(Upload(b"0123456789")) == b"0123456789"
    with pytest.raises(DomainError) as exc:
        upload_read(Upload(b"0123456789A"))  # no declared size: measured while reading
    assert exc.value.status == 413 and exc.value.code == "too_large"

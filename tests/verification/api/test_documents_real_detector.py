"""The document workflow with the real detector (``ml/weights/detector.pt``; skipped until it
exists), and a clear failure when no detector can be loaded."""

from __future__ import annotations

import numpy as np
import pytest
from document_files import named, small_page

from verification import ml_engine
from verification.models import Document

from fake_engine import FakeDetector
from job_wait import job_finished


def _overlap(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def test_no_detector_fails_the_job_clearly(admin_client, settings, tmp_path):
    ml_engine.detector_override(None)
    settings.SIGWEB_DETECTOR_PATH = str(tmp_path / "missing.pt")
    r = admin_client.post("/api/documents/", {"file": [named(small_page(), "p.png")]}, format="multipart")
    assert r.status_code == 202, r.content
    job = job_finished(r.json()["job"]["id"], timeout=30)
    assert job.status == "failed" and job.error.startswith("detector_unavailable")
    assert Document.objects.get(id=r.json()["id"]).status == "failed"


def test_real_detector_finds_the_signature_on_a_generated_page(admin_client):
    from ml.detection import DEFAULT_PATH

    if not DEFAULT_PATH.is_file():
        pytest.skip(f"no detector weights at {DEFAULT_PATH}")
    ml_engine.detector_override(None)
    page = small_page("writer-a", 3)
    import io

    from PIL import Image

    truth = FakeDetector().detect(np.asarray(Image.open(io.BytesIO(page)).convert("RGB")))[0]["box"]
    r = admin_client.post("/api/documents/", {"file": [named(page, "cheque.png")]}, format="multipart")
    assert r.status_code == 202, r.content
    job = job_finished(r.json()["job"]["id"], timeout=60)
    assert job.status == "succeeded", job.error
    doc = admin_client.get(f"/api/documents/{r.json()['id']}/").json()
    assert doc["detector_version"] and doc["detector_version"] != FakeDetector.version
    boxes = [c["box"] for c in doc["pages"][0]["candidates"]]
    assert boxes and max(_overlap(b, truth) for b in boxes) > 0.3

"""Training, registering and activating a model: the real ml engine, on a tiny synthetic run."""

import pytest
from tiny_training import tiny_train_config

from verification import ml_engine
from verification.demo import demo_strokes
from verification.models import Enrollment, Job, ModelVersion, Verification

pytestmark = pytest.mark.slow


def test_train_job_then_activate_reembeds_with_the_real_engine(admin_client, enrolled_customer, tmp_path):
    customer = enrolled_customer("writer-a")  # enrolled with the fake engine's default version
    fake_version = ModelVersion.objects.get(is_active=True).name

    ml_engine.engine_override(None)  # from here on the real ml engine: training writes a real checkpoint
    r = admin_client.post("/api/model-versions/train/", {"config": tiny_train_config(tmp_path)}, format="json")
    assert r.status_code == 202, r.content
    job = Job.objects.get(id=r.json()["id"])
    assert job.kind == "train" and job.status == "succeeded", job.error
    assert job.progress == 100 and job.queue == "gpu"
    mv = ModelVersion.objects.get(id=job.result["model_version_id"])
    assert not mv.is_active and mv.checkpoint_path.endswith("model.pt") and 0 <= mv.threshold <= 1

    r = admin_client.post(f"/api/model-versions/{mv.id}/activate/", format="json")
    assert r.status_code == 202, r.content
    reembed = Job.objects.get(id=r.json()["id"])
    assert reembed.status == "succeeded", reembed.error
    assert ModelVersion.objects.get(is_active=True) == mv
    enrollment = Enrollment.objects.get(customer=customer, status="active")
    assert enrollment.model_version == mv.name != fake_version
    assert enrollment.writer_params["model_version"] == mv.name

    r = admin_client.post("/api/verifications/?wait=5", {"customer": customer.id, "strokes": demo_strokes("writer-a", 31)}, format="json")
    assert r.status_code == 200, r.content
    v = Verification.objects.get(id=r.json()["verification"]["id"])
    assert v.model_version == mv.name and v.decision in {"accept", "reject", "review"}
    assert len(v.similarities) == 4


def test_bad_training_config_is_refused_at_once(admin_client):
    r = admin_client.post("/api/model-versions/train/", {"config": {"optim": {"no_such_key": 1}}}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_config"
    assert not Job.objects.exists()

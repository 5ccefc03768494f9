"""Training, registering and activating a model: the real ml engine, on a tiny synthetic run."""

import time

import pytest

from verification import ml_engine
from verification.demo import demo_strokes
from verification.models import Enrollment, Job, ModelVersion, Verification
from verification.selectors.enrollments import enrollment_writer_params

from job_wait import job_finished
from tiny_training import tiny_train_config

pytestmark = pytest.mark.slow


def test_train_job_then_activate_reembeds_with_the_real_engine(admin_client, enrolled_customer, tmp_path, settings):
    settings.SIGWEB_TRAIN_OUTPUT_DIR = tmp_path
    customer = enrolled_customer("writer-a")  # enrolled with the fake engine's default version
    fake_version = ModelVersion.objects.get(is_active=True).name

    ml_engine.engine_override(None)  # from here on the real ml engine: training writes a real checkpoint
    r = admin_client.post("/api/model-versions/train/", {"config": tiny_train_config(tmp_path)}, format="json")
    assert r.status_code == 202, r.content
    job = job_finished(r.json()["id"])
    assert job.kind == "train" and job.status == "succeeded", job.error
    assert job.progress == 100 and job.queue == "long"
    mv = ModelVersion.objects.get(id=job.result["model_version_id"])
    assert not mv.is_active and mv.checkpoint_path.endswith("model.pt") and 0 <= mv.threshold <= 1

    r = admin_client.post(f"/api/model-versions/{mv.id}/activate/", format="json")
    assert r.status_code == 202, r.content
    reembed = job_finished(r.json()["id"])
    assert reembed.status == "succeeded", reembed.error
    assert ModelVersion.objects.get(is_active=True) == mv
    enrollment = Enrollment.objects.get(customer=customer, status="active")
    assert enrollment.model_version == mv.name != fake_version
    assert enrollment_writer_params(enrollment=enrollment)[1]["model_version"] == mv.name

    r = admin_client.post(
        "/api/verifications/?wait=5", {"customer": customer.id, "strokes": demo_strokes("writer-a", 31)}, format="json"
    )
    assert r.status_code == 200, r.content
    v = Verification.objects.get(id=r.json()["verification"]["id"])
    assert v.model_version == mv.name and v.decision in {"accept", "reject", "review"}
    assert len(v.similarities) == 4


def test_bad_training_config_is_refused_at_once(admin_client):
    r = admin_client.post("/api/model-versions/train/", {"config": {"optim": {"no_such_key": 1}}}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_config"
    assert not Job.objects.exists()


@pytest.mark.parametrize("out", ["/tmp/sigweb-elsewhere", "../escape", "runs/../../escape", ""])
def test_training_output_outside_the_configured_folder_is_refused(admin_client, settings, tmp_path, out):
    settings.SIGWEB_TRAIN_OUTPUT_DIR = tmp_path / "runs"
    r = admin_client.post("/api/model-versions/train/", {"config": {"out": out}}, format="json")
    assert r.status_code == 400, r.content
    assert (
        r.json()["error"]["code"] == "invalid_config" and "SIGWEB_TRAIN_OUTPUT_DIR" in r.json()["error"]["message"] or out == ""
    )
    assert not Job.objects.exists()


def test_training_output_inside_the_folder_is_kept_there(settings, tmp_path):
    from verification.services.model_versions import train_output_path

    settings.SIGWEB_TRAIN_OUTPUT_DIR = tmp_path
    assert train_output_path("exp1/a") == (tmp_path / "exp1" / "a").resolve()
    assert train_output_path(str(tmp_path / "exp2")) == (tmp_path / "exp2").resolve()


def test_embedded_training_answers_202_at_once_and_runs_in_the_background(admin_client, settings, tmp_path):
    settings.SIGWEB_TRAIN_OUTPUT_DIR = tmp_path
    settings.SIGWEB_TASK_DELAY_SECONDS = 8  # the job sleeps first: a request that ran it inline would take 8 s
    ml_engine.engine_override(None)
    config = tiny_train_config(tmp_path)
    import ml.train  # noqa: F401  (torch's first import is not the request's time)

    t0 = time.monotonic()
    r = admin_client.post("/api/model-versions/train/", {"config": config}, format="json")
    elapsed = time.monotonic() - t0
    assert r.status_code == 202, r.content
    assert elapsed < 6 and Job.objects.get(id=r.json()["id"]).status in {"queued", "running"}
    job = job_finished(r.json()["id"])
    assert job.status == "succeeded", job.error
    assert job.result["checkpoint"].startswith(str(tmp_path))

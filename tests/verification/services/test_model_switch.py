"""A model switch streams references in chunks, survives a worker killed mid-chunk, resumes
from the cursor in the job row, fans out as chunk jobs, and flips the active version once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from verification import ml_engine
from verification.demo import demo_strokes
from verification.models import AuditEvent, Enrollment, Job, ModelVersion, ReferenceEmbedding, ReferenceSignature, WriterParams
from verification.services.job_sweep import jobs_sweep
from verification.services.model_versions import model_version_activate, model_version_register
from verification.services.references import reference_create

from job_wait import job_finished


class WorkerKilled(BaseException):
    """Not an Exception: nothing in SigWeb catches it, as nothing survives a killed process."""


@pytest.fixture(autouse=True)
def inline_long_jobs(monkeypatch):
    """Long jobs run inline, one after another (as separate workers would run them), instead of
    in background threads: the in-memory SQLite test database locks whole tables."""
    from verification.services import job_dispatch

    for task in ("model_reembed_task", "model_reembed_chunk_task"):
        monkeypatch.setitem(job_dispatch.QUEUE_FOR_TASK, f"verification.tasks.{task}", "short")


@pytest.fixture
def three_customers(enrolled_customer):
    return [enrolled_customer(w) for w in ("writer-a", "writer-b", "writer-c")]  # 12 references


@pytest.fixture
def new_version(tmp_path):
    ck = tmp_path / "next.pt"
    ck.write_bytes(b"next checkpoint")
    mv = model_version_register(checkpoint_path=str(ck))
    return mv, ml_engine.engine_get(str(ck))


def _count_embeds(engine, kill_on_call: int | None = None):
    seen: list[int] = []
    real = engine.embed

    def embed(items, batch_size=64):
        items = list(items)
        if kill_on_call is not None and len(seen) + 1 == kill_on_call:
            seen.append(-1)
            raise WorkerKilled("the worker died in the middle of a chunk")
        seen.append(len(items))
        return real(items, batch_size)

    engine.embed = embed
    return seen


def test_killed_switch_resumes_from_its_cursor_and_flips_once(settings, admin_client, three_customers, new_version):
    settings.SIGWEB_REEMBED_CHUNK = 3
    mv, engine = new_version
    old = ModelVersion.objects.get(is_active=True)
    calls = _count_embeds(engine, kill_on_call=3)
    with pytest.raises(WorkerKilled):
        model_version_activate(model_version=mv)
    job = Job.objects.get(kind="reembed")
    assert job.status == "running" and calls == [3, 3, -1]  # killed during the third chunk
    assert job.params["cursor"] == sorted(ReferenceSignature.objects.values_list("id", flat=True))[5]
    assert ReferenceEmbedding.objects.filter(model_version=mv.name).count() == 6  # two chunks committed
    assert ModelVersion.objects.get(is_active=True) == old  # the old version still serves
    r = admin_client.post(
        "/api/verifications/?wait=2", {"customer": three_customers[0].id, "strokes": demo_strokes("writer-a", 9)}, format="json"
    )
    assert r.json()["verification"]["model_version"] == old.name

    assert jobs_sweep(now=timezone.now() + timedelta(seconds=settings.SIGWEB_TIME_LIMITS["reembed"] + 60))["failed"] == 1
    assert Job.objects.get(id=job.id).status == "failed"
    assert AuditEvent.objects.filter(action="model_version.activate_fail").count() == 1

    reference_create(customer=three_customers[1], source="pad", strokes=demo_strokes("writer-b", 20))  # added meanwhile
    calls = _count_embeds(engine)
    resumed = model_version_activate(model_version=mv)
    assert resumed.params["cursor"] == job.params["cursor"]
    finished = job_finished(resumed.id)
    assert finished.status == "succeeded", finished.error
    assert sum(calls) == 7  # the six references after the cursor and the one added meanwhile, nothing twice
    assert ReferenceEmbedding.objects.filter(model_version=mv.name).count() == 13
    assert ModelVersion.objects.get(is_active=True) == mv
    assert AuditEvent.objects.filter(action="model_version.activate").count() == 1
    assert finished.result["enrollments"] == 3 and finished.result["references"] == 13
    for enrollment in Enrollment.objects.filter(status="active"):
        assert WriterParams.objects.filter(enrollment=enrollment, model_version=mv.name).exists()
        assert enrollment.model_version == mv.name  # the older columns are mirrored after the flip
    # the old version keeps its rows, the reference added during the switch included
    assert ReferenceEmbedding.objects.filter(model_version=old.name).count() == 13
    r = admin_client.post(
        "/api/verifications/?wait=2", {"customer": three_customers[0].id, "strokes": demo_strokes("writer-a", 9)}, format="json"
    )
    assert r.json()["verification"]["model_version"] == mv.name


def test_switch_fans_out_as_chunk_jobs(settings, three_customers, new_version):
    settings.SIGWEB_REEMBED_CHUNK = 2
    settings.SIGWEB_REEMBED_REFS_PER_JOB = 5
    mv, engine = new_version
    calls = _count_embeds(engine)
    job = model_version_activate(model_version=mv)
    finished = job_finished(job.id)
    assert finished.status == "succeeded", finished.error
    chunks = Job.objects.filter(kind="reembed_chunk")
    assert chunks.count() == 3 and set(chunks.values_list("status", flat=True)) == {"succeeded"}
    assert sum(j.result["embedded"] for j in chunks) == 12 == sum(calls) and max(calls) <= 2
    assert finished.result["chunk_jobs"] == 3 and finished.result["enrollments"] == 3
    assert ModelVersion.objects.get(is_active=True) == mv
    assert AuditEvent.objects.filter(action="model_version.activate").count() == 1


def test_a_second_switch_while_one_runs_is_refused(three_customers, new_version):
    from verification.errors import DomainError

    mv, _ = new_version
    Job.objects.create(kind="reembed", status="running", params={"model_version_id": mv.id})
    with pytest.raises(DomainError) as err:
        model_version_activate(model_version=mv)
    assert err.value.status == 409

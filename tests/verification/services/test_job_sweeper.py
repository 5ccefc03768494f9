"""Jobs are never left queued or running forever: start retries, the sweeper, long jobs never twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from verification.demo import demo_strokes
from verification.models import AuditEvent, Job, Verification
from verification.services import jobs as job_services
from verification.services.job_dispatch import LOST_MARGIN_SECONDS
from verification.services.job_sweep import jobs_sweep
from verification.services.jobs import job_start
from verification.services.verifications import verification_create


@pytest.fixture
def flaky_start(monkeypatch):
    """job_start fails with SQLite's 'database is locked' the first ``n`` calls."""
    real = job_services.job_start
    calls = {"left": 0, "raised": 0}

    def flaky(*, job_id):
        if calls["left"] > 0:
            calls["left"] -= 1
            calls["raised"] += 1
            raise OperationalError("database is locked")
        return real(job_id=job_id)

    monkeypatch.setattr(job_services, "job_start", flaky)

    def arm(n: int):
        calls["left"] = n
        return calls

    return arm


def test_locked_database_at_job_start_is_retried_in_the_same_delivery(admin_client, enrolled_customer, flaky_start):
    customer = enrolled_customer("writer-a")
    calls = flaky_start(2)
    r = admin_client.post(
        "/api/verifications/?wait=5", {"customer": customer.id, "strokes": demo_strokes("writer-a", 9)}, format="json"
    )
    assert r.status_code == 200, r.content
    assert calls["raised"] == 2
    v = Verification.objects.get(id=r.json()["verification"]["id"])
    assert v.status == "done" and v.decision
    assert v.job.status == "succeeded" and v.job.attempts == 1


def test_job_that_could_not_start_stays_queued_and_the_sweeper_resends_it(enrolled_customer, flaky_start, settings):
    customer = enrolled_customer("writer-a")
    flaky_start(100)  # locked for the whole in-process delivery
    v = verification_create(customer=customer, strokes=demo_strokes("writer-a", 9))
    job = Job.objects.get(id=v.job_id)
    assert job.status == "queued" and job.attempts == 0 and job.dispatches == 1

    flaky_start(0)
    assert jobs_sweep() == {"resent": 0, "failed": 0}  # not stale yet
    later = timezone.now() + timedelta(seconds=settings.SIGWEB_QUEUED_REDISPATCH_SECONDS + 1)
    assert jobs_sweep(now=later) == {"resent": 1, "failed": 0}
    job.refresh_from_db()
    v.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 1 and job.dispatches == 2
    assert v.status == "done" and v.decision
    assert AuditEvent.objects.filter(action="job.sweep_resend", details__job_id=str(job.id)).count() == 1


def test_queued_job_fails_after_max_sends_and_its_verification_with_it(enrolled_customer, flaky_start, settings):
    settings.SIGWEB_JOB_MAX_ATTEMPTS = 2
    customer = enrolled_customer("writer-a")
    flaky_start(10_000)
    v = verification_create(customer=customer, strokes=demo_strokes("writer-a", 9))
    step = timedelta(seconds=settings.SIGWEB_QUEUED_REDISPATCH_SECONDS + 1)
    assert jobs_sweep(now=timezone.now() + step)["resent"] == 1
    assert jobs_sweep(now=timezone.now() + 3 * step) == {"resent": 0, "failed": 1}
    v.refresh_from_db()
    assert v.job.status == "failed" and "gave up" in v.job.error
    assert v.status == "failed"
    assert AuditEvent.objects.filter(action="job.sweep_fail").count() == 1


def _dead_running(job: Job, seconds_ago: float) -> None:
    """The job started on a worker that then died: running, with a heartbeat that stopped."""
    Job.objects.filter(id=job.id).update(
        status=Job.Status.RUNNING,
        attempts=1,
        started_at=timezone.now(),
        heartbeat_at=timezone.now() - timedelta(seconds=seconds_ago),
    )


def test_running_short_job_of_a_dead_worker_is_resent_after_the_short_time_limit(enrolled_customer, flaky_start, settings):
    customer = enrolled_customer("writer-a")
    flaky_start(10_000)
    v = verification_create(customer=customer, strokes=demo_strokes("writer-a", 9))
    flaky_start(0)
    limit = settings.SIGWEB_TIME_LIMITS["short"]
    _dead_running(v.job, seconds_ago=limit - 5)
    assert jobs_sweep() == {"resent": 0, "failed": 0}  # may still be running: not touched
    _dead_running(v.job, seconds_ago=limit + LOST_MARGIN_SECONDS + 1)
    assert jobs_sweep() == {"resent": 1, "failed": 0}
    v.refresh_from_db()
    assert v.job.status == "succeeded" and v.job.attempts == 2 and v.status == "done"
    assert Verification.objects.filter(customer=customer).count() == 1


def test_running_train_job_is_never_handed_out_twice(settings, admin_user, tmp_path):
    settings.SIGWEB_TRAIN_OUTPUT_DIR = tmp_path
    job = job_services.job_create(kind=Job.Kind.TRAIN, params={"config": {}}, dispatch=False)
    assert job_start(job_id=str(job.id)).status == "running"
    assert job_start(job_id=str(job.id)) is None  # a second delivery while it runs
    job.refresh_from_db()
    assert job.attempts == 1 and job.status == "running"

    # its worker dies: the sweeper fails it after the train time limit instead of restarting it
    _dead_running(job, seconds_ago=settings.SIGWEB_TIME_LIMITS["train"] - 60)
    assert jobs_sweep() == {"resent": 0, "failed": 0}
    _dead_running(job, seconds_ago=settings.SIGWEB_TIME_LIMITS["train"] + LOST_MARGIN_SECONDS + 1)
    assert jobs_sweep() == {"resent": 0, "failed": 1}
    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 1 and "not restarted" in job.error


def test_jobs_sweep_command_prints_counts(capsys):
    from django.core.management import call_command

    call_command("jobs_sweep")
    assert capsys.readouterr().out.strip() == '{"resent": 0, "failed": 0}'


def test_a_job_from_before_heartbeats_is_swept_by_its_creation_time(enrolled_customer, flaky_start, settings):
    customer = enrolled_customer("writer-a")
    flaky_start(10_000)
    v = verification_create(customer=customer, strokes=demo_strokes("writer-a", 9))
    flaky_start(0)
    Job.objects.filter(id=v.job_id).update(heartbeat_at=None)
    later = timezone.now() + timedelta(seconds=settings.SIGWEB_QUEUED_REDISPATCH_SECONDS + 1)
    assert jobs_sweep(now=later) == {"resent": 1, "failed": 0}
    v.refresh_from_db()
    assert v.status == "done"

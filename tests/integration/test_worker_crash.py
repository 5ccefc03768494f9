"""A worker killed in the middle of a job: the job is retried and finishes exactly once."""

from __future__ import annotations

import time

from test_celery_worker import enroll_through_worker

from conftest import wait_for
from verification.demo import demo_strokes
from verification.models import Job, Verification
from verification.services.verifications import verification_create


def _running_with_progress(job_id):
    job = Job.objects.get(id=job_id)
    return job.status == "running" and job.progress > 0 and job


def test_sigkilled_worker_job_is_redelivered_and_finishes_once(start_worker, engine_in_test_process):
    # Visibility timeout short enough for a test: an unacknowledged message of a dead
    # worker is handed to another worker after it (production: above the longest job).
    fast = {"SIGWEB_BROKER_VISIBILITY_TIMEOUT": "6"}
    first = start_worker(**fast)
    customer = enroll_through_worker("CRASH-1", "writer-crash")
    first.stop()

    doomed = start_worker(SIGWEB_TASK_DELAY_SECONDS="60", **fast)
    v = verification_create(customer=customer, strokes=demo_strokes("writer-crash", 7))
    wait_for(lambda: _running_with_progress(v.job_id), 60, what="the job to start on the doomed worker")
    doomed.kill()  # SIGKILL: no warm shutdown, the message stays unacknowledged in Redis
    job = Job.objects.get(id=v.job_id)
    assert job.status == "running" and job.attempts == 1

    start_worker(**fast)
    wait_for(lambda: Job.objects.get(id=v.job_id).status == "succeeded", 90, what="the redelivered job to finish")
    time.sleep(2)  # room for a duplicate delivery to show up, if there were one
    job.refresh_from_db()
    v.refresh_from_db()
    assert job.attempts == 2
    assert v.status == "done" and v.decision
    assert Verification.objects.filter(customer=customer).count() == 1
    assert job.result["verification_id"] == v.id


def test_killed_pool_process_is_rejected_and_requeued(start_worker, engine_in_test_process):
    """reject_on_worker_lost: the worker's main process requeues the job of a child that died."""
    worker = start_worker(SIGWEB_TASK_DELAY_SECONDS="3")
    customer = enroll_through_worker("CRASH-2", "writer-child")
    v = verification_create(customer=customer, strokes=demo_strokes("writer-child", 8))
    wait_for(lambda: _running_with_progress(v.job_id), 60, what="the job to start")
    children = worker.child_pids()
    assert children, worker.output()
    import os
    import signal

    for pid in children:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: Job.objects.get(id=v.job_id).status == "succeeded", 90, what="the requeued job to finish")
    time.sleep(1)
    job = Job.objects.get(id=v.job_id)
    v.refresh_from_db()
    assert job.attempts == 2, worker.output()[-3000:]
    assert v.status == "done" and Verification.objects.filter(customer=customer).count() == 1

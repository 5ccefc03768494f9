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


def test_sigkilled_short_worker_job_finishes_within_the_redelivery_bound(start_worker, engine_in_test_process):
    """The whole short-queue worker is SIGKILLed mid-job; the broker's visibility timeout stays
    at its default (hours): the job sweeper of the next worker resends it, within
    SIGWEB_SHORT_REDELIVERY_SECONDS (shortened here from 300 s to 60 s; the short time limit
    and sweep interval follow from it)."""
    bound = 60
    fast = {"SIGWEB_SHORT_REDELIVERY_SECONDS": str(bound)}
    first = start_worker(queues="short", **fast)
    customer = enroll_through_worker("CRASH-1", "writer-crash")
    first.stop()

    doomed = start_worker(queues="short", SIGWEB_TASK_DELAY_SECONDS="8", **fast)
    v = verification_create(customer=customer, strokes=demo_strokes("writer-crash", 7))
    wait_for(lambda: _running_with_progress(v.job_id), 60, what="the job to start on the doomed worker")
    doomed.kill()  # SIGKILL: no warm shutdown, the message stays unacknowledged in Redis
    killed_at = time.monotonic()
    job = Job.objects.get(id=v.job_id)
    assert job.status == "running" and job.attempts == 1

    survivor = start_worker(queues="short", **fast)
    wait_for(lambda: Job.objects.get(id=v.job_id).status == "succeeded", bound + 30, what="the resent job to finish")
    took = time.monotonic() - killed_at
    print(f"SIGKILLed short worker: job finished {took:.1f} s after the kill (bound {bound} s)")
    assert took < bound, survivor.output()[-3000:]
    time.sleep(2)  # room for a duplicate delivery to show up, if there were one
    job.refresh_from_db()
    v.refresh_from_db()
    assert job.attempts == 2 and job.dispatches == 2
    assert v.status == "done" and v.decision
    assert Verification.objects.filter(customer=customer).count() == 1
    assert job.result["verification_id"] == v.id


def test_sigkilled_long_worker_train_job_is_failed_not_handed_out_again(start_worker, engine_in_test_process, settings, tmp_path):
    """A training job whose worker dies is never started a second time: the long task was
    acknowledged on receipt, and the sweeper fails the job once it is silent past its limit."""
    from verification.services.model_versions import model_train_start

    env = {"SIGWEB_TRAIN_TIME_LIMIT": "20", "SIGWEB_TRAIN_OUTPUT_DIR": str(tmp_path), "SIGWEB_TASK_DELAY_SECONDS": "15"}
    settings.SIGWEB_TRAIN_OUTPUT_DIR = tmp_path
    doomed = start_worker(queues="long", **env)
    job = model_train_start(config={"optim": {"epochs": 1}})
    wait_for(lambda: _running_with_progress(job.id), 60, what="the training job to start")
    doomed.kill()
    start_worker(queues="long", **{**env, "SIGWEB_SWEEP_INTERVAL_SECONDS": "2"})
    wait_for(lambda: Job.objects.get(id=job.id).status == "failed", 90, what="the sweeper to fail the lost training job")
    job.refresh_from_db()
    assert job.attempts == 1 and "not restarted" in job.error


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

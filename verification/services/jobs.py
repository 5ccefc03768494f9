"""Jobs: the database record of every background piece of work, and its life cycle.

A job is created inside the caller's transaction and its Celery task is sent only after
that transaction commits. A task receives the job id, ``job_start`` locks the row and
returns None when the job is already finished (a redelivered message is harmless), and
the work ends in ``job_finishing``, a locked block that writes the results and marks the
job done exactly once, even when two deliveries of one message race.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from typing import Callable, Iterator

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sigweb.queues import Queue
from verification.broadcast import broadcast_job
from verification.models import Customer, Job

log = logging.getLogger(__name__)

# Which Celery task runs which kind of job (names resolved lazily: tasks import services).
TASK_FOR_KIND = {
    Job.Kind.EMBED_REFERENCE: "verification.tasks.reference_embed_task",
    Job.Kind.ENROLL: "verification.tasks.enrollment_fit_task",
    Job.Kind.VERIFY: "verification.tasks.verification_score_task",
    Job.Kind.REEMBED: "verification.tasks.model_reembed_task",
    Job.Kind.TRAIN: "verification.tasks.model_train_task",
}


def _queue_for(task_name: str) -> str:
    route = settings.CELERY_TASK_ROUTES.get(task_name, {})
    return route.get("queue", Queue.DEFAULT.value)


def job_create(*, kind: str, params: dict | None = None, customer: Customer | None = None, created_by=None,
               dispatch: bool = True) -> Job:
    """Record a job and send its task once the surrounding transaction commits.

    ``dispatch=False`` leaves the sending to ``job_dispatch``, for callers that must
    register their own after-commit broadcasts first: on-commit callbacks run in the
    order they were registered, and an in-process task finishes inside its send.
    """
    task_name = TASK_FOR_KIND[kind]
    job = Job.objects.create(
        kind=kind,
        params=params or {},
        customer=customer,
        created_by=created_by,
        queue=_queue_for(task_name),
        task_id=str(uuid.uuid4()),
        message="queued",
    )
    broadcast_job(job)
    if dispatch:
        job_dispatch(job=job)
    return job


def job_dispatch(*, job: Job) -> None:
    """Send the job's task once the surrounding transaction commits."""
    task_name, job_id, task_id = TASK_FOR_KIND[job.kind], str(job.id), job.task_id
    transaction.on_commit(lambda: _send_task(task_name, job_id, task_id))


def _send_task(task_name: str, job_id: str, task_id: str) -> None:
    import verification.tasks  # noqa: F401  (registers the tasks; tasks import services)
    from sigweb.celery import app

    app.tasks[task_name].apply_async(args=[job_id], task_id=task_id)


def job_start(*, job_id: str) -> Job | None:
    """Lock the job and mark it running; None when it is finished or gone (nothing to do)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(id=job_id).first()
        if job is None or job.is_done:
            return None
        job.status = Job.Status.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.message = "started" if job.attempts == 1 else f"restarted (attempt {job.attempts})"
        job.save(update_fields=["status", "attempts", "started_at", "message"])
        broadcast_job(job)
    return job


def job_progress(*, job: Job, fraction: float, message: str = "") -> None:
    """Record progress (0..1) without locking; ignored once the job is finished."""
    progress = max(0, min(99, int(round(float(fraction) * 100))))
    job.progress = max(job.progress, progress)
    if message:
        job.message = message[:300]
    Job.objects.filter(id=job.id).exclude(status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED]).update(
        progress=job.progress, message=job.message
    )
    broadcast_job(job)


@contextlib.contextmanager
def job_finishing(*, job_id: str) -> Iterator[Job | None]:
    """A transaction holding the job's lock; yields None when another delivery finished it.

    Write the job's results inside the block, then call ``job_succeed``.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(id=job_id).first()
        if job is None or job.is_done:
            yield None
            return
        yield job


def job_succeed(*, job: Job, result: dict | None = None, message: str = "done") -> None:
    job.status = Job.Status.SUCCEEDED
    job.progress = 100
    job.result = result or {}
    job.message = message
    job.error = ""
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "progress", "result", "message", "error", "finished_at"])
    broadcast_job(job)


def job_fail(*, job_id: str, error: str, on_fail: Callable[[Job], None] | None = None) -> bool:
    """Mark a job failed (once); ``on_fail`` marks the job's domain rows failed in the same transaction."""
    with job_finishing(job_id=job_id) as job:
        if job is None:
            return False
        job.status = Job.Status.FAILED
        job.error = str(error)[:5000]
        job.message = "failed"
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "error", "message", "finished_at"])
        if on_fail is not None:
            on_fail(job)
        broadcast_job(job)
    return True


def job_delay_for_tests(*, job: Job) -> None:
    """Sleep ``SIGWEB_TASK_DELAY_SECONDS`` in progress steps (test/debug only; 0 in production)."""
    delay = float(settings.SIGWEB_TASK_DELAY_SECONDS or 0)
    if delay <= 0:
        return
    steps = 10
    for i in range(steps):
        time.sleep(delay / steps)
        job_progress(job=job, fraction=0.5 * (i + 1) / steps, message=f"waiting (debug delay) {i + 1}/{steps}")

"""Jobs: the database record of every background piece of work, and its life cycle.

A job is created inside the caller's transaction (``job_create``) and its task is sent only
after that transaction commits (``services/job_dispatch.py``). A task receives the job id,
``job_start`` locks the row and returns None when the job is already finished (a
redelivered message is harmless), and the work ends in ``job_finishing``, a locked block
that writes the results and marks the job done exactly once, even when two deliveries of
one message race. ``job_start`` sends the ``verification.signals.job_started`` signal once
the job runs (tests connect to it; the product does not).

The job table, not the broker, decides when a job is lost: see ``services/job_sweep.py``.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator

from django.db import transaction
from django.utils import timezone

from verification.broadcast import broadcast_job
from verification.models import Customer, Job
from verification.services.job_dispatch import LONG_KINDS, TASK_FOR_KIND, job_dispatch, queue_for_task
from verification.signals import job_started

log = logging.getLogger(__name__)


def job_create(
    *, kind: str, params: dict | None = None, customer: Customer | None = None, created_by=None, dispatch: bool = True
) -> Job:
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
        queue=queue_for_task(task_name),
        task_id=str(uuid.uuid4()),
        message="queued",
        heartbeat_at=timezone.now(),
    )
    broadcast_job(job)
    if dispatch:
        job_dispatch(job=job)
    return job


def job_start(*, job_id: str) -> Job | None:
    """Lock the job and mark it running; None when there is nothing to do.

    Nothing to do: the job is finished or gone, or it is a long job that is already
    running (a long job is never handed out a second time).
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(id=job_id).first()
        if job is None or job.is_done:
            return None
        if job.kind in LONG_KINDS and job.status == Job.Status.RUNNING:
            log.warning("long job %s is already running; a second delivery is ignored", job_id)
            return None
        job.status = Job.Status.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.message = "started" if job.attempts == 1 else f"restarted (attempt {job.attempts})"
        job.save(update_fields=["status", "attempts", "started_at", "heartbeat_at", "message"])
        broadcast_job(job)
    job_started.send(sender=Job, job=job)
    return job


def job_requeue(*, job_id: str, reason: str) -> None:
    """Put a running job back to queued before its task retries (so a long job may start again)."""
    with transaction.atomic():
        updated = Job.objects.filter(id=job_id, status=Job.Status.RUNNING).update(
            status=Job.Status.QUEUED, message=f"retrying: {reason}"[:300], heartbeat_at=timezone.now()
        )
    if updated:
        log.info("job %s requeued for a retry: %s", job_id, reason)


def job_progress(*, job: Job, fraction: float, message: str = "") -> None:
    """Record progress (0..1) without locking; ignored once the job is finished."""
    progress = max(0, min(99, int(round(float(fraction) * 100))))
    job.progress = max(job.progress, progress)
    if message:
        job.message = message[:300]
    Job.objects.filter(id=job.id).exclude(status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED]).update(
        progress=job.progress, message=job.message, heartbeat_at=timezone.now()
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

"""Jobs: the database record of every background piece of work, and its life cycle.

A job is created inside the caller's transaction and its Celery task is sent only after
that transaction commits. A task receives the job id, ``job_start`` locks the row and
returns None when the job is already finished (a redelivered message is harmless), and
the work ends in ``job_finishing``, a locked block that writes the results and marks the
job done exactly once, even when two deliveries of one message race.

The job table, not the broker, decides when a job is lost: ``jobs_sweep`` resends a job
that was sent but never started, or a short job whose heartbeat stopped for longer than
the short time limit (its worker died), and fails a long job (re-embed, train) whose
worker died: a long job is never handed out a second time. The sweeper runs in every
Celery worker (``verification/sweeper.py``), in the web process in embedded mode, and as
``manage.py jobs_sweep``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from datetime import timedelta
from typing import Callable, Iterator

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from sigweb.queues import QUEUE_FOR_TASK, Queue
from verification.broadcast import broadcast_job
from verification.models import Customer, Job
from verification.services.audit import audit_record

log = logging.getLogger(__name__)

# Which Celery task runs which kind of job (names resolved lazily: tasks import services).
TASK_FOR_KIND = {
    Job.Kind.EMBED_REFERENCE: "verification.tasks.reference_embed_task",
    Job.Kind.ENROLL: "verification.tasks.enrollment_fit_task",
    Job.Kind.VERIFY: "verification.tasks.verification_score_task",
    Job.Kind.REEMBED: "verification.tasks.model_reembed_task",
    Job.Kind.TRAIN: "verification.tasks.model_train_task",
}


# Kinds of the long queue: acknowledged on receipt, never started twice, failed when lost.
LONG_KINDS = frozenset(kind for kind, task in TASK_FOR_KIND.items() if QUEUE_FOR_TASK[task] == Queue.LONG)
# Time limit (settings.SIGWEB_TIME_LIMITS key) of each kind.
TIME_LIMIT_FOR_KIND = {
    Job.Kind.EMBED_REFERENCE: "short",
    Job.Kind.ENROLL: "short",
    Job.Kind.VERIFY: "short",
    Job.Kind.REEMBED: "reembed",
    Job.Kind.TRAIN: "train",
}
# Seconds past its time limit before a silent running job counts as lost.
LOST_MARGIN_SECONDS = 10


def _queue_for(task_name: str) -> str:
    route = settings.CELERY_TASK_ROUTES.get(task_name, {})
    return route.get("queue", settings.CELERY_TASK_DEFAULT_QUEUE)


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
        heartbeat_at=timezone.now(),
    )
    broadcast_job(job)
    if dispatch:
        job_dispatch(job=job)
    return job


def job_dispatch(*, job: Job) -> None:
    """Send the job's task once the surrounding transaction commits."""
    task_name, job_id, task_id = TASK_FOR_KIND[job.kind], str(job.id), job.task_id
    Job.objects.filter(id=job.id).update(dispatches=F("dispatches") + 1, heartbeat_at=timezone.now())
    transaction.on_commit(lambda: _send_task(task_name, job_id, task_id))


def _send_task(task_name: str, job_id: str, task_id: str) -> None:
    """Send (or, without a broker, run) the task. A failure to send leaves the job to the sweeper."""
    import verification.tasks  # noqa: F401  (registers the tasks; tasks import services)
    from sigweb.celery import app

    task = app.tasks[task_name]
    if app.conf.task_always_eager and QUEUE_FOR_TASK.get(task_name) == Queue.LONG:
        # Embedded mode: a long job runs in a background thread; the request answers at once.
        thread = threading.Thread(target=_run_in_thread, args=(task, job_id, task_id), name=f"sigweb-job-{job_id}", daemon=True)
        thread.start()
        return
    try:
        task.apply_async(args=[job_id], task_id=task_id)
    except Exception:  # noqa: BLE001  the broker is down: the job stays queued, the sweeper resends it
        log.exception("could not send job %s; the job sweeper will resend it", job_id)


def _run_in_thread(task, job_id: str, task_id: str) -> None:
    close_old_connections()
    try:
        task.apply(args=[job_id], task_id=task_id)
    finally:
        connection.close()


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


def job_delay_for_tests(*, job: Job) -> None:
    """Sleep ``SIGWEB_TASK_DELAY_SECONDS`` in progress steps (test/debug only; 0 in production)."""
    delay = float(settings.SIGWEB_TASK_DELAY_SECONDS or 0)
    if delay <= 0:
        return
    steps = 10
    for i in range(steps):
        time.sleep(delay / steps)
        job_progress(job=job, fraction=0.5 * (i + 1) / steps, message=f"waiting (debug delay) {i + 1}/{steps}")


def jobs_sweep(*, now=None) -> dict:
    """Resend lost jobs and fail dead long ones, from the job table; returns counts.

    * queued, sent but not started for ``SIGWEB_QUEUED_REDISPATCH_SECONDS`` (short kinds) or
      for its time limit (long kinds, which may wait behind another long job): resent;
    * running short job silent for longer than the short time limit: its worker died
      (a live task is killed at that limit), so it is resent;
    * running long job silent for longer than its time limit: failed, not restarted;
    * a job sent or started ``SIGWEB_JOB_MAX_ATTEMPTS`` times: failed.
    """
    now = now or timezone.now()
    queued_after = timedelta(seconds=settings.SIGWEB_QUEUED_REDISPATCH_SECONDS)
    max_attempts = int(settings.SIGWEB_JOB_MAX_ATTEMPTS)
    counts = {"resent": 0, "failed": 0}
    stale = Q()
    for kind, limit_key in TIME_LIMIT_FOR_KIND.items():
        lost_after = timedelta(seconds=settings.SIGWEB_TIME_LIMITS[limit_key] + LOST_MARGIN_SECONDS)
        waited = lost_after if kind in LONG_KINDS else queued_after
        stale |= Q(kind=kind, status=Job.Status.QUEUED, beat__lt=now - waited)
        stale |= Q(kind=kind, status=Job.Status.RUNNING, beat__lt=now - lost_after)
    # rows from before heartbeats were recorded fall back to their start or creation time
    beats = Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).annotate(
        beat=Coalesce("heartbeat_at", "started_at", "created_at")
    )
    candidates = list(beats.filter(stale).values_list("id", flat=True)[:500])
    for job_id in candidates:
        outcome = _sweep_one(job_id=job_id, now=now, max_attempts=max_attempts, queued_after=queued_after)
        if outcome:
            counts[outcome] += 1
    if counts["resent"] or counts["failed"]:
        log.warning("job sweeper: %(resent)s resent, %(failed)s failed", counts)
    return counts


def _sweep_one(*, job_id, now, max_attempts: int, queued_after: timedelta) -> str | None:
    with transaction.atomic():
        job = Job.objects.select_for_update(skip_locked=connection.features.has_select_for_update_skip_locked).filter(id=job_id).first()
        if job is None or job.is_done:
            return None
        limit = settings.SIGWEB_TIME_LIMITS[TIME_LIMIT_FOR_KIND[job.kind]]
        lost_after = timedelta(seconds=limit + LOST_MARGIN_SECONDS)
        waited = lost_after if job.kind in LONG_KINDS else queued_after
        beat = job.heartbeat_at or job.started_at or job.created_at
        if beat >= now - (waited if job.status == Job.Status.QUEUED else lost_after):
            return None  # it showed life since it was selected
        before = {"status": job.status, "attempts": job.attempts, "dispatches": job.dispatches}
        if job.status == Job.Status.RUNNING and job.kind in LONG_KINDS:
            error = f"worker lost: no sign of life for {int(lost_after.total_seconds())} s; a long job is not restarted, start it again"
        elif max(job.attempts, job.dispatches) >= max_attempts:
            error = f"gave up after {job.dispatches} sends and {job.attempts} starts"
        else:
            error = ""
        if error:
            from verification.tasks import FAIL_HANDLERS  # tasks import services

            ok = job_fail(job_id=str(job.id), error=error, on_fail=FAIL_HANDLERS.get(job.kind))
            if ok:
                audit_record(action="job.sweep_fail", customer=job.customer, before=before,
                             after={"status": Job.Status.FAILED}, details={"job_id": str(job.id), "kind": job.kind, "error": error})
            return "failed" if ok else None
        job.message = "resent by the job sweeper" if job.status == Job.Status.QUEUED else "worker lost; resent by the job sweeper"
        job.save(update_fields=["message"])
        job_dispatch(job=job)
        audit_record(action="job.sweep_resend", customer=job.customer, before=before,
                     after={"dispatches": job.dispatches + 1}, details={"job_id": str(job.id), "kind": job.kind})
        return "resent"

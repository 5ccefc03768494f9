"""Celery tasks: thin wrappers that take a job id and call one service.

Short tasks (embed, enroll, verify) acknowledge late and are re-queued when their worker
process dies; a whole worker that dies is covered by the job sweeper, which resends a
short job whose heartbeat stopped (``services/job_sweep.py``). Long tasks (re-embed, train)
are acknowledged on receipt and never start twice. Every task retries transient failures
(a locked or restarting database, also while starting the job) with exponential backoff,
and has the time limit of its class. ``job_start`` returns None for a job that is already
finished, so a redelivered message does nothing; the service's final write happens under
the job's row lock, so the work lands exactly once. A ``DomainError`` (bad input, closed
enrollment) fails the job at once, without retries.
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError

from verification.errors import DomainError
from verification.models import Job
from verification.services import jobs as job_services
from verification.services.job_handlers import FAIL_HANDLERS, WORK_FOR_KIND

log = logging.getLogger(__name__)

MAX_RETRIES = 3
_SHORT = settings.SIGWEB_TIME_LIMITS["short"]
_REEMBED = settings.SIGWEB_TIME_LIMITS["reembed"]
_TRAIN = settings.SIGWEB_TIME_LIMITS["train"]

_common = dict(bind=True, max_retries=MAX_RETRIES, ignore_result=True)
# short: acknowledged after the work, re-queued if the pool process dies
_short = dict(acks_late=True, reject_on_worker_lost=True, time_limit=_SHORT, soft_time_limit=_SHORT - 10, **_common)
# long: acknowledged when taken, so the broker never hands a running job to a second worker
_long = dict(acks_late=False, reject_on_worker_lost=False, **_common)

# Tries of job_start inside one delivery before the task itself retries (or, in-process,
# leaves the queued job to the sweeper): a locked database usually clears in milliseconds.
START_TRIES = 6


def _start(task, job_id: str) -> Job | None:
    for i in range(START_TRIES):
        try:
            return job_services.job_start(job_id=job_id)
        except DatabaseError as exc:
            if i == START_TRIES - 1:
                log.warning("job %s could not start: %s", job_id, exc)
                if getattr(task.request, "is_eager", False):
                    return None  # still queued: the job sweeper resends it
                raise task.retry(exc=exc, countdown=min(60, 2 ** (task.request.retries + 1))) from exc
            time.sleep(min(2.0, 0.05 * 2**i))
    return None


def _run(task, job_id: str, kind: str) -> None:
    work, on_fail = WORK_FOR_KIND[kind], FAIL_HANDLERS[kind]
    job = _start(task, job_id)
    if job is None:
        log.info("job %s: nothing to do (finished, running elsewhere, or not startable now)", job_id)
        return
    try:
        work(job=job)
    except DomainError as exc:
        job_services.job_fail(job_id=job_id, error=f"{exc.code}: {exc.message}", on_fail=on_fail)
    except SoftTimeLimitExceeded:
        job_services.job_fail(job_id=job_id, error="time limit exceeded", on_fail=on_fail)
    except DatabaseError as exc:  # transient: the database restarted, a lock timed out
        if task.request.retries >= task.max_retries or getattr(task.request, "is_eager", False):
            job_services.job_fail(job_id=job_id, error=f"database error: {exc}", on_fail=on_fail)
            return
        job_services.job_requeue(job_id=job_id, reason=f"database error: {exc}")
        raise task.retry(exc=exc, countdown=min(60, 2 ** (task.request.retries + 1))) from exc
    except Exception as exc:  # unexpected: retry with backoff, then record the failure
        log.exception("job %s failed (attempt %s)", job_id, task.request.retries + 1)
        if task.request.retries >= task.max_retries or getattr(task.request, "is_eager", False):
            job_services.job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}", on_fail=on_fail)
            return
        job_services.job_requeue(job_id=job_id, reason=f"{type(exc).__name__}: {exc}")
        raise task.retry(exc=exc, countdown=min(60, 2 ** (task.request.retries + 1))) from exc


@shared_task(name="verification.tasks.reference_embed_task", **_short)
def reference_embed_task(self, job_id: str) -> None:
    _run(self, job_id, Job.Kind.EMBED_REFERENCE)


@shared_task(name="verification.tasks.enrollment_fit_task", **_short)
def enrollment_fit_task(self, job_id: str) -> None:
    _run(self, job_id, Job.Kind.ENROLL)


@shared_task(name="verification.tasks.verification_score_task", **_short)
def verification_score_task(self, job_id: str) -> None:
    _run(self, job_id, Job.Kind.VERIFY)


@shared_task(name="verification.tasks.model_reembed_task", time_limit=_REEMBED, soft_time_limit=_REEMBED - 30, **_long)
def model_reembed_task(self, job_id: str) -> None:
    _run(self, job_id, Job.Kind.REEMBED)


@shared_task(name="verification.tasks.model_reembed_chunk_task", time_limit=_REEMBED, soft_time_limit=_REEMBED - 30, **_long)
def model_reembed_chunk_task(self, job_id: str) -> None:
    _run(self, job_id, Job.Kind.REEMBED_CHUNK)


@shared_task(name="verification.tasks.model_train_task", time_limit=_TRAIN, soft_time_limit=_TRAIN - 60, **_long)
def model_train_task(self, job_id: str) -> None:
    _run(self, job_id, Job.Kind.TRAIN)


@shared_task(name="verification.tasks.document_detect_page_task", **_short)
def document_detect_page_task(self, job_id: str) -> None:
    _run(self, job_id, Job.Kind.DETECT_PAGE)


@shared_task(name="verification.tasks.document_detect_batch_task", time_limit=_REEMBED, soft_time_limit=_REEMBED - 30, **_long)
def document_detect_batch_task(self, job_id: str) -> None:
    _run(self, job_id, Job.Kind.DETECT_BATCH)

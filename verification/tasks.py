"""Celery tasks: thin wrappers that take a job id and call one service.

Every task acknowledges late and is re-queued when its worker dies (settings), retries
transient failures with exponential backoff, and has a time limit. ``job_start`` returns
None for a job that is already finished, so a redelivered message does nothing; the
service's final write happens under the job's row lock, so the work lands exactly once.
A ``DomainError`` (bad input, closed enrollment) fails the job at once, without retries.
"""

from __future__ import annotations

import logging
from typing import Callable

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError

from verification.errors import DomainError
from verification.models import Job
from verification.services import jobs as job_services
from verification.services.enrollments import enrollment_fit, enrollment_fit_failed, reference_embed, reference_embed_failed
from verification.services.model_versions import model_reembed, model_train
from verification.services.verifications import verification_score, verification_score_failed

log = logging.getLogger(__name__)

MAX_RETRIES = 3
_SHORT = settings.SIGWEB_TIME_LIMITS["short"]
_REEMBED = settings.SIGWEB_TIME_LIMITS["reembed"]
_TRAIN = settings.SIGWEB_TIME_LIMITS["train"]

_common = dict(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    ignore_result=True,
)


def _run(task, job_id: str, work: Callable[..., None], on_fail: Callable[[Job], None] | None) -> None:
    job = job_services.job_start(job_id=job_id)
    if job is None:
        log.info("job %s is already finished; nothing to do", job_id)
        return
    try:
        work(job=job)
    except DomainError as exc:
        job_services.job_fail(job_id=job_id, error=f"{exc.code}: {exc.message}", on_fail=on_fail)
    except SoftTimeLimitExceeded:
        job_services.job_fail(job_id=job_id, error="time limit exceeded", on_fail=on_fail)
    except DatabaseError as exc:  # transient: the database restarted, a lock timed out
        if task.request.retries >= task.max_retries:
            job_services.job_fail(job_id=job_id, error=f"database error: {exc}", on_fail=on_fail)
            return
        raise task.retry(exc=exc, countdown=min(60, 2 ** (task.request.retries + 1)))
    except Exception as exc:  # unexpected: retry with backoff, then record the failure
        log.exception("job %s failed (attempt %s)", job_id, task.request.retries + 1)
        if task.request.retries >= task.max_retries or getattr(task.request, "is_eager", False):
            job_services.job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}", on_fail=on_fail)
            return
        raise task.retry(exc=exc, countdown=min(60, 2 ** (task.request.retries + 1)))


@shared_task(name="verification.tasks.reference_embed_task", time_limit=_SHORT, soft_time_limit=_SHORT - 10, **_common)
def reference_embed_task(self, job_id: str) -> None:
    _run(self, job_id, reference_embed, reference_embed_failed)


@shared_task(name="verification.tasks.enrollment_fit_task", time_limit=_SHORT, soft_time_limit=_SHORT - 10, **_common)
def enrollment_fit_task(self, job_id: str) -> None:
    _run(self, job_id, enrollment_fit, enrollment_fit_failed)


@shared_task(name="verification.tasks.verification_score_task", time_limit=_SHORT, soft_time_limit=_SHORT - 10, **_common)
def verification_score_task(self, job_id: str) -> None:
    _run(self, job_id, verification_score, verification_score_failed)


@shared_task(name="verification.tasks.model_reembed_task", time_limit=_REEMBED, soft_time_limit=_REEMBED - 30, **_common)
def model_reembed_task(self, job_id: str) -> None:
    _run(self, job_id, model_reembed, None)


@shared_task(name="verification.tasks.model_train_task", time_limit=_TRAIN, soft_time_limit=_TRAIN - 60, **_common)
def model_train_task(self, job_id: str) -> None:
    _run(self, job_id, model_train, None)

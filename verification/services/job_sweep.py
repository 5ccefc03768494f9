"""The job sweeper: the job table, not the broker, decides when a job is lost.

``jobs_sweep`` resends a job that was sent but never started, or a short job whose
heartbeat stopped for longer than the short time limit (its worker died), and fails a long
job (re-embed, train) whose worker died: a long job is never handed out a second time. The
sweeper runs in every Celery worker (``verification/sweeper.py``), in the web process in
embedded mode, and as ``manage.py jobs_sweep``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from verification.models import Job
from verification.services.audit import audit_record
from verification.services.job_dispatch import LONG_KINDS, LOST_MARGIN_SECONDS, TIME_LIMIT_FOR_KIND, job_dispatch
from verification.services.job_handlers import FAIL_HANDLERS
from verification.services.jobs import job_fail

log = logging.getLogger(__name__)


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
        job = (
            Job.objects.select_for_update(skip_locked=connection.features.has_select_for_update_skip_locked)
            .filter(id=job_id)
            .first()
        )
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
            silent = int(lost_after.total_seconds())
            error = f"worker lost: no sign of life for {silent} s; a long job is not restarted, start it again"
        elif max(job.attempts, job.dispatches) >= max_attempts:
            error = f"gave up after {job.dispatches} sends and {job.attempts} starts"
        else:
            error = ""
        if error:
            ok = job_fail(job_id=str(job.id), error=error, on_fail=FAIL_HANDLERS.get(job.kind))
            if ok:
                audit_record(
                    action="job.sweep_fail",
                    customer=job.customer,
                    before=before,
                    after={"status": Job.Status.FAILED},
                    details={"job_id": str(job.id), "kind": job.kind, "error": error},
                )
            return "failed" if ok else None
        job.message = "resent by the job sweeper" if job.status == Job.Status.QUEUED else "worker lost; resent by the job sweeper"
        job.save(update_fields=["message"])
        job_dispatch(job=job)
        audit_record(
            action="job.sweep_resend",
            customer=job.customer,
            before=before,
            after={"dispatches": job.dispatches + 1},
            details={"job_id": str(job.id), "kind": job.kind},
        )
        return "resent"

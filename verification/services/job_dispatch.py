"""Job dispatch: which Celery task runs which kind of job, and sending it after commit.

The tasks themselves live in ``verification/tasks.py`` (which calls services); here they
are named only, and looked up in the Celery app when sent (``VerificationConfig.ready``
registers them), so no service imports the tasks.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from sigweb.queues import QUEUE_FOR_TASK, Queue
from verification.models import Job

log = logging.getLogger(__name__)

# Which Celery task runs which kind of job.
TASK_FOR_KIND = {
    Job.Kind.EMBED_REFERENCE: "verification.tasks.reference_embed_task",
    Job.Kind.ENROLL: "verification.tasks.enrollment_fit_task",
    Job.Kind.VERIFY: "verification.tasks.verification_score_task",
    Job.Kind.REEMBED: "verification.tasks.model_reembed_task",
    Job.Kind.REEMBED_CHUNK: "verification.tasks.model_reembed_chunk_task",
    Job.Kind.TRAIN: "verification.tasks.model_train_task",
    Job.Kind.DETECT_PAGE: "verification.tasks.document_detect_page_task",
    Job.Kind.DETECT_BATCH: "verification.tasks.document_detect_batch_task",
}


# Kinds of the long queue: acknowledged on receipt, never started twice, failed when lost.
LONG_KINDS = frozenset(kind for kind, task in TASK_FOR_KIND.items() if QUEUE_FOR_TASK[task] == Queue.LONG)
# Time limit (settings.SIGWEB_TIME_LIMITS key) of each kind.
TIME_LIMIT_FOR_KIND = {
    Job.Kind.EMBED_REFERENCE: "short",
    Job.Kind.ENROLL: "short",
    Job.Kind.VERIFY: "short",
    Job.Kind.REEMBED: "reembed",
    Job.Kind.REEMBED_CHUNK: "reembed",
    Job.Kind.TRAIN: "train",
    Job.Kind.DETECT_PAGE: "short",
    Job.Kind.DETECT_BATCH: "reembed",
}
# Seconds past its time limit before a silent running job counts as lost.
LOST_MARGIN_SECONDS = 10


def queue_for_task(task_name: str) -> str:
    route = settings.CELERY_TASK_ROUTES.get(task_name, {})
    return route.get("queue", settings.CELERY_TASK_DEFAULT_QUEUE)


def job_dispatch(*, job: Job) -> None:
    """Send the job's task once the surrounding transaction commits."""
    task_name, job_id, task_id = TASK_FOR_KIND[job.kind], str(job.id), job.task_id
    Job.objects.filter(id=job.id).update(dispatches=F("dispatches") + 1, heartbeat_at=timezone.now())
    transaction.on_commit(lambda: _send_task(task_name, job_id, task_id))


def _send_task(task_name: str, job_id: str, task_id: str) -> None:
    """Send (or, without a broker, run) the task. A failure to send leaves the job to the sweeper."""
    from sigweb.celery import app

    task = app.tasks[task_name]
    if app.conf.task_always_eager and QUEUE_FOR_TASK.get(task_name) == Queue.LONG:
        # Embedded mode: a long job runs in a background thread; the request answers at once.
        thread = threading.Thread(target=_run_in_thread, args=(task, job_id, task_id), name=f"sigweb-job-{job_id}", daemon=True)
        thread.start()
        return
    try:
        task.apply_async(args=[job_id], task_id=task_id)
    except Exception:
        log.exception("could not send job %s; the job sweeper will resend it", job_id)


def _run_in_thread(task, job_id: str, task_id: str) -> None:
    close_old_connections()
    try:
        task.apply(args=[job_id], task_id=task_id)
    finally:
        connection.close()

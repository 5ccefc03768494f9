"""Every Celery queue SigWeb uses, named in one place, by duration.

``short``: interactive jobs that take about a second (embed a reference, enroll, verify)
and the job sweeper's work. A short job whose worker died is redone within
``SIGWEB_SHORT_REDELIVERY_SECONDS`` (the job sweeper, see ``verification/services/job_sweep.py``).
Run: ``celery -A sigweb worker -Q short --concurrency N``.

``long``: jobs of minutes to hours (re-embed every reference, train a model). A long job
is acknowledged when a worker takes it and is never handed out a second time: if its
worker dies, the sweeper marks it failed and an admin starts it again.
Run: ``celery -A sigweb worker -Q long --concurrency 1`` (one process per GPU).

Which task goes where is ``CELERY_TASK_ROUTES`` in settings (built from ``QUEUE_FOR_TASK``).
"""

from enum import StrEnum


class Queue(StrEnum):
    SHORT = "short"
    LONG = "long"


QUEUE_FOR_TASK: dict[str, Queue] = {
    "verification.tasks.reference_embed_task": Queue.SHORT,
    "verification.tasks.enrollment_fit_task": Queue.SHORT,
    "verification.tasks.verification_score_task": Queue.SHORT,
    "verification.tasks.document_detect_page_task": Queue.SHORT,
    "verification.tasks.document_detect_batch_task": Queue.LONG,
    "verification.tasks.model_reembed_task": Queue.LONG,
    "verification.tasks.model_reembed_chunk_task": Queue.LONG,
    "verification.tasks.model_train_task": Queue.LONG,
}

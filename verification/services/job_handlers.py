"""What each kind of job runs (the service doing the work) and what marks its rows failed.

Used by the Celery tasks (``verification/tasks.py``) and by the job sweeper, which fails a
lost job's domain rows with the same handler.
"""

from __future__ import annotations

from collections.abc import Callable

from verification.models import Job
from verification.services.documents import document_detect, document_detect_failed
from verification.services.enrollments import enrollment_fit, enrollment_fit_failed
from verification.services.model_switch import model_reembed, model_reembed_chunk, model_reembed_chunk_failed
from verification.services.model_versions import model_reembed_failed, model_train, model_train_failed
from verification.services.references import reference_embed, reference_embed_failed
from verification.services.verifications import verification_score, verification_score_failed

# The service that does a kind's work: ``work(job=job)``.
WORK_FOR_KIND: dict[str, Callable[..., None]] = {
    Job.Kind.EMBED_REFERENCE: reference_embed,
    Job.Kind.ENROLL: enrollment_fit,
    Job.Kind.VERIFY: verification_score,
    Job.Kind.REEMBED: model_reembed,
    Job.Kind.REEMBED_CHUNK: model_reembed_chunk,
    Job.Kind.TRAIN: model_train,
    Job.Kind.DETECT_PAGE: document_detect,
    Job.Kind.DETECT_BATCH: document_detect,
}

# What marks a job's domain rows failed (and audits the failure), by kind.
FAIL_HANDLERS: dict[str, Callable[[Job], None] | None] = {
    Job.Kind.EMBED_REFERENCE: reference_embed_failed,
    Job.Kind.ENROLL: enrollment_fit_failed,
    Job.Kind.VERIFY: verification_score_failed,
    Job.Kind.REEMBED: model_reembed_failed,
    Job.Kind.REEMBED_CHUNK: model_reembed_chunk_failed,
    Job.Kind.TRAIN: model_train_failed,
    Job.Kind.DETECT_PAGE: document_detect_failed,
    Job.Kind.DETECT_BATCH: document_detect_failed,
}

"""Switching the live model (re-embed) in bounded memory, resumable, fanned out as chunk jobs.

1. Plan: the reference ids are cut into ranges of about ``SIGWEB_REEMBED_REFS_PER_JOB``; one
   range is embedded by the ``reembed`` job itself, more are sent as ``reembed_chunk`` jobs
   on the ``long`` queue, one per worker that takes them (the engine's device: GPU workers
   embed on the GPU).
2. Embed: each range streams its references ``SIGWEB_REEMBED_CHUNK`` at a time (``only()``
   the id, image and strokes of one chunk are ever in memory), embeds them in one batch and
   commits the chunk's ``ReferenceEmbedding`` rows together with the progress cursor in the
   job row. A job killed mid-way loses at most one chunk: started again (activating the
   version again carries the cursor over) it goes on from the cursor and skips references
   that already have the new version's embedding.
3. Finish (the ``reembed`` job again, once the last range is done): references added while
   the switch ran are embedded, every active enrollment without the new version's writer
   parameters is refitted (in chunks), then one transaction flips the active version. Until
   then the old version serves everything; verifications, enrollments and identifications
   read the writer parameters of the version they use (``WriterParams``).
4. Mirror: the enrollments' and references' ``model_version`` (the version their live
   parameters and embeddings have) are brought to the new version, chunk by chunk.
"""

from __future__ import annotations

import logging
import math

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from verification import embeddings
from verification.errors import DomainError
from verification.ml_engine import engine_load
from verification.models import Enrollment, Job, ModelVersion, ReferenceEmbedding, ReferenceSignature, WriterParams
from verification.services.audit import audit_record
from verification.services.jobs import job_create, job_finishing, job_progress, job_succeed
from verification.services.references import reference_source
from verification.writer_store import writer_params_row

log = logging.getLogger(__name__)

MAX_FAILED_IDS = 100


def _pending(mv_name: str, after: int, hi: int):
    """References of a range still without an embedding of ``mv_name``, in id order."""
    return (
        ReferenceSignature.objects.filter(id__gt=after, id__lte=hi)
        .exclude(status=ReferenceSignature.Status.ERASED)
        .exclude(vectors__model_version=mv_name)
        .order_by("id")
    )


def _embed(engine, refs: list[ReferenceSignature]) -> tuple[list[int], list, list[int]]:
    """Embed one chunk in a batch; if the batch fails, one by one (a bad reference is skipped)."""
    sources = [reference_source(r) for r in refs]
    try:
        vectors = engine.embed(sources, batch_size=64)  # the network sees 64 at a time: bounded activations
        return [r.id for r in refs], list(vectors), []
    except Exception as exc:
        log.warning("batch of %d references failed (%s); embedding one by one", len(refs), exc)
    ids, vectors, failed = [], [], []
    for ref, source in zip(refs, sources):
        try:
            vectors.append(engine.embed([source])[0])
            ids.append(ref.id)
        except Exception as exc:
            log.warning("reference %s could not be re-embedded: %s", ref.id, exc)
            failed.append(ref.id)
    return ids, vectors, failed


def _save_params(job: Job, **changes) -> None:
    job.params = {**job.params, **changes}
    Job.objects.filter(id=job.id).update(params=job.params, heartbeat_at=timezone.now())


def reembed_range(*, job: Job, mv: ModelVersion, engine, lo: int, hi: int, parent: Job | None = None) -> int:
    """Embed the references with ids in (``job.params['cursor']``, ``hi``]; returns how many."""
    cursor = int(job.params.get("cursor", lo - 1))
    total = max(1, _pending(mv.name, lo - 1, hi).count() + int(job.params.get("embedded", 0)))
    size = max(1, int(settings.SIGWEB_REEMBED_CHUNK))
    done = 0
    while True:
        refs = list(_pending(mv.name, cursor, hi).only("id", "image", "strokes")[:size])
        if not refs:
            return done
        ids, vectors, failed = _embed(engine, refs)
        rows = [
            ReferenceEmbedding(reference_id=i, model_version=mv.name, vector=embeddings.to_bytes(v)) for i, v in zip(ids, vectors)
        ]
        with transaction.atomic():
            ReferenceEmbedding.objects.bulk_create(rows, ignore_conflicts=True)
            _save_params(
                job,
                cursor=refs[-1].id,
                embedded=int(job.params.get("embedded", 0)) + len(ids),
                failed=(list(job.params.get("failed", [])) + failed)[:MAX_FAILED_IDS],
                failed_count=int(job.params.get("failed_count", 0)) + len(failed),
            )
            if parent is not None:
                Job.objects.filter(id=parent.id).update(heartbeat_at=timezone.now())
        cursor, done = refs[-1].id, done + len(refs)
        job_progress(
            job=job,
            fraction=0.9 * min(1.0, job.params["embedded"] / total),
            message=f"embedded {job.params['embedded']} references (cursor {cursor})",
        )


def _plan(job: Job, mv: ModelVersion) -> list[tuple[int, int]]:
    ids = ReferenceSignature.objects.exclude(status=ReferenceSignature.Status.ERASED)
    count = ids.count()
    first = ids.order_by("id").values_list("id", flat=True).first() or 1
    last = ids.order_by("-id").values_list("id", flat=True).first() or 0
    n = max(1, math.ceil(count / max(1, int(settings.SIGWEB_REEMBED_REFS_PER_JOB))))
    span = max(1, math.ceil((last - first + 1) / n))
    return [(first + i * span, min(last, first + (i + 1) * span - 1)) for i in range(n) if first + i * span <= last]


def model_reembed(*, job: Job) -> None:
    """The ``reembed`` job: plan and embed (fanning out), then, once every range is done, finish."""
    mv = ModelVersion.objects.get(id=job.params["model_version_id"])
    engine = engine_load(mv.checkpoint_path)
    if job.params.get("phase") != "finish":
        ranges = job.params.get("ranges") or _plan(job, mv)
        _save_params(job, ranges=ranges)
        if len(ranges) > 1:
            if not job.params.get("chunks_sent"):
                with transaction.atomic():
                    for lo, hi in ranges:
                        job_create(
                            kind=Job.Kind.REEMBED_CHUNK,
                            params={"parent": str(job.id), "model_version_id": mv.id, "lo": lo, "hi": hi},
                            created_by=job.created_by,
                        )
                    _save_params(job, chunks_sent=True)
                    job_progress(job=job, fraction=0.01, message=f"sent {len(ranges)} chunk jobs")
            return  # the last chunk job to finish sends this job again, to finish
        reembed_range(job=job, mv=mv, engine=engine, lo=int(job.params.get("lo", 1)), hi=2**62)
    model_switch_finish(job=job, mv=mv, engine=engine)


def model_reembed_chunk(*, job: Job) -> None:
    """A ``reembed_chunk`` job: embed one id range; the last one to finish sends the parent on."""
    parent = Job.objects.get(id=job.params["parent"])
    if parent.is_done:
        raise DomainError(f"the model switch {parent.id} ended ({parent.status})", code="switch_ended", status=409)
    mv = ModelVersion.objects.get(id=job.params["model_version_id"])
    engine = engine_load(mv.checkpoint_path)
    embedded = reembed_range(job=job, mv=mv, engine=engine, lo=int(job.params["lo"]), hi=int(job.params["hi"]), parent=parent)
    with job_finishing(job_id=job.id) as locked:
        if locked is None:
            return
        job_succeed(job=locked, result={"embedded": embedded, "failed_count": job.params.get("failed_count", 0)})
    siblings = Job.objects.filter(kind=Job.Kind.REEMBED_CHUNK, params__parent=str(parent.id))
    done, total = siblings.filter(status=Job.Status.SUCCEEDED).count(), siblings.count()
    job_progress(job=parent, fraction=0.9 * done / max(1, total), message=f"{done}/{total} chunk jobs done")
    if done < total:
        return
    from verification.services.job_dispatch import job_dispatch

    with transaction.atomic():  # exactly one sibling claims the parent (a conditional update)
        if (
            Job.objects.filter(id=parent.id, status=Job.Status.RUNNING)
            .exclude(message="finishing")
            .update(status=Job.Status.QUEUED, message="finishing")
        ):
            parent.refresh_from_db()
            _save_params(parent, phase="finish")
            job_dispatch(job=parent)


def _refit(*, job: Job, mv: ModelVersion, engine) -> int:
    """Fit every active enrollment that has no writer parameters for ``mv`` yet, in chunks."""
    fitted, after = 0, 0
    links = Enrollment.references.through.objects
    while True:
        batch = list(
            Enrollment.objects.filter(status=Enrollment.Status.ACTIVE, id__gt=after)
            .exclude(params_by_version__model_version=mv.name)
            .order_by("id")
            .only("id")[:500]
        )
        if not batch:
            return fitted
        after = batch[-1].id
        pairs = list(links.filter(enrollment_id__in=[e.id for e in batch]).values_list("enrollment_id", "referencesignature_id"))
        vectors = dict(
            ReferenceEmbedding.objects.filter(model_version=mv.name, reference_id__in=[r for _, r in pairs]).values_list(
                "reference_id", "vector"
            )
        )
        by_enrollment: dict[int, list[int]] = {}
        for e_id, r_id in sorted(pairs):
            if r_id in vectors:
                by_enrollment.setdefault(e_id, []).append(r_id)
        rows = [
            writer_params_row(
                enrollment_id=e_id,
                model_version=mv.name,
                reference_ids=ids,
                params=engine.fit_writer(embeddings.stack([vectors[r] for r in ids])),
            )
            for e_id, ids in by_enrollment.items()
        ]
        with transaction.atomic():
            WriterParams.objects.bulk_create(rows, ignore_conflicts=True)
            Job.objects.filter(id=job.id).update(heartbeat_at=timezone.now())
        fitted += len(rows)
        job_progress(job=job, fraction=0.95, message=f"refitted {fitted} enrollments")


def model_switch_finish(*, job: Job, mv: ModelVersion, engine) -> None:
    """Catch up (references added, enrollments fitted meanwhile), flip at once, then mirror."""
    last_planned = max((hi for _, hi in job.params.get("ranges") or []), default=0)
    reembed_range(job=job, mv=mv, engine=engine, lo=last_planned + 1, hi=2**62)  # references added meanwhile
    fitted = _refit(job=job, mv=mv, engine=engine)
    chunk_jobs = Job.objects.filter(kind=Job.Kind.REEMBED_CHUNK, params__parent=str(job.id))
    failed_count = int(job.params.get("failed_count", 0)) + sum(int(j.params.get("failed_count", 0)) for j in chunk_jobs)
    failed = list(job.params.get("failed", [])) + [i for j in chunk_jobs for i in j.params.get("failed", [])]
    references = ReferenceEmbedding.objects.filter(model_version=mv.name).count()
    summary = {
        "model_version": mv.name,
        "references": references,
        "failed_references": failed[:MAX_FAILED_IDS],
        "failed_count": failed_count,
        "enrollments": WriterParams.objects.filter(model_version=mv.name, enrollment__status=Enrollment.Status.ACTIVE).count(),
        "refitted": fitted,
        "chunk_jobs": chunk_jobs.count(),
    }
    with transaction.atomic():
        previous = ModelVersion.objects.select_for_update().filter(is_active=True).first()
        if previous is None or previous.id != mv.id:
            ModelVersion.objects.filter(is_active=True).update(is_active=False)
            ModelVersion.objects.filter(id=mv.id).update(is_active=True, activated_at=timezone.now())
            audit_record(
                action="model_version.activate",
                actor=job.created_by,
                before={"active_model_version": previous.name if previous else None},
                after={"active_model_version": mv.name},
                details={"job": str(job.id), **summary},
            )
    _mirror(job=job, mv=mv)
    with job_finishing(job_id=job.id) as locked:
        if locked is not None:
            job_succeed(job=locked, result=summary)


def _mirror(*, job: Job, mv: ModelVersion) -> None:
    """Bring the older per-row columns to the new version, chunk by chunk (after the flip)."""
    now = timezone.now().isoformat()
    after = 0
    while True:
        ids = list(
            WriterParams.objects.filter(
                model_version=mv.name, enrollment_id__gt=after, enrollment__status=Enrollment.Status.ACTIVE
            )
            .exclude(enrollment__model_version=mv.name)
            .order_by("enrollment_id")
            .values_list("enrollment_id", flat=True)[:500]
        )
        if not ids:
            break
        after = ids[-1]
        with transaction.atomic():
            for enrollment in Enrollment.objects.filter(id__in=ids).only("id", "history", "status"):
                enrollment.model_version = mv.name
                enrollment.history = [
                    *enrollment.history,
                    {"at": now, "status": enrollment.status, "note": f"re-embedded for {mv.name}"},
                ]
                enrollment.save(update_fields=["model_version", "history", "updated_at"])
    after = 0
    while True:
        ids = list(
            ReferenceEmbedding.objects.filter(model_version=mv.name, reference_id__gt=after)
            .order_by("reference_id")
            .values_list("reference_id", flat=True)[:2000]
        )
        if not ids:
            return
        after = ids[-1]
        with transaction.atomic():
            ReferenceSignature.objects.filter(id__in=ids).exclude(status=ReferenceSignature.Status.ERASED).update(
                model_version=mv.name, status=ReferenceSignature.Status.EMBEDDED
            )
            Job.objects.filter(id=job.id).update(heartbeat_at=timezone.now())


def model_reembed_chunk_failed(job: Job) -> None:
    """A chunk job failed: the whole switch fails (the active version stays); audited once."""
    from verification.services.jobs import job_fail
    from verification.services.model_versions import model_reembed_failed

    job_fail(job_id=job.params.get("parent"), error=f"chunk job {job.id} failed: {job.error[:300]}", on_fail=model_reembed_failed)

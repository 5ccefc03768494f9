"""The JSON shapes pushed over websockets (the REST serializers use the same field names)."""

from __future__ import annotations

from verification.models import Job, Verification


def _iso(dt):
    return dt.isoformat() if dt else None


def job_payload(job: Job) -> dict:
    return {
        "id": str(job.id),
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "result": job.result,
        "error": job.error,
        "attempts": job.attempts,
        "customer": job.customer_id,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
    }


def verification_payload(v: Verification) -> dict:
    return {
        "id": v.id,
        "customer": v.customer_id,
        "status": v.status,
        "decision": v.decision or None,
        "flagged": v.flagged,
        "score": v.score,
        "threshold": v.threshold,
        "similarities": v.similarities,
        "model_version": v.model_version,
        "timings": v.timings,
        "channel": v.channel,
        "source": v.source,
        "job": str(v.job_id) if v.job_id else None,
        "error": v.error,
        "reviewed": bool(getattr(v, "_review_count", None) or (v.pk and v.reviews.exists())),
        "created_at": _iso(v.created_at),
        "completed_at": _iso(v.completed_at),
    }

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


# ---------------------------------------------------------------- what a customer may see
# A customer (signing token) sees its decision and nothing else: no score, similarity,
# threshold, timings or quality measures, which would make the API a scoring oracle for a
# forger. These lists are the one place that says so; the REST serializers for customers
# and the /ws/customer/ consumer both use them. Back-office roles see the full payloads.

CUSTOMER_VERIFICATION_FIELDS = (
    "id",
    "customer",
    "status",
    "decision",
    "channel",
    "source",
    "job",
    "error",
    "created_at",
    "completed_at",
)
CUSTOMER_JOB_FIELDS = (
    "id",
    "kind",
    "status",
    "progress",
    "message",
    "error",
    "customer",
    "created_at",
    "started_at",
    "finished_at",
)
CUSTOMER_JOB_RESULT_KEYS = ("verification_id", "decision", "reference_id", "enrollment_id")
CUSTOMER_ENROLLMENT_FIELDS = ("id", "customer", "status", "references", "error", "created_at", "activated_at", "revoked_at")


def customer_job_result(result) -> dict | None:
    if not isinstance(result, dict):
        return None
    return {k: result[k] for k in CUSTOMER_JOB_RESULT_KEYS if k in result}


def for_customer_verification(payload: dict) -> dict:
    return {k: payload.get(k) for k in CUSTOMER_VERIFICATION_FIELDS}


def for_customer_job(payload: dict) -> dict:
    out = {k: payload.get(k) for k in CUSTOMER_JOB_FIELDS}
    out["result"] = customer_job_result(payload.get("result"))
    return out


def for_customer_snapshot(snapshot: dict) -> dict:
    return {
        **{k: v for k, v in snapshot.items() if k not in ("jobs", "verifications", "counts")},
        "jobs": [for_customer_job(j) for j in snapshot.get("jobs", [])],
        "verifications": [for_customer_verification(v) for v in snapshot.get("verifications", [])],
    }

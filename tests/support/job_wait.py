"""Waiting for a job row: embedded mode runs long jobs (re-embed, train) in a background thread."""

from __future__ import annotations

import time


def job_finished(job_id, timeout: float = 120.0):
    from verification.models import Job

    deadline = time.monotonic() + timeout
    while True:
        job = Job.objects.get(id=job_id)
        if job.is_done:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job.status} after {timeout}s")
        time.sleep(0.05)

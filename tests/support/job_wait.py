"""Waiting for a job row: embedded mode runs long jobs (re-embed, train) in a background thread.

The test database on SQLite is in memory with a shared cache, where a reader meets a writer's
table lock at once ("database table is locked") instead of waiting out the busy timeout as a
file database does; the poll reads again after such a moment."""

from __future__ import annotations

import time


def job_finished(job_id, timeout: float = 120.0):
    from django.db import OperationalError

    from verification.models import Job

    deadline = time.monotonic() + timeout
    while True:
        try:
            job = Job.objects.get(id=job_id)
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
            continue
        if job.is_done:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job.status} after {timeout}s")
        time.sleep(0.05)

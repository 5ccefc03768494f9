"""Test-only: every job sleeps a while, in progress steps, once it is running.

So a test can watch progress arrive or kill a worker in the middle of a job. The delay
is the Django setting ``SIGWEB_TASK_DELAY_SECONDS`` when a test sets it (pytest-django's
``settings`` fixture), else the environment variable of that name, else none.

Connected to ``verification.signals.job_started``: in the test process by importing this
module (tests/verification/conftest.py), and in a separately started Celery worker by
``SIGWEB_TEST_HOOKS=job_delays`` (sigweb/celery.py imports the modules it names; the
integration tests put tests/support on the worker's PYTHONPATH).
"""

from __future__ import annotations

import os
import time

from verification.signals import job_started

STEPS = 10


def delay_seconds() -> float:
    from django.conf import settings

    value = getattr(settings, "SIGWEB_TASK_DELAY_SECONDS", None)
    if value is None:
        value = os.environ.get("SIGWEB_TASK_DELAY_SECONDS") or 0
    return float(value)


def _delay(sender, job, **_kwargs) -> None:
    delay = delay_seconds()
    if delay <= 0:
        return
    from verification.services.jobs import job_progress

    for i in range(STEPS):
        time.sleep(delay / STEPS)
        job_progress(job=job, fraction=0.5 * (i + 1) / STEPS, message=f"waiting (test delay) {i + 1}/{STEPS}")


job_started.connect(_delay, dispatch_uid="sigweb-test-job-delay")

"""The Celery app. Configuration comes from Django settings (``CELERY_*``)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigweb.settings")

app = Celery("sigweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Tests only: SIGWEB_TEST_HOOKS names a module that connects test receivers (e.g. the job
# delay of tests/support/job_delays.py) in a separately started worker. Unset in production.
if os.environ.get("SIGWEB_TEST_HOOKS"):
    import importlib

    for _name in os.environ["SIGWEB_TEST_HOOKS"].split(","):
        importlib.import_module(_name.strip())


from celery.signals import worker_ready  # noqa: E402


@worker_ready.connect
def _start_job_sweeper(**_kwargs):
    """Every worker sweeps the job table (no Celery beat needed); see verification/sweeper.py."""
    from verification.sweeper import sweeper_start

    sweeper_start()

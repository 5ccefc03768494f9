"""The job life cycle announces a running job (``job_started``): what tests hook their delays to."""

from __future__ import annotations

from verification.demo import demo_strokes
from verification.models import Job
from verification.services.verifications import verification_create
from verification.signals import job_started


def test_job_started_is_sent_once_per_start_with_the_running_job(enrolled_customer):
    customer = enrolled_customer("w")
    seen = []

    def receiver(sender, job, **kwargs):
        seen.append((job.id, job.kind, job.status))

    job_started.connect(receiver)
    try:
        v = verification_create(customer=customer, strokes=demo_strokes("w", 7))
    finally:
        job_started.disconnect(receiver)
    v.refresh_from_db()
    assert seen == [(v.job_id, Job.Kind.VERIFY, Job.Status.RUNNING)]

"""Job progress goes out after the commit, throttled; status changes always go out."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from verification.broadcast import DASHBOARD_GROUP
from verification.models import Job
from verification.services.jobs import job_progress, job_start


def _drain(channel):
    layer = get_channel_layer()
    out = []
    while True:
        try:
            msg = async_to_sync(_receive_now)(layer, channel)
        except TimeoutError:
            return out
        out.append(msg)


async def _receive_now(layer, channel):
    import asyncio

    return await asyncio.wait_for(layer.receive(channel), timeout=0.05)


def test_progress_is_throttled_but_status_changes_are_not(settings, make_customer):
    settings.SIGWEB_PROGRESS_MIN_INTERVAL = 60  # nothing but status changes within a minute
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(DASHBOARD_GROUP, channel)
    job = Job.objects.create(kind=Job.Kind.VERIFY, params={}, customer=make_customer())
    job = job_start(job_id=str(job.id))
    for i in range(50):
        job_progress(job=job, fraction=i / 50)
    messages = _drain(channel)
    statuses = [m["job"]["status"] for m in messages]
    assert statuses == ["running"]  # the 50 progress updates were throttled away
    job.refresh_from_db()
    assert job.progress == 98  # ... but every one reached the database


def test_progress_never_goes_backwards_or_reaches_100_before_success(make_customer):
    job = Job.objects.create(kind=Job.Kind.VERIFY, params={}, customer=make_customer())
    job = job_start(job_id=str(job.id))
    job_progress(job=job, fraction=0.7)
    job_progress(job=job, fraction=0.2)
    job_progress(job=job, fraction=5.0)
    job.refresh_from_db()
    assert job.progress == 99

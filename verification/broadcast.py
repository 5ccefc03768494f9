"""Push job progress and verification results to websocket groups, after the commit.

Like Zulip's ``send_event_on_commit``: nothing is sent for a transaction that rolls back,
and the database row stays the source of truth (a client that missed a message reloads
the snapshot). Progress is throttled per job, because channel capacity is finite and an
overflowing group drops messages silently. Status changes are never throttled.
"""

from __future__ import annotations

import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from verification.models import Job, Verification
from verification.payloads import job_payload, verification_payload

log = logging.getLogger(__name__)

DASHBOARD_GROUP = "dashboard"


def customer_group(customer_id: int) -> str:
    return f"customer.{customer_id}"


_last_sent: dict[str, tuple[float, str, int]] = {}


def _send(groups: list[str], message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:  # a broken channel layer must never fail a job or a request
            log.exception("websocket broadcast to %s failed", group)


def _should_send(job: Job) -> bool:
    key = str(job.id)
    now = time.monotonic()
    last = _last_sent.get(key)
    if job.is_done:
        _last_sent.pop(key, None)
        return True
    if last is None or last[1] != job.status or now - last[0] >= settings.SIGWEB_PROGRESS_MIN_INTERVAL:
        _last_sent[key] = (now, job.status, job.progress)
        return True
    return False


def broadcast_job(job: Job) -> None:
    if not _should_send(job):
        return
    payload = job_payload(job)
    groups = [DASHBOARD_GROUP] + ([customer_group(job.customer_id)] if job.customer_id else [])
    transaction.on_commit(lambda: _send(groups, {"type": "job.update", "job": payload}))


def broadcast_verification(verification: Verification) -> None:
    payload = verification_payload(verification)
    groups = [DASHBOARD_GROUP, customer_group(verification.customer_id)]
    transaction.on_commit(lambda: _send(groups, {"type": "verification.update", "verification": payload}))

"""A real Celery worker process against Redis and PostgreSQL; a websocket client watches."""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async as sync_to_async
from channels.testing import WebsocketCommunicator

from conftest import REAL_CHECKPOINT, wait_for
from verification.demo import demo_strokes
from verification.models import Job, Verification
from verification.services.customers import customer_create
from verification.services.enrollments import enrollment_start
from verification.services.references import reference_create
from verification.services.users import analyst_create
from verification.services.verifications import verification_create

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


def enroll_through_worker(external_ref: str, writer: str, n_refs: int = 3):
    customer = customer_create(external_ref=external_ref, name=writer)
    jobs = [reference_create(customer=customer, source="pad", strokes=demo_strokes(writer, i))[1] for i in range(n_refs)]
    enrollment, job = enrollment_start(customer=customer)
    jobs.append(job)
    ids = [j.id for j in jobs]
    wait_for(lambda: Job.objects.filter(id__in=ids, status="succeeded").count() == len(ids), 90, what="enrollment jobs")
    enrollment.refresh_from_db()
    assert enrollment.status == "active"
    return customer


def test_worker_runs_a_verification_and_the_dashboard_sees_progress_and_result(start_worker, engine_in_test_process):
    start_worker(SIGWEB_TASK_DELAY_SECONDS="1.5", SIGWEB_PROGRESS_MIN_INTERVAL="0")
    customer = enroll_through_worker("INT-1", "writer-int")
    _, _, token = analyst_create(username="watcher")

    async def watch():
        comm = WebsocketCommunicator(__import__("sigweb.asgi").asgi.application, f"/ws/dashboard/?token={token}", headers=HEADERS)
        connected, _ = await comm.connect(timeout=10)
        assert connected
        snapshot = await comm.receive_json_from(timeout=10)
        assert snapshot["type"] == "snapshot"
        v = await sync_to_async(verification_create)(customer=customer, strokes=demo_strokes("writer-int", 42))
        seen = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while loop.time() < deadline:
            msg = await comm.receive_json_from(timeout=max(0.1, deadline - loop.time()))
            seen.append(msg)
            if msg["type"] == "verification" and msg["verification"]["id"] == v.id and msg["verification"]["status"] == "done":
                break
        await comm.disconnect()
        return v, seen

    v, seen = asyncio.run(watch())
    job_msgs = [m["job"] for m in seen if m["type"] == "job" and m["job"]["id"] == str(v.job_id)]
    progress = [j["progress"] for j in job_msgs]
    assert any(0 < p < 100 for p in progress), progress
    assert progress == sorted(progress) and progress[-1] == 100
    assert job_msgs[-1]["status"] == "succeeded" and "running" in {j["status"] for j in job_msgs}
    final = seen[-1]["verification"]
    assert final["decision"] in {"accept", "reject", "review"} and 0 <= final["score"] <= 1
    stored = Verification.objects.get(id=v.id)
    assert stored.status == "done" and stored.score == final["score"]
    assert stored.job.queue == "short" and stored.job.attempts == 1


def test_genuine_beats_other_writer_through_the_worker(start_worker, engine_in_test_process):
    start_worker()
    customer = enroll_through_worker("INT-2", "writer-two", n_refs=4)
    genuine = verification_create(customer=customer, strokes=demo_strokes("writer-two", 90))
    other = verification_create(customer=customer, strokes=demo_strokes("writer-elsewhere", 90))
    wait_for(
        lambda: Verification.objects.filter(id__in=[genuine.id, other.id], status="done").count() == 2, 60, what="verifications"
    )
    genuine.refresh_from_db()
    other.refresh_from_db()
    assert 0 <= other.score <= 1 and 0 <= genuine.score <= 1
    if engine_in_test_process == str(REAL_CHECKPOINT):  # the tiny stand-in model tells writers apart poorly
        assert genuine.score > other.score
    assert genuine.model_version == other.model_version and genuine.model_version

"""The live dashboard on the Redis deployment: a websocket held open stays open and keeps
receiving. redis-py's default 5 s socket timeout used to cut channels-redis's blocking
reads, closing every /ws/dashboard/ socket with 1011 about 5.5 s after it connected."""

from __future__ import annotations

import asyncio
import json

from test_live_server import daphne_server  # noqa: F401  (fixture: a daphne process on Redis)
from websockets.asyncio.client import connect

from verification.models import Job
from verification.services.jobs import job_create
from verification.services.users import analyst_create


def _queue_a_job() -> Job:
    from django.db import connection

    try:
        return job_create(kind=Job.Kind.TRAIN, params={"config": {}}, dispatch=False)
    finally:
        connection.close()


def test_dashboard_socket_held_30s_still_receives_an_event_sent_after_20s(daphne_server, clean_redis, transactional_db):  # noqa: F811
    _, _, token = analyst_create(username="dash-watcher")
    origin = f"http://{daphne_server}"

    async def scenario():
        async with connect(f"ws://{daphne_server}/ws/dashboard/?token={token}", origin=origin) as ws:
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert snapshot["type"] == "snapshot"
            loop = asyncio.get_running_loop()
            opened = loop.time()
            await asyncio.sleep(20)  # several of channels-redis's 5 s blocking reads
            # an event from another process, through the Redis channel layer
            job = await asyncio.to_thread(_queue_a_job)
            got = None
            while loop.time() - opened < 30:
                msg = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, 30 - (loop.time() - opened))))
                if msg["type"] == "job" and msg["job"]["id"] == str(job.id):
                    got = msg
                    break
            assert got is not None and got["job"]["status"] == "queued"
            await asyncio.sleep(max(0.0, 30 - (loop.time() - opened)))
            await ws.ping()  # still open after 30 s
            return loop.time() - opened

    held = asyncio.run(scenario())
    assert held >= 30

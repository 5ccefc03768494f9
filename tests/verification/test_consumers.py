"""Websockets: who may connect, the snapshot on connect, deltas after the commit."""

import asyncio

import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from sigweb.asgi import application
from verification.demo import demo_strokes
from verification.services.customers import signing_token_create
from verification.services.verifications import verification_create

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


async def _connect(path):
    comm = WebsocketCommunicator(application, path, headers=HEADERS)
    connected, _ = await comm.connect(timeout=5)
    return comm, connected


async def _receive_until(comm, predicate, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        msg = await comm.receive_json_from(timeout=max(0.1, remaining))
        if predicate(msg):
            return msg


async def _refused_with(comm, code):
    out = await comm.receive_output(timeout=5)
    assert out["type"] == "websocket.close" and out.get("code") == code, out


def run(coro):
    return asyncio.run(coro)


def test_anonymous_sockets_are_refused(enrolled_customer):
    customer = enrolled_customer()

    async def go():
        for path in ("/ws/dashboard/", f"/ws/customer/{customer.id}/", "/ws/dashboard/?token=bogus"):
            comm, connected = await _connect(path)
            await _refused_with(comm, 4401)
            await comm.disconnect()

    run(go())


def test_customer_token_cannot_open_the_dashboard_or_another_customer(enrolled_customer):
    mine, other = enrolled_customer("writer-a"), enrolled_customer("writer-b")
    _, raw = signing_token_create(customer=mine)

    async def go():
        comm, _ = await _connect(f"/ws/dashboard/?token={raw}")
        await _refused_with(comm, 4403)
        comm, _ = await _connect(f"/ws/customer/{other.id}/?token={raw}")
        await _refused_with(comm, 4403)
        comm, connected = await _connect(f"/ws/customer/{mine.id}/?token={raw}")
        assert connected
        snap = await comm.receive_json_from(timeout=5)
        assert snap["type"] == "snapshot" and snap["customer"] == mine.id
        assert all(j["customer"] == mine.id for j in snap["jobs"])
        await comm.disconnect()

    run(go())


def test_dashboard_snapshot_then_results(enrolled_customer, analyst_user):
    customer = enrolled_customer()
    token = Token.objects.create(user=analyst_user)

    async def go():
        comm, connected = await _connect(f"/ws/dashboard/?token={token.key}")
        assert connected
        snap = await comm.receive_json_from(timeout=5)
        assert snap["type"] == "snapshot" and snap["counts"]["customers"] == 1
        assert any(j["kind"] == "enroll" for j in snap["jobs"])
        v = await sync_to_async(verification_create)(customer=customer, strokes=demo_strokes("writer-a", 8))
        job_msgs = []
        result = await _receive_until(
            comm,
            lambda m: (
                (job_msgs.append(m) if m["type"] == "job" else None)
                or (m["type"] == "verification" and m["verification"]["status"] == "done")
            ),
        )
        assert result["verification"]["id"] == v.id and result["verification"]["decision"]
        job_statuses = [m["job"]["status"] for m in job_msgs if m["job"]["id"] == str(v.job_id)]
        assert "running" in job_statuses and job_statuses[-1] == "succeeded"
        assert [m["job"]["progress"] for m in job_msgs if m["job"]["id"] == str(v.job_id)][-1] == 100
        await comm.send_json_to({"type": "ping"})
        assert (await _receive_until(comm, lambda m: m["type"] == "pong"))["type"] == "pong"
        await comm.disconnect()

    run(go())


def test_customer_socket_gets_its_own_result_only(enrolled_customer):
    mine, other = enrolled_customer("writer-a"), enrolled_customer("writer-b")
    _, raw = signing_token_create(customer=mine)

    async def go():
        comm, connected = await _connect(f"/ws/customer/{mine.id}/?token={raw}")
        assert connected
        await comm.receive_json_from(timeout=5)  # snapshot
        await sync_to_async(verification_create)(customer=other, strokes=demo_strokes("writer-b", 8))
        v = await sync_to_async(verification_create)(customer=mine, strokes=demo_strokes("writer-a", 8))
        msg = await _receive_until(comm, lambda m: m["type"] == "verification" and m["verification"]["status"] == "done")
        assert msg["verification"]["id"] == v.id and msg["verification"]["customer"] == mine.id
        while not await comm.receive_nothing(timeout=0.2):
            extra = await comm.receive_json_from()
            assert extra.get("verification", extra.get("job", {})).get("customer") == mine.id
        await comm.disconnect()

    run(go())


def test_nothing_is_sent_for_a_rolled_back_transaction(enrolled_customer, analyst_user):
    from django.db import transaction

    customer = enrolled_customer()
    token = Token.objects.create(user=analyst_user)

    def create_then_fail():
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                verification_create(customer=customer, strokes=demo_strokes("writer-a", 8))
                raise RuntimeError("rollback")

    async def go():
        comm, _ = await _connect(f"/ws/dashboard/?token={token.key}")
        await comm.receive_json_from(timeout=5)
        await sync_to_async(create_then_fail)()
        assert await comm.receive_nothing(timeout=0.5)
        await comm.disconnect()

    run(go())

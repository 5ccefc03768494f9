"""End to end over the network: a daphne server process, a Celery worker process, Redis,
PostgreSQL, an HTTP client and a `websockets` client on the customer's own channel."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from conftest import ROOT, _test_database_url, wait_for
from verification.demo import demo_strokes
from verification.services.customers import signing_token_create
from verification.services.users import analyst_create


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def daphne_server(tmp_path, engine_in_test_process):
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=_test_database_url(), SIGWEB_MODEL_PATH=engine_in_test_process, DATABASE_CONN_MAX_AGE="0")
    log = open(tmp_path / "daphne.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "sigweb.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def up():
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/me/", timeout=1)
        except urllib.error.HTTPError as e:
            return e.code == 401  # up, and refusing anonymous callers
        except (urllib.error.URLError, ConnectionError, OSError):
            assert proc.poll() is None, (tmp_path / "daphne.log").read_text()
            return False

    wait_for(up, 60, interval=0.3, what="daphne")
    yield f"127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _post(url: str, body: dict, headers: dict) -> tuple[int, dict, float]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json", **headers}
    )
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read()), time.perf_counter() - t0
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), time.perf_counter() - t0


def test_customer_verifies_over_http_and_gets_the_result_on_its_websocket(start_worker, daphne_server):
    from test_celery_worker import enroll_through_worker

    start_worker()
    customer = enroll_through_worker("LIVE-1", "writer-live", n_refs=4)
    _, raw = signing_token_create(customer=customer)
    _, _, api_token = analyst_create(username="live-admin", admin=True)
    origin = f"http://{daphne_server}"

    async def scenario():
        # anonymous and foreign-origin sockets are refused
        with pytest.raises(ConnectionClosed):
            async with connect(f"ws://{daphne_server}/ws/customer/{customer.id}/", origin=origin) as ws:
                await asyncio.wait_for(ws.recv(), 5)
        with pytest.raises(InvalidStatus):
            async with connect(f"ws://{daphne_server}/ws/customer/{customer.id}/?token={raw}", origin="http://evil.example"):
                pass
        async with connect(f"ws://{daphne_server}/ws/customer/{customer.id}/?token={raw}", origin=origin) as ws:
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert snapshot["type"] == "snapshot" and snapshot["customer"] == customer.id
            latencies = []
            for i in range(4):
                status, body, seconds = await asyncio.to_thread(
                    _post,
                    f"{origin}/api/verifications/?wait=10",
                    {"strokes": demo_strokes("writer-live", 70 + i)},
                    {"Authorization": f"Signing {raw}"},
                )
                assert status == 200, body
                latencies.append(seconds)
            vid = body["verification"]["id"]
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if msg["type"] == "verification" and msg["verification"]["id"] == vid and msg["verification"]["status"] == "done":
                    break
            assert msg["verification"]["decision"] == body["verification"]["decision"]
            return latencies

    latencies = asyncio.run(scenario())
    latencies.sort()
    print(
        "HTTP -> daphne -> Redis -> worker -> PostgreSQL -> HTTP: "
        f"median {latencies[len(latencies) // 2] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )
    assert latencies[len(latencies) // 2] < 2.0
    status, body, _ = _post(f"http://{daphne_server}/api/verifications/", {"customer": customer.id}, {})
    assert status == 401
    status, body, _ = _post(
        f"http://{daphne_server}/api/customers/", {"external_ref": "L-2", "name": "x"}, {"Authorization": f"Token {api_token}"}
    )
    assert status == 201

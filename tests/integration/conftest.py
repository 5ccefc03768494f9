"""Integration tests: real PostgreSQL (DATABASE_URL), real Redis (REDIS_URL), real Celery
worker processes and the real ml engine (the shipped checkpoint, or a tiny one trained here
while none is shipped). Skipped without the URLs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
REAL_CHECKPOINT = ROOT / "ml" / "weights" / "sigweb.pt"


def _services_available() -> str | None:
    db, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not db.startswith(("postgres://", "postgresql://")):
        return "DATABASE_URL (PostgreSQL) is not set"
    if not redis_url:
        return "REDIS_URL is not set"
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"Redis at REDIS_URL does not answer: {exc}"
    return None


_skip = _services_available()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
            if _skip:
                item.add_marker(pytest.mark.skip(reason=_skip))


@pytest.fixture
def engine_in_test_process(checkpoint_path, settings):
    """The real ml engine, in this process and (through SIGWEB_MODEL_PATH) in the workers."""
    from verification import ml_engine

    settings.SIGWEB_MODEL_PATH = checkpoint_path
    ml_engine.engine_override(None)
    yield checkpoint_path
    ml_engine.engine_cache_clear()


@pytest.fixture
def clean_redis():
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.flushdb()  # REDIS_URL for tests must name a database of its own
    yield client
    client.flushdb()


def _test_database_url() -> str:
    """DATABASE_URL pointing at pytest-django's test database, for worker processes."""
    from django.db import connection

    url = urlparse(os.environ["DATABASE_URL"])
    return url._replace(path="/" + connection.settings_dict["NAME"]).geturl()


class Worker:
    def __init__(self, env_extra: dict, name: str, log_dir: Path, queues: str = "short,long"):
        self.log_path = log_dir / f"{name}.log"
        env = dict(os.environ)
        # a real worker sweeps the job table (the test process itself does not)
        env.update(
            {
                "DATABASE_URL": _test_database_url(),
                "PYTHONUNBUFFERED": "1",
                "DATABASE_CONN_MAX_AGE": "0",
                "SIGWEB_SWEEPER_ENABLED": "1",
            }
        )
        env.update({k: str(v) for k, v in env_extra.items()})
        if "SIGWEB_TASK_DELAY_SECONDS" in env_extra:  # the test-only job delay (tests/support/job_delays.py)
            env["SIGWEB_TEST_HOOKS"] = "job_delays"
            env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT / "tests" / "support"), env.get("PYTHONPATH", "")] if p)
        self.log = open(self.log_path, "w")
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "sigweb",
            "worker",
            "-Q",
            queues,
            "--concurrency",
            "1",
            "--pool",
            "prefork",
            "-l",
            "info",
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.output():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.output()}")
            time.sleep(0.2)
        raise AssertionError(f"worker not ready after {timeout}s:\n{self.output()}")

    def child_pids(self) -> list[int]:
        try:
            out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        except FileNotFoundError:
            return []
        return [int(p) for p in out.split()]

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children): a crash, no cleanup."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def start_worker(tmp_path, clean_redis, transactional_db, engine_in_test_process):
    workers: list[Worker] = []

    def start(queues: str = "short,long", **env_extra) -> Worker:
        env_extra.setdefault("SIGWEB_MODEL_PATH", engine_in_test_process)
        worker = Worker(env_extra, f"w{len(workers)}-{uuid.uuid4().hex[:6]}", tmp_path, queues=queues)
        workers.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_for(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")

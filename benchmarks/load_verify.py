"""Load benchmark: many concurrent verifications through the REST API, end to end.

    # the embedded default: SQLite, in-process jobs, one daphne process
    .venv/bin/python benchmarks/load_verify.py --mode embedded
    # PostgreSQL + Redis + real Celery workers (a fresh database is created and dropped;
    # the Redis database named by --redis-url must be one of its own: it is flushed)
    .venv/bin/python benchmarks/load_verify.py --mode redis \\
        --database-url postgres://postgres@127.0.0.1:5432/postgres --redis-url redis://127.0.0.1:6379/2

It starts everything itself on 127.0.0.1 (daphne; in ``redis`` mode also a short-queue and
a long-queue Celery worker), migrates a new database, seeds ``--customers`` customers
enrolled from the procedural demo writers (``verification/demo.py``; no research data)
with the model of ``--model`` (the shipped ``ml/weights/sigweb.pt`` by default), and an
admin API token. It sets every throttle rate very high through the environment
(``SIGWEB_THROTTLE_<SCOPE>``, ``SIGWEB_CUSTOMER_VERIFICATIONS_PER_HOUR``), then posts
``--verifications`` pad signatures with ``POST /api/verifications/?wait=W`` from
``--concurrency`` client threads: alternately the customer's own hand and another writer's.

A failure is any 429, any other non-200 answer or transport error, and any verification
whose job has not succeeded when the run ends (after ``--grace`` seconds). It prints one
JSON object (latency p50/p95/p99/max of the HTTP round trip, throughput, failures) and
exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]

THROTTLE_SCOPES = ("LOGIN", "TOKEN", "VERIFICATION", "REFERENCE")
HIGH_RATE = "1000000/min"


# ---------------------------------------------------------------- phases run inside Django


def _django():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigweb.settings")
    django.setup()


def phase_seed(customers: int, refs: int, prefix: str) -> None:
    """Enroll customers (jobs run in this process) and print {"token":..., "customers": [[id, writer], ...]}."""
    _django()
    from verification.demo import demo_strokes
    from verification.models import Enrollment
    from verification.services.customers import customer_create
    from verification.services.enrollments import enrollment_start
    from verification.services.model_versions import model_version_active
    from verification.services.references import reference_create
    from verification.services.users import analyst_create

    model_version_active()
    _, _, token = analyst_create(username=f"{prefix}-admin", admin=True)
    seeded = []
    for i in range(customers):
        writer = f"{prefix}-writer-{i:04d}"
        customer = customer_create(external_ref=f"{prefix.upper()}-{i:04d}", name=f"Load customer {i}")
        for k in range(refs):
            reference_create(customer=customer, source="pad", strokes=demo_strokes(writer, k))
        enrollment_start(customer=customer)
        seeded.append([customer.id, writer])
    active = Enrollment.objects.filter(status=Enrollment.Status.ACTIVE, customer_id__in=[c for c, _ in seeded]).count()
    if active != customers:
        raise SystemExit(f"seeding enrolled {active} of {customers} customers")
    print(json.dumps({"token": token, "customers": seeded}))


def phase_jobs(ids: list[int]) -> None:
    """Print the status of the verifications and their jobs: {"verification": {...}, "job": {...}}."""
    _django()
    from django.db.models import Count

    from verification.models import Job, Verification

    vs = Verification.objects.filter(id__in=ids)
    by_v = dict(vs.values_list("status").annotate(n=Count("id")))
    by_job = dict(Job.objects.filter(verification__id__in=ids).values_list("status").annotate(n=Count("id")))
    stuck = Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).count()
    print(json.dumps({"verification": by_v, "job": by_job, "jobs_not_finished_anywhere": stuck, "found": vs.count()}))


# ---------------------------------------------------------------- the driver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))] if s else float("nan")


class Stack:
    """The processes of one SigWeb deployment on 127.0.0.1, with their logs in ``workdir``."""

    def __init__(self, args, workdir: Path):
        self.args, self.workdir, self.procs, self.logs = args, workdir, [], []
        self.port = _free_port()
        self.created_db: str | None = None
        self.env = self._env()

    def _env(self) -> dict:
        a = self.args
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SIGWEB_", "DJANGO_")) and k not in ("DATABASE_URL", "REDIS_URL")
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "sigweb.settings",
                "DJANGO_ENV": "production",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "DJANGO_SECURE_SSL_REDIRECT": "0",
                "DJANGO_LOG_LEVEL": "WARNING",
                "SIGWEB_MODEL_PATH": str(Path(a.model).resolve()),
                "SIGWEB_PRELOAD_ENGINE": "1",
                "SIGWEB_STATIC_ROOT": str(self.workdir / "static"),
                "SIGWEB_TRAIN_OUTPUT_DIR": str(self.workdir / "runs"),
                "SIGWEB_CUSTOMER_VERIFICATIONS_PER_HOUR": "1000000",
                "PYTHONUNBUFFERED": "1",
            }
        )
        for scope in THROTTLE_SCOPES:
            env[f"SIGWEB_THROTTLE_{scope}"] = HIGH_RATE
        if a.mode == "embedded":
            env["SIGWEB_SQLITE_PATH"] = str(self.workdir / "db.sqlite3")
        else:
            env["DATABASE_URL"] = self._create_database(a.database_url)
            env["REDIS_URL"] = a.redis_url
        return env

    def _create_database(self, url: str) -> str:
        import psycopg

        parsed = urlparse(url)
        name = f"sigweb_load_{secrets.token_hex(4)}"
        admin = parsed._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created_db = name
        self._admin_url = admin
        return parsed._replace(path=f"/{name}").geturl()

    def run(self, *cmd: str, timeout: float = 1800, extra_env: dict | None = None) -> str:
        out = subprocess.run(
            [sys.executable, *cmd],
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if out.returncode != 0:
            raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}")
        return out.stdout

    def start(self, name: str, *cmd: str) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "w")
        proc = subprocess.Popen(
            [sys.executable, *cmd], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append(proc)
        self.logs.append(log)
        return proc

    def up(self) -> None:
        a = self.args
        if a.mode == "redis":
            import redis

            redis.Redis.from_url(a.redis_url).flushdb()
            for queue, conc in (("short", a.worker_concurrency), ("long", 1)):
                self.start(
                    f"worker-{queue}",
                    "-m",
                    "celery",
                    "-A",
                    "sigweb",
                    "worker",
                    "-Q",
                    queue,
                    "--concurrency",
                    str(conc),
                    "-n",
                    f"{queue}-{self.port}@%h",
                    "-l",
                    "warning",
                    "--without-gossip",
                    "--without-mingle",
                )
        self.start("daphne", "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "sigweb.asgi:application")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/me/", timeout=2)
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    return
            except OSError:
                pass
            for proc in self.procs:
                if proc.poll() is not None:
                    raise SystemExit(f"a server process exited early; logs in {self.workdir}")
            time.sleep(0.5)
        raise SystemExit(f"daphne did not answer within 120 s; logs in {self.workdir}")

    def down(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, 15)
                except ProcessLookupError:
                    pass
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait(timeout=10)
        for log in self.logs:
            log.close()
        if self.created_db and not self.args.keep:
            import psycopg

            with psycopg.connect(self._admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.created_db}" WITH (FORCE)')


def load(base: str, token: str, customers: list, n: int, concurrency: int, wait: float) -> dict:
    from verification.demo import demo_strokes

    plan = []
    for i in range(n):
        cid, writer = customers[i % len(customers)]
        other = customers[(i + 1) % len(customers)][1]
        plan.append((cid, demo_strokes(writer if i % 2 == 0 else other, 1000 + i)))
    results: list[dict] = [None] * n  # type: ignore[list-item]
    lock = threading.Lock()
    progress = {"done": 0}

    def one(i: int) -> None:
        cid, strokes = plan[i]
        body = json.dumps({"customer": cid, "strokes": strokes}).encode()
        req = urllib.request.Request(
            f"{base}/api/verifications/?wait={wait:g}",
            data=body,
            method="POST",
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )
        t0 = time.perf_counter()
        rec = {"status": None, "seconds": None, "id": None, "state": None, "error": None}
        try:
            with urllib.request.urlopen(req, timeout=wait + 60) as r:
                payload = json.loads(r.read())
                rec["status"] = r.status
                rec["id"] = payload["verification"]["id"]
                rec["state"] = payload["verification"]["status"]
        except urllib.error.HTTPError as e:
            rec["status"] = e.code
            rec["error"] = e.read()[:300].decode(errors="replace")
        except Exception as e:
            rec["error"] = f"{type(e).__name__}: {e}"
        rec["seconds"] = time.perf_counter() - t0
        results[i] = rec
        with lock:
            progress["done"] += 1
            if progress["done"] % 200 == 0:
                print(f"  {progress['done']}/{n}", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(n)))
    return {"results": results, "wall": time.perf_counter() - t0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=["embedded", "redis"], required=True)
    ap.add_argument("--verifications", type=int, default=2000)
    ap.add_argument("--customers", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--refs", type=int, default=3, help="references per customer (SIGWEB_MIN_REFERENCES is 3)")
    ap.add_argument("--wait", type=float, default=10.0, help="?wait= of each request (s)")
    ap.add_argument("--grace", type=float, default=60.0, help="after the load, seconds for pending jobs to finish")
    ap.add_argument("--model", default=str(ROOT / "ml" / "weights" / "sigweb.pt"))
    ap.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="redis mode: a PostgreSQL server (a fresh database is created)",
    )
    ap.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", ""), help="redis mode: a Redis database of its own (flushed)"
    )
    ap.add_argument("--worker-concurrency", type=int, default=2, help="redis mode: processes of the short-queue worker")
    ap.add_argument("--warmup", type=int, default=16, help="unmeasured verifications first (model load, connections)")
    ap.add_argument("--keep", action="store_true", help="keep the working folder and the database")
    ap.add_argument("--phase", choices=["seed", "jobs"], help=argparse.SUPPRESS)
    ap.add_argument("--prefix", default="load", help=argparse.SUPPRESS)
    ap.add_argument("--ids", default="", help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.phase == "seed":
        phase_seed(a.customers, a.refs, a.prefix)
        return 0
    if a.phase == "jobs":
        phase_jobs([int(x) for x in Path(a.ids).read_text().split()])
        return 0
    if a.mode == "redis" and not (a.database_url.startswith(("postgres://", "postgresql://")) and a.redis_url):
        ap.error("--mode redis needs --database-url (PostgreSQL) and --redis-url")
    if not Path(a.model).is_file():
        ap.error(f"model not found: {a.model}")

    workdir = Path(tempfile.mkdtemp(prefix="sigweb-load-"))
    stack = Stack(a, workdir)
    me = str(Path(__file__).resolve())
    try:
        t = time.perf_counter()
        stack.run("manage.py", "migrate", "--noinput", timeout=600)
        # seeding is not measured: its jobs run in the seeding process (no broker)
        seed = json.loads(
            stack.run(
                me,
                "--mode",
                a.mode,
                "--phase",
                "seed",
                "--customers",
                str(a.customers),
                "--refs",
                str(a.refs),
                "--prefix",
                a.prefix,
                extra_env={"REDIS_URL": ""},
            )
            .strip()
            .splitlines()[-1]
        )
        seed_seconds = time.perf_counter() - t
        print(f"seeded {len(seed['customers'])} customers in {seed_seconds:.0f} s", file=sys.stderr, flush=True)
        stack.up()
        base = f"http://127.0.0.1:{stack.port}"
        # warm-up (not measured): the model loads, connections open
        warm = load(base, seed["token"], seed["customers"], a.warmup, a.concurrency, a.wait)["results"] if a.warmup else []
        run = load(base, seed["token"], seed["customers"], a.verifications, a.concurrency, a.wait)
        results = run["results"]
        ids = [r["id"] for r in results + warm if r["id"] is not None]
        pending = sum(1 for r in results if r["state"] == "pending")
        ids_file = workdir / "ids.txt"
        ids_file.write_text(" ".join(map(str, ids)))
        deadline = time.monotonic() + a.grace
        while True:
            jobs = json.loads(stack.run(me, "--mode", a.mode, "--phase", "jobs", "--ids", str(ids_file)).strip().splitlines()[-1])
            if jobs["job"].get("succeeded", 0) == len(ids) or time.monotonic() > deadline:
                break
            time.sleep(2)
    finally:
        stack.down()

    ok = [r for r in results if r["status"] == 200 and r["state"] != "pending"]
    latencies = [r["seconds"] * 1000 for r in ok]
    throttled = sum(1 for r in results + warm if r["status"] == 429)
    errors = [r for r in results + warm if r["status"] not in (200, 202, 429)]
    not_finished = len(ids) - jobs["job"].get("succeeded", 0)
    report = {
        "mode": a.mode,
        "database": "postgresql" if a.mode == "redis" else "sqlite",
        "verifications": a.verifications,
        "warmup": a.warmup,
        "customers": len(seed["customers"]),
        "concurrency": a.concurrency,
        "wait_s": a.wait,
        "worker_concurrency": a.worker_concurrency if a.mode == "redis" else None,
        "model": Path(a.model).name,
        "cpus": os.cpu_count(),
        "seed_s": round(seed_seconds, 1),
        "wall_s": round(run["wall"], 1),
        "throughput_per_s": round(len(results) / run["wall"], 2),
        "latency_ms": {
            "p50": round(_pct(latencies, 0.50), 1),
            "p95": round(_pct(latencies, 0.95), 1),
            "p99": round(_pct(latencies, 0.99), 1),
            "max": round(max(latencies), 1) if latencies else None,
        },
        "answered_200_done": len(ok),
        "answered_still_pending": pending,
        "failures": {
            "throttled_429": throttled,
            "errors": len(errors),
            "jobs_not_succeeded": not_finished,
            "total": throttled + len(errors) + not_finished,
        },
        "verification_status": jobs["verification"],
        "job_status": jobs["job"],
        "jobs_not_finished_anywhere": jobs["jobs_not_finished_anywhere"],
        "error_samples": [{"status": r["status"], "error": r["error"]} for r in errors[:5]],
    }
    print(json.dumps(report, indent=2))
    if a.keep:
        print(f"kept: {workdir}" + (f", database {stack.created_db}" if stack.created_db else ""), file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if report["failures"]["total"] or jobs["jobs_not_finished_anywhere"] else 0


if __name__ == "__main__":
    sys.exit(main())

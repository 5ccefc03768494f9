"""A model switch over many references, with its worker killed mid-way: memory, speed, exactly once.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/model_switch.py --n 200000 --kill-at 0.4 --json

Builds a throw-away SQLite database (embedded default) with ``--n`` synthetic references
(``--bytes`` of image payload each), ``n / 5`` customers with active enrollments, and two
model versions served by a small stand-in engine (a 64-d embedding from a hash of the
bytes, ``--embed-ms`` of simulated model time per reference; ``--engine real``: the shipped
model to ``ml/weights/lite0.pt`` on pad strokes). Then it runs the switch the way the
product does (``model_version_activate``, the ``reembed`` and ``reembed_chunk`` tasks), each
job in a worker process (``--workers`` at a time, standing in for Celery workers), SIGKILLs
every worker once ``--kill-at`` of the references are committed, lets the job sweeper fail
the lost jobs, activates again and runs workers to the end. Reports the workers' peak RSS,
the throughput, and checks that every reference got exactly one embedding of the new
version, committed once, and that the version flipped once.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


class SwitchBenchEngine:
    """Just what a model switch asks of an engine (``verification.ml_engine.SignatureEngine``)."""

    embedding_dim = 64
    preprocess_version = "bench-pp"
    canvas = (16, 32)
    threshold = 0.5
    checkpoint = {"metrics": {}}

    def __init__(self, path, embed_ms: float = 0.0):
        self.model_version = "bench-" + hashlib.sha256((path or "").encode()).hexdigest()[:8]
        self.embed_ms = embed_ms

    def embed(self, items, batch_size=64):
        items = list(items)
        if self.embed_ms:
            time.sleep(self.embed_ms * len(items) / 1000)
        out = np.empty((len(items), self.embedding_dim), np.float32)
        for i, item in enumerate(items):
            data = bytes(item) if isinstance(item, (bytes, bytearray, memoryview)) else json.dumps(item).encode()
            seed = int.from_bytes(hashlib.sha1(data + self.model_version.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.embedding_dim).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out

    def fit_writer(self, reference_embeddings):
        refs = np.asarray(reference_embeddings, np.float32)
        return {"centroid": refs.mean(axis=0).round(5).tolist(), "n_refs": len(refs), "model_version": self.model_version}

    def threshold_for(self, n_refs):
        return self.threshold


def setup_django(db: Path, embed_ms: float, real: bool = False):
    os.environ.update(DJANGO_SETTINGS_MODULE="sigweb.settings", SIGWEB_SQLITE_PATH=str(db), SIGWEB_SWEEPER_ENABLED="0")
    # as in production: DEBUG off (with it on, Django keeps the last 9000 queries' SQL in memory)
    os.environ.update(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="benchmark-only-key", DJANGO_ALLOWED_HOSTS="localhost")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from verification import ml_engine
    from verification.services import job_dispatch

    if not real:  # --engine real: the shipped model (old) and ml/weights/lite0.pt (new), on SIGWEB_DEVICE
        ml_engine.engine_override(lambda path: SwitchBenchEngine(path, embed_ms))
    job_dispatch._send_task = lambda *a: None  # the workers are this script's subprocesses


def populate(n: int, payload: int, real: bool = False) -> None:
    from django.core.management import call_command
    from django.db import transaction

    from verification import embeddings
    from verification.demo import demo_strokes
    from verification.models import Customer, Enrollment, ReferenceEmbedding, ReferenceSignature, WriterParams
    from verification.services.model_versions import model_version_active

    call_command("migrate", verbosity=0)
    old = model_version_active()
    engine = SwitchBenchEngine("")
    rng = np.random.default_rng(0)
    per = 5
    for start in range(0, n, 5000):
        with transaction.atomic():
            count = min(5000, n - start)
            customers = Customer.objects.bulk_create(
                [Customer(external_ref=f"B-{start + i:07d}", name=f"Bench {start + i}") for i in range(0, count, per)]
            )
            refs = ReferenceSignature.objects.bulk_create(
                [
                    ReferenceSignature(
                        customer=customers[i // per],
                        source="upload",
                        status="embedded",
                        image=None if real else rng.bytes(payload),
                        strokes=demo_strokes(f"bench-{(start + i) // per}", i % per) if real else None,
                        image_content_type="" if real else "image/png",
                        model_version=old.name,
                    )
                    for i in range(count)
                ]
            )
            vectors = engine.embed([r.image or r.strokes for r in refs])
            ReferenceEmbedding.objects.bulk_create(
                [
                    ReferenceEmbedding(reference=r, model_version=old.name, vector=embeddings.to_bytes(v))
                    for r, v in zip(refs, vectors)
                ]
            )
            enrollments = Enrollment.objects.bulk_create(
                [Enrollment(customer=c, status="active", model_version=old.name, history=[]) for c in customers]
            )
            links = Enrollment.references.through
            links.objects.bulk_create(
                [links(enrollment_id=enrollments[i // per].id, referencesignature_id=r.id) for i, r in enumerate(refs)]
            )
            params = [engine.fit_writer(vectors[i : i + per]) for i in range(0, count, per)]
            WriterParams.objects.bulk_create(
                [WriterParams(enrollment=e, model_version=old.name, params=p) for e, p in zip(enrollments, params)]
            )


def _rss_mb(field: str = "VmHWM", pid: str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(job_id: str, trace: bool = False) -> None:
    from verification.models import Job
    from verification.services import model_switch
    from verification.tasks import model_reembed_chunk_task, model_reembed_task

    if trace:  # the resident memory around each phase of the switch, on stderr
        for name in ("_plan", "reembed_range", "_refit", "_mirror"):
            real = getattr(model_switch, name)

            def traced(*a, _real=real, _name=name, **k):
                result = _real(*a, **k)
                print(f"after {_name}: rss {_rss_mb('VmRSS'):.0f} MB, peak {_rss_mb():.0f} MB", file=sys.stderr, flush=True)
                return result

            setattr(model_switch, name, traced)

    task = model_reembed_task if Job.objects.get(id=job_id).kind == Job.Kind.REEMBED else model_reembed_chunk_task
    task.apply(args=[job_id])
    print("RSS_MB", _rss_mb(), flush=True)  # VmHWM: ru_maxrss would carry the parent's peak across fork


def _spawn(args, job_id):
    cmd = [
        sys.executable,
        __file__,
        "--db",
        args.db,
        "--embed-ms",
        str(args.embed_ms),
        "--worker",
        job_id,
        "--engine",
        args.engine,
    ]
    cmd += ["--trace"] if args.trace else []
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--bytes", type=int, default=4096, help="image payload per reference")
    ap.add_argument("--kill-at", type=float, default=0.4)
    ap.add_argument("--embed-ms", type=float, default=0.0)
    ap.add_argument("--workers", type=int, default=2, help="worker processes at a time (chunk jobs fan out over them)")
    ap.add_argument("--engine", choices=["stand-in", "real"], default="stand-in")
    ap.add_argument("--db", default="")
    ap.add_argument("--worker", default="")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--trace", action="store_true", help="workers print their memory after each phase")
    args = ap.parse_args()
    scratch = None
    if not args.db:  # a scratch folder, removed at the end
        scratch = Path(tempfile.mkdtemp(prefix="sigweb-switch-"))
        args.db = str(scratch / "switch.sqlite3")
    real = args.engine == "real"
    setup_django(Path(args.db), args.embed_ms, real)
    if args.worker:
        return worker(args.worker, args.trace)

    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from verification.models import AuditEvent, Job, ModelVersion, ReferenceEmbedding
    from verification.services.job_sweep import jobs_sweep
    from verification.services.model_versions import model_version_activate, model_version_register

    t0 = time.perf_counter()
    populate(args.n, args.bytes, real)
    setup_s = time.perf_counter() - t0
    checkpoint = ROOT / "ml" / "weights" / "lite0.pt" if real else Path(args.db).with_name("next.pt")
    if not real:
        checkpoint.write_bytes(b"bench")
    mv = model_version_register(checkpoint_path=str(checkpoint))
    old = ModelVersion.objects.get(is_active=True)

    t1 = time.perf_counter()
    first = model_version_activate(model_version=mv)
    killed = _broker(args, first, mv, kill_at=args.kill_at)
    killed_s = time.perf_counter() - t1
    committed = ReferenceEmbedding.objects.filter(model_version=mv.name).count()
    swept = jobs_sweep(now=timezone.now() + timedelta(seconds=settings.SIGWEB_TIME_LIMITS["reembed"] + 60))

    t2 = time.perf_counter()
    resumed = model_version_activate(model_version=mv)
    finished = _broker(args, resumed, mv)
    resumed_s = time.perf_counter() - t2
    resumed.refresh_from_db()
    chunks = Job.objects.filter(kind=Job.Kind.REEMBED_CHUNK, params__parent=str(resumed.id))
    second = int(resumed.params.get("embedded", 0)) + sum(int(j.params.get("embedded", 0)) for j in chunks)
    rows = ReferenceEmbedding.objects.filter(model_version=mv.name).count()
    result = {
        "references": args.n,
        "engine": args.engine if not real else f"real ({mv.name}, {settings.SIGWEB_DEVICE})",
        "payload_bytes": args.bytes,
        "chunk": settings.SIGWEB_REEMBED_CHUNK,
        "refs_per_job": settings.SIGWEB_REEMBED_REFS_PER_JOB,
        "workers": args.workers,
        "embed_ms": args.embed_ms,
        "setup_s": round(setup_s, 1),
        "killed_workers": killed["killed"],
        "killed_after_s": round(killed_s, 1),
        "committed_before_kill": committed,
        "swept_failed": swept["failed"],
        "chunk_jobs_after_resume": chunks.count(),
        "embedded_after_resume": second,
        "resume_s": round(resumed_s, 1),
        "resume_status": resumed.status,
        "peak_rss_mb_worker_before_kill": round(killed["peak_mb"], 1),
        "peak_rss_mb_worker_after_resume": round(finished["peak_mb"], 1),
        "throughput_refs_per_s": round(args.n / (killed_s + resumed_s), 1),
        "new_version_rows": rows,
        "exactly_once": rows == args.n and committed + second == args.n,
        "active": ModelVersion.objects.get(is_active=True).name == mv.name != old.name,
        "activate_audits": AuditEvent.objects.filter(action="model_version.activate").count(),
    }
    print(json.dumps(result, indent=None if args.json else 2))
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


def _broker(args, parent, mv, kill_at: float | None = None) -> dict:
    """Stand in for Celery: run each queued job of this switch in a worker process (at most
    ``--workers`` at a time) until the switch ends; with ``kill_at``, SIGKILL every worker
    once that fraction of the references is committed."""
    from verification.models import Job, ReferenceEmbedding

    running: dict[str, subprocess.Popen] = {}
    peak = 0.0
    while True:
        parent.refresh_from_db()
        for job_id, proc in list(running.items()):
            if proc.poll() is None:
                peak = max(peak, _rss_mb(pid=str(proc.pid)))
            else:
                out = proc.stdout.read()
                peak = max([peak] + [float(line.split()[1]) for line in out.splitlines() if line.startswith("RSS_MB")])
                del running[job_id]
        if parent.is_done and not running:
            return {"killed": 0, "peak_mb": peak}
        if kill_at is not None and ReferenceEmbedding.objects.filter(model_version=mv.name).count() >= kill_at * args.n:
            for proc in running.values():
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
            return {"killed": len(running), "peak_mb": peak}
        queued = [parent] if parent.status == Job.Status.QUEUED else []
        queued += list(Job.objects.filter(kind=Job.Kind.REEMBED_CHUNK, params__parent=str(parent.id), status=Job.Status.QUEUED))
        for job in queued:
            if str(job.id) not in running and len(running) < args.workers:
                running[str(job.id)] = _spawn(args, str(job.id))
        time.sleep(0.2)


if __name__ == "__main__":
    main()

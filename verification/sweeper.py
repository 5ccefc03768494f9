"""Runs the job sweeper (``services.job_sweep.jobs_sweep``) every SIGWEB_SWEEP_INTERVAL_SECONDS.

No Celery beat: every Celery worker starts one sweeper thread in its main process when it
is ready (``sigweb/celery.py``), and in embedded mode the web process starts one
(``sigweb/asgi.py``). Several sweepers at once are harmless: each job is swept under its
row lock and its heartbeat moves on, so it is resent once. ``manage.py jobs_sweep`` runs
one sweep by hand (or from cron).
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection

log = logging.getLogger(__name__)

_lock = threading.Lock()
_thread: threading.Thread | None = None
_stop = threading.Event()


# Document retention runs with the sweep, at most this often (seconds).
RETENTION_INTERVAL_SECONDS = 3600
_retention_at = 0.0


def sweep_once() -> dict:
    global _retention_at
    from verification.services.document_retention import documents_retention_apply
    from verification.services.job_sweep import jobs_sweep

    close_old_connections()
    try:
        result = jobs_sweep()
        if time.monotonic() - _retention_at >= RETENTION_INTERVAL_SECONDS or not _retention_at:
            _retention_at = time.monotonic()
            documents_retention_apply()
        return result
    finally:
        connection.close()


def _loop(interval: float) -> None:
    while not _stop.wait(interval):
        try:
            sweep_once()
        except Exception:
            log.exception("job sweep failed")


def sweeper_start() -> bool:
    """Start this process's sweeper thread (once); False when disabled or already running."""
    global _thread
    interval = float(settings.SIGWEB_SWEEP_INTERVAL_SECONDS)
    if not settings.SIGWEB_SWEEPER_ENABLED or interval <= 0:
        return False
    with _lock:
        if _thread is not None and _thread.is_alive():
            return False
        _stop.clear()
        _thread = threading.Thread(target=_loop, args=(interval,), name="sigweb-job-sweeper", daemon=True)
        _thread.start()
    log.info("job sweeper running every %.0f s", interval)
    return True


def sweeper_stop() -> None:
    global _thread
    _stop.set()
    if _thread is not None:
        _thread.join(timeout=5)
    _thread = None

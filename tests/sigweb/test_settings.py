"""Settings come from the environment; production fails closed and passes `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _manage(
    *args, env_extra: dict, drop=("DJANGO_SECRET_KEY", "SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DJANGO_DEBUG", "DJANGO_ENV")
):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_extra)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


PRODUCTION = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-key-0123456789",
    "DJANGO_ALLOWED_HOSTS": "sigweb.example.org",
}


def test_check_deploy_with_production_settings_reports_no_errors():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env_extra=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"])
def test_production_refuses_to_start_without(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = _manage("check", env_extra=env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_debug_off_counts_as_production():
    result = _manage("check", env_extra={"DJANGO_DEBUG": "0"})
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


def test_embedded_defaults_without_environment():
    code = (
        "import django, os; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ENV", "DJANGO_DEBUG")}
    env["DJANGO_SETTINGS_MODULE"] = "sigweb.settings"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["django.db.backends.sqlite3", "channels.layers.InMemoryChannelLayer", "True", "True"], (
        out.stderr
    )


def test_redis_and_postgres_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], "
        "s.CHANNEL_LAYERS['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL, "
        "s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'] > s.SIGWEB_TIME_LIMITS['train'])"
    )
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="sigweb.settings",
        DATABASE_URL="postgres://u@db:5432/sig",
        REDIS_URL="redis://r:6379/0",
    )
    env.pop("SIGWEB_BROKER_VISIBILITY_TIMEOUT", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == [
        "django.db.backends.postgresql",
        "sig",
        "channels_redis.core.RedisChannelLayer",
        "False",
        "redis://r:6379/0",
        "True",
    ], out.stderr


def test_tasks_route_to_queues_by_duration(settings):
    from sigweb.queues import Queue

    routed = {name: r["queue"] for name, r in settings.CELERY_TASK_ROUTES.items()}
    assert set(routed.values()) == {Queue.SHORT, Queue.LONG}
    for short in ("reference_embed_task", "enrollment_fit_task", "verification_score_task"):
        assert routed[f"verification.tasks.{short}"] == Queue.SHORT
    for long in ("model_reembed_task", "model_train_task"):
        assert routed[f"verification.tasks.{long}"] == Queue.LONG
    # nothing falls into a queue that no worker is told to consume
    assert settings.CELERY_TASK_DEFAULT_QUEUE in {q.value for q in Queue}
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1


def test_long_tasks_are_acknowledged_on_receipt_and_short_ones_late():
    from verification import tasks

    assert tasks.verification_score_task.acks_late and tasks.verification_score_task.reject_on_worker_lost
    assert not tasks.model_train_task.acks_late and not tasks.model_train_task.reject_on_worker_lost
    assert not tasks.model_reembed_task.acks_late


def test_short_redelivery_bound_leaves_room_for_the_time_limit_and_a_sweep():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SIGWEB_TIME_LIMITS['short'], s.SIGWEB_SWEEP_INTERVAL_SECONDS)"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="sigweb.settings", SIGWEB_SHORT_REDELIVERY_SECONDS="300")
    env.pop("SIGWEB_SHORT_TASK_TIME_LIMIT", None)
    env.pop("SIGWEB_SWEEP_INTERVAL_SECONDS", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    limit, interval = out.stdout.split()
    assert float(limit) + float(interval) < 300, out.stderr
    bad = dict(env, SIGWEB_SHORT_TASK_TIME_LIMIT="295")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=bad, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "SIGWEB_SHORT_REDELIVERY_SECONDS" in out.stderr


def test_redis_channel_layer_socket_timeout_outlasts_channels_blocking_reads():
    """redis-py's default 5 s socket timeout cut channels-redis's 5 s BZPOPMIN: websocket 1011."""
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "from channels_redis.core import RedisChannelLayer as L; h = s.CHANNEL_LAYERS['default']['CONFIG']['hosts'][0]; "
        "print(h['address'], h['socket_timeout'] > L.brpop_timeout)"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="sigweb.settings", REDIS_URL="redis://r:6379/0")
    env.pop("SIGWEB_CHANNELS_SOCKET_TIMEOUT", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["redis://r:6379/0", "True"], out.stderr


def test_web_server_does_not_keep_a_database_connection_per_request_thread():
    """Under ASGI each request runs in its own thread; with persistent connections the load
    benchmark ran PostgreSQL out of clients ("too many clients already", HTTP 500)."""
    code = "import django; django.setup(); from django.conf import settings as s; print(s.DATABASES['default']['CONN_MAX_AGE'])"
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="sigweb.settings", DATABASE_URL="postgres://u@db:5432/sig")
    env.pop("DATABASE_CONN_MAX_AGE", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["0"], out.stderr
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=dict(env, DATABASE_CONN_MAX_AGE="60"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.split() == ["60"], out.stderr  # workers may keep theirs

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
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], s.CHANNEL_LAYERS['default']['BACKEND'], "
        "s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL, s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'] > s.SIGWEB_TIME_LIMITS['train'])"
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


def test_ml_tasks_route_to_the_gpu_queue(settings):
    from sigweb.queues import Queue

    routed = {name: r["queue"] for name, r in settings.CELERY_TASK_ROUTES.items()}
    assert set(routed.values()) == {Queue.GPU}
    assert "verification.tasks.verification_score_task" in routed
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1

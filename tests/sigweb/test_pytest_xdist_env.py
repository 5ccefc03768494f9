"""Each pytest-xdist process gets a Redis database of its own (sigweb/pytest_xdist_env.py)."""

import os

from sigweb.pytest_xdist_env import worker_redis_url


def test_each_worker_moves_to_its_own_database_after_the_configured_one():
    assert worker_redis_url("redis://127.0.0.1:6379/9", "gw0") == "redis://127.0.0.1:6379/10"
    assert worker_redis_url("redis://127.0.0.1:6379/9", "gw1") == "redis://127.0.0.1:6379/11"
    assert worker_redis_url("redis://:secret@redis:6380", "gw2") == "redis://:secret@redis:6380/3"


def test_settings_were_read_after_the_move(settings):
    """The plugin must run before Django reads its settings, or the cache and broker would
    still point at the shared database while the workers this process starts use its own."""
    url = os.environ.get("REDIS_URL")
    if not url:
        return  # no Redis here: nothing to move
    assert settings.REDIS_URL == url
    assert settings.CACHES["default"]["LOCATION"] == url
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        assert url == worker_redis_url(os.environ["SIGWEB_REDIS_URL_CONFIGURED"], worker)

"""Readiness: can this process serve? Each check answers ``{"ok": bool, "detail": str}``.

* ``database``: a ``SELECT 1`` on the default connection;
* ``broker``: a Redis ``PING`` on ``REDIS_URL`` (skipped, and ok, without a broker: jobs run in-process);
* ``channel_layer``: a message sent to and read back from a fresh channel;
* ``model``: the active model version's engine is loaded (loading it on first call).
"""

from __future__ import annotations

import time

from django.conf import settings

BROKER_TIMEOUT_S = 2.0


def _database() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _broker() -> str:
    if not settings.REDIS_URL:
        return "none: jobs run in-process"
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=BROKER_TIMEOUT_S, socket_connect_timeout=BROKER_TIMEOUT_S)
    try:
        client.ping()
    finally:
        client.close()
    return "redis"


def _channel_layer() -> str:
    import asyncio

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")

    async def roundtrip():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "health.check"})
        return await asyncio.wait_for(layer.receive(channel), timeout=BROKER_TIMEOUT_S)

    message = async_to_sync(roundtrip)()
    if message.get("type") != "health.check":
        raise RuntimeError("the channel layer returned another message")
    return type(layer).__name__


def _model() -> str:
    from verification.services.model_versions import active_engine

    mv, _engine = active_engine()
    return mv.name


CHECKS = {"database": _database, "broker": _broker, "channel_layer": _channel_layer, "model": _model}


def readiness_check() -> dict:
    """``{"ready": bool, "checks": {name: {"ok", "detail", "ms"}}}``; one failed check makes it not ready."""
    results = {}
    for name, check in CHECKS.items():
        t0 = time.perf_counter()
        try:
            results[name] = {"ok": True, "detail": str(check())}
        except Exception as exc:  # a readiness probe reports every failure, it never raises
            results[name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:300]}
        results[name]["ms"] = round((time.perf_counter() - t0) * 1000, 1)
    return {"ready": all(r["ok"] for r in results.values()), "checks": results}

"""docker/: the compose file is valid and has what an operator needs (no Docker engine needed)."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"


def test_compose_has_web_short_and_long_gpu_workers_redis_postgres_and_volumes():
    from sigweb.queues import Queue

    spec = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    assert {"web", "worker-short", "worker-long", "redis", "postgres"} <= set(services)
    consumed = set()
    for name in ("worker-short", "worker-long"):
        worker = services[name]
        devices = worker["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["capabilities"] == ["gpu"] and devices[0]["driver"] == "nvidia"
        assert worker["build"]["dockerfile"] == "docker/worker-gpu.Dockerfile"
        command = worker["command"]
        consumed.add(command[command.index("-Q") + 1])
    assert consumed == {q.value for q in Queue}  # every queue has its own worker, no queue without one
    # training's batch workers share the preprocessed images (about 230 MB for the shipped data)
    assert services["worker-long"]["shm_size"] == "2gb"
    assert services["web"]["build"]["dockerfile"] == "docker/web.Dockerfile"
    assert {"pgdata", "redisdata", "models"} <= set(spec["volumes"])
    assert "-Q" in (ROOT / "docker" / "worker-gpu.Dockerfile").read_text()
    assert "nvidia/cuda" in (ROOT / "docker" / "worker-gpu.Dockerfile").read_text()


def _compose_cli():
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_config_accepts_the_file():
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    result = subprocess.run([*cli, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr

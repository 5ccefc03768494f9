"""SigWeb installs as a package; runtime and development requirements stay apart."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEV_ONLY = {"pytest", "pytest-django", "pytest-timeout", "playwright", "websockets", "ruff", "matplotlib",
            "onnx", "onnxscript", "onnxruntime"}  # fmt: skip


def _requirements(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-r"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]+\])?==([\w.+-]+)", line)
        assert m, f"{name}: {line!r} is not pinned with =="
        pins[m.group(1).lower()] = m.group(3)
    return pins


def test_runtime_requirements_carry_no_test_or_dev_tools():
    runtime = _requirements("requirements.txt")
    assert "torch" in runtime and "django" in runtime
    assert not DEV_ONLY & set(runtime)


def test_dev_requirements_extend_the_runtime_and_pin_the_tools():
    text = (ROOT / "requirements-dev.txt").read_text()
    assert re.search(r"^-r requirements\.txt$", text, re.M)
    assert DEV_ONLY <= set(_requirements("requirements-dev.txt"))


@pytest.mark.parametrize("dockerfile", sorted((ROOT / "docker").glob("*.Dockerfile")), ids=lambda p: p.name)
def test_docker_images_install_the_runtime_only(dockerfile):
    instructions = "\n".join(ln for ln in dockerfile.read_text().splitlines() if not ln.lstrip().startswith("#"))
    assert "pip install -r requirements.txt" in instructions
    assert "requirements-dev" not in instructions


def test_pyproject_packages_the_three_top_level_packages():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = cfg["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {"ml", "verification", "sigweb"} <= set(include)
    assert cfg["tool"]["setuptools"]["dynamic"]["dependencies"] == {"file": ["requirements.txt"]}


@pytest.mark.parametrize("script", ["benchmarks/test_folders.py", "benchmarks/embed_latency.py", "benchmarks/api_latency.py"])
def test_benchmarks_run_from_any_directory_without_path_setup(script, tmp_path):
    """The installed package is what they import (scripts/venv.sh: pip install -e .)."""
    r = subprocess.run([sys.executable, str(ROOT / script), "--help"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage:")

"""Fixtures shared by the web-service tests (tests/verification, tests/sigweb, tests/integration)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

# sigweb.asgi (imported by the websocket tests) would warm the real engine up in a thread
os.environ.setdefault("SIGWEB_PRELOAD_ENGINE", "0")
# ... and start the job sweeper thread on the test database; sweeper tests call jobs_sweep
# directly, and integration workers turn it back on (tests/integration/conftest.py)
os.environ.setdefault("SIGWEB_SWEEPER_ENABLED", "0")


def png_signature(seed: int = 0, size=(300, 120)) -> bytes:
    """A small drawn 'signature' image, different per seed."""
    im = Image.new("L", size, 255)
    draw = ImageDraw.Draw(im)
    w, h = size
    pts = [(20 + i * (w - 40) / 20, h / 2 + ((i * (seed + 3)) % 7 - 3) * 8) for i in range(21)]
    draw.line(pts, fill=0, width=4)
    draw.ellipse((30 + seed * 5, 20, 70 + seed * 5, 60), outline=0, width=3)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def signature_png():
    return png_signature


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """No persistent connections under test: a thread's idle connection would keep the
    test database busy at teardown (websocket consumers run DB code in worker threads)."""
    from django.db import connections

    for alias in connections.settings:
        connections.settings[alias]["CONN_MAX_AGE"] = 0


REAL_CHECKPOINT = Path(__file__).resolve().parents[1] / "ml" / "weights" / "sigweb.pt"


@pytest.fixture(scope="session")
def checkpoint_path(tmp_path_factory) -> str:
    """The shipped checkpoint; until it exists, one trained here in seconds (tiny, synthetic)."""
    if os.environ.get("SIGWEB_MODEL_PATH"):
        return os.environ["SIGWEB_MODEL_PATH"]
    if REAL_CHECKPOINT.is_file():
        return str(REAL_CHECKPOINT)
    from ml.train import resolve_config, train

    from tiny_training import tiny_train_config

    folder = tmp_path_factory.mktemp("tiny-model")
    cfg = resolve_config(None)
    for section, values in tiny_train_config(folder).items():
        if isinstance(values, dict):
            cfg[section].update(values)
        else:
            cfg[section] = values
    return str(train(cfg))

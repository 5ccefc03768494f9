"""Fixtures for the always-run ML tests (helpers live in ``ml_testkit``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml import checkpoint as ckpt

from ml_testkit import tiny_checkpoint


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A calibrated tiny checkpoint on disk (``Engine.load`` accepts it)."""
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    ckpt.save(tiny_checkpoint(), path)
    return path

"""Training batches made beside the optimiser (``ml.batches``): same batches however they are
made, and a resumed stream continues the uninterrupted one."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
import torch

from ml.batches import TrainingBatches, batch_stream
from ml.config import resolve_config
from ml.preprocess import CANVAS
from ml.samplers import WriterBatchSampler
from ml.train import loader_workers, train_precision

WRITERS, PER_WRITER = 6, 5  # 4 genuine + 1 forgery each


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    """Images (as if preprocessed), their source scans on disk, labels and a sampler."""
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("batches")
    n = WRITERS * PER_WRITER
    images = np.full((n, *CANVAS), 0, np.uint8)
    paths = []
    for i in range(n):
        cv2.line(images[i], (20 + i, 40), (200 - i, 110), 255, 3)
        scan = np.full((300, 440), 250, np.uint8)
        cv2.putText(scan, f"w{i // PER_WRITER}", (40, 200), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 4, 30, 6)
        paths.append(root / f"{i}.png")
        cv2.imwrite(str(paths[-1]), scan + rng.integers(0, 4, scan.shape, dtype=np.uint8))
    writer = np.repeat(np.arange(WRITERS), PER_WRITER)
    forged = np.tile([False] * 4 + [True], WRITERS)
    labels = np.where(forged, -writer - 1, writer)
    return images, paths, labels, writer, forged


def make(pool, epochs, seed=3):
    images, paths, labels, writer, forged = pool
    sampler = WriterBatchSampler(writer, forged, writers=3, genuine=2, forged_per_writer=1, batches=3, seed=seed)
    return TrainingBatches(images, paths, labels, sampler, epochs, {"elastic": 0.01}, raw_p=0.5, seed=seed)


def collect(stream):
    return [(x.clone(), y.clone()) for x, y in stream]


def assert_same(a, b):
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b):
        assert torch.equal(ya, yb)
        assert torch.allclose(xa, xb, atol=1e-6)


def test_batches_are_the_same_inline_and_in_worker_processes(pool):
    inline = collect(batch_stream(make(pool, range(2)), 0))
    assert len(inline) == 6 and inline[0][0].shape == (9, 1, *CANVAS)
    assert all(x.dtype == torch.float32 and 0 <= float(x.min()) and float(x.max()) <= 1 for x, _ in inline)
    # labels follow the sampler: 3 writers x (2 genuine + 1 forgery), forgeries negative
    assert all(int((y < 0).sum()) == 3 for _, y in inline)
    assert_same(collect(batch_stream(make(pool, range(2)), 1)), inline)
    assert_same(collect(batch_stream(make(pool, range(2)), 2)), inline)
    # and the augmentation really draws: two batches of one epoch differ, another seed differs
    assert not torch.equal(inline[0][0], inline[1][0])
    assert not torch.equal(collect(batch_stream(make(pool, range(1), seed=4), 0))[0][0], inline[0][0])


def test_a_resumed_stream_continues_the_uninterrupted_one(pool):
    whole = collect(batch_stream(make(pool, range(3)), 0))
    resumed = collect(batch_stream(make(pool, range(1, 3)), 0))
    assert_same(resumed, whole[3:])


def test_a_partly_read_stream_can_be_dropped(pool):
    stream = batch_stream(make(pool, range(50)), 1)
    first = list(itertools.islice(stream, 2))
    assert len(first) == 2
    del stream  # a deadline stops training mid-epoch: the worker goes with the iterator


def test_numeric_mode_and_worker_count_follow_the_config_and_device(monkeypatch):
    import ml.train

    cfg = resolve_config(None, [])
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(ml.train, "bf16_supported", lambda kind: True)
    assert train_precision(cfg, cuda) == "bf16"
    assert train_precision(cfg, cpu) == "fp32"  # CPU bf16 is asked for separately
    assert train_precision({**cfg, "amp_cpu": True}, cpu) == "bf16"
    assert train_precision({**cfg, "amp": False, "amp_cpu": True}, cpu) == "fp32"
    monkeypatch.setattr(ml.train, "bf16_supported", lambda kind: False)
    assert train_precision({**cfg, "amp_cpu": True}, cpu) == "fp32"
    assert train_precision(cfg, cuda) == "fp32"
    assert cfg["loader_workers"] == "auto"
    assert loader_workers(cfg, cpu) == 0
    assert 1 <= loader_workers(cfg, cuda) <= 4
    assert loader_workers({**cfg, "loader_workers": 2}, cpu) == 2

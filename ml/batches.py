"""Training batches, made beside the optimiser instead of before each step.

Each step's batch costs two things besides the network: re-reading a fraction ``raw_p`` of its
signatures from the source scan through ``ml.augment.raw_augment`` and preprocessing, and
``ml.augment.BatchAugment`` on the whole batch. ``batch_stream`` makes them in ``workers``
DataLoader worker processes (one CPU thread each, started once for the whole training) while
the main process runs forward and backward, or in the main process when ``workers`` is 0.

Batch k of epoch e draws its augmentation from generators seeded with (seed, e, k) alone:
the batches are the same with 0, 1 or more workers, and a training resumed after epoch e
draws exactly the batches an uninterrupted one would have.

The workers start from a fresh interpreter (``forkserver``), not a fork of this process: a
child forked after the parent's OpenMP or OpenCV thread pools ran can hang for good
(``ml.data.preprocess_all`` says the same). The preprocessed images reach them through shared
memory, not a copy.
"""

from __future__ import annotations

import multiprocessing

import numpy as np
import torch

from ml.augment import AugmentConfig, BatchAugment, raw_augment
from ml.preprocess import CANVAS, load_gray, preprocess_gray

__all__ = ["TrainingBatches", "batch_stream"]


def _generators(seed: int, epoch: int, k: int) -> tuple[torch.Generator, np.random.Generator]:
    torch_seed, raw_seed = np.random.SeedSequence([int(seed), int(epoch), int(k)]).generate_state(2, dtype=np.uint64)
    return torch.Generator().manual_seed(int(torch_seed) & (2**63 - 1)), np.random.default_rng(int(raw_seed))


class TrainingBatches(torch.utils.data.IterableDataset):
    """The batches of ``epochs``, in order: ``(x, y)`` with ``x`` float (N, 1, H, W) in [0, 1],
    augmented, and ``y`` the int64 labels. ``sampler`` (``ml.samplers.WriterBatchSampler``) gives
    each epoch's indices; ``paths[i]`` is the source file of ``images[i]`` (for ``raw_p``)."""

    def __init__(self, images, paths: list, labels: np.ndarray, sampler, epochs, augment: dict, raw_p: float,
                 seed: int, device: str | torch.device = "cpu"):  # fmt: skip
        self.images = images  # a numpy array, or a uint8 tensor in shared memory for workers
        self.paths, self.labels, self.sampler = [str(p) for p in paths], labels, sampler
        self.epochs = [int(e) for e in epochs]
        self.augment_cfg = AugmentConfig(**augment)
        self.raw_p, self.seed, self.device = float(raw_p), int(seed), device

    def __len__(self):
        return len(self.epochs) * len(self.sampler)

    def _source(self, idx: list[int], rng: np.random.Generator) -> np.ndarray:
        """The batch's preprocessed uint8 images before ``BatchAugment``, a fraction ``raw_p`` of
        them re-read from the source scan through ``raw_augment``."""
        images = self.images.numpy() if isinstance(self.images, torch.Tensor) else self.images
        batch = images[idx]
        if self.raw_p > 0:
            for j, i in enumerate(idx):
                if rng.random() < self.raw_p:
                    try:
                        batch[j] = preprocess_gray(raw_augment(load_gray(self.paths[i])[0], rng), CANVAS)
                    except ValueError:  # an unreadable source: the cached image stays
                        pass
        return batch

    def _make(self, idx: list[int], epoch: int, k: int):
        gen, rng = _generators(self.seed, epoch, k)
        x = torch.from_numpy(self._source(idx, rng)).to(self.device).float().div_(255).unsqueeze(1)
        return BatchAugment(self.augment_cfg, gen)(x), torch.from_numpy(self.labels[idx]).long()

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        part, parts = (info.id, info.num_workers) if info is not None else (0, 1)
        j = 0  # position in the stream: worker w makes positions w, w + parts, ... (the loader's order)
        for epoch in self.epochs:
            self.sampler.set_epoch(epoch)
            for k, idx in enumerate(self.sampler):
                if j % parts == part:
                    yield self._make(idx, epoch, k)
                j += 1


def _worker_init(_):
    import cv2

    cv2.setNumThreads(1)  # one core per worker; the loader already sets torch to one thread


def batch_stream(data: TrainingBatches, workers: int):
    """An iterator over ``data``'s batches in order, made by ``workers`` processes (0: here)."""
    if workers <= 0:
        return iter(data)
    if torch.device(data.device).type != "cpu":
        raise ValueError("worker processes make batches on the CPU; build the batches with device='cpu'")
    if not isinstance(data.images, torch.Tensor):
        data.images = torch.from_numpy(np.ascontiguousarray(data.images)).share_memory_()
    methods = multiprocessing.get_all_start_methods()
    ctx = "forkserver" if "forkserver" in methods else "spawn"
    loader = torch.utils.data.DataLoader(
        data, batch_size=None, num_workers=int(workers), prefetch_factor=2, worker_init_fn=_worker_init,
        multiprocessing_context=ctx, persistent_workers=False,
        generator=torch.Generator().manual_seed(data.seed),  # not the global generator: dropout stays as inline
    )  # fmt: skip
    return iter(loader)

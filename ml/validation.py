"""Validation writers: the writer-disjoint split of the training data, and the per-epoch EER.

``split_images`` preprocesses the training signatures once and splits them exactly as
training does (``ml.data.split_validation`` with ``ml.config.split_seed``), so a study,
a calibration or a comparison of checkpoints sees the same validation writers as the
training that made the checkpoint. Test writers never appear: ``ml.data.training_writers``
drops them.
"""

from __future__ import annotations

import numpy as np

from ml.config import split_seed
from ml.data import Sample, preprocess_all, split_validation, training_writers
from ml.metrics import eer


def split_images(samples: list[Sample], cfg: dict, progress=None):
    """Preprocess all samples once (one cache entry), then split them writer-disjointly.

    Returns ``((train_images, train_samples), (val_images, val_samples))``; unreadable
    signatures are left out of both.
    """
    imgs, ok = preprocess_all([s.path for s in samples], cfg["data"]["cache_dir"], cfg["workers"], progress)
    _, val_s = split_validation(samples, cfg["data"]["val_fraction"], split_seed(cfg))
    val_w = {s.person for s in val_s}
    parts = []
    for want_val in (False, True):
        keep = [i for i, s in enumerate(samples) if ok[i] and (s.person in val_w) == want_val]
        parts.append((imgs[keep], [samples[i] for i in keep]))
    return parts[0], parts[1]


def validation_images(cfg: dict) -> tuple[np.ndarray, list[Sample]]:
    """(images, samples) of a config's validation writers, split as its training split them."""
    samples = training_writers(cfg["data"]["root"], cfg["data"]["datasets"])
    _, (val_x, val_s) = split_images(samples, cfg)
    return val_x, val_s


def quick_validation(emb_by_writer: dict, refs: int, seed: int) -> dict:
    """Validation EERs, per dataset and their mean (``val_eer``, used to keep the best epoch).

    Scores are the writer-independent mean cosine similarity to the references (no SVM;
    fast). Datasets are scored separately: pooling them mixes similarity scales and
    hides real progress. Each dataset's EER is against skilled forgeries where it has
    them, random forgeries otherwise.
    """
    by_ds: dict[str, dict] = {}
    for w, d in emb_by_writer.items():
        by_ds.setdefault(w.split("/", 1)[0], {})[w] = d
    out, prim = {}, []
    for ds, sub in sorted(by_ds.items()):
        r = cosine_eers(sub, refs, seed)
        out[f"val_eer_{ds}"] = r["val_eer"]
        prim.append(r["val_eer"])
    out["val_eer"] = float(np.mean(prim))
    return out


def cosine_eers(emb_by_writer: dict, refs: int, seed: int) -> dict:
    """EERs of the mean cosine to ``refs`` references: random, skilled, and the primary one."""
    g, s, r = [], [], []
    for w, d in sorted(emb_by_writer.items()):
        gen = d["genuine"]
        if len(gen) < 2:
            continue
        order = np.random.default_rng([seed, len(gen)]).permutation(len(gen))
        k = min(refs, len(gen) - 1)
        ref = gen[order[:k]]
        g.append((gen[order[k:]] @ ref.T).mean(1))
        if len(d["forged"]):
            s.append((d["forged"] @ ref.T).mean(1))
        others = [o["genuine"] for ow, o in emb_by_writer.items() if ow != w]
        if others:
            r.append((np.concatenate(others) @ ref.T).mean(1))
    g = np.concatenate(g)
    out = {"val_eer_random": eer(g, np.concatenate(r))[0] if r else None}
    out["val_eer_skilled"] = eer(g, np.concatenate(s))[0] if s else None
    out["val_eer"] = out["val_eer_skilled"] if s else out["val_eer_random"]
    return out

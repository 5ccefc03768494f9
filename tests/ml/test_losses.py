"""Losses and the writer batch sampler.

Label convention (ml/losses.py): ``label >= 0`` is a genuine signature of writer
``label``; ``label < 0`` is a skilled forgery of writer ``-label - 1``. Forgeries are
negatives for their target writer, never anchors or positives.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.losses import CombinedLoss, ContrastiveLoss, CosFaceLoss, ForgeryLoss, TripletLoss, _pair_masks, target_writer
from ml.samplers import WriterBatchSampler

DIM = 8


def _axis(i: int) -> torch.Tensor:
    e = torch.zeros(DIM)
    e[i] = 1.0
    return e


def separated_batch():
    """Writers 0, 1, 2 at orthogonal unit vectors (3 genuine each, all identical), and one
    forgery of each writer on an axis of its own: every positive distance 0, every
    negative distance sqrt(2) (far beyond any margin used here)."""
    emb, labels = [], []
    for w in range(3):
        for _ in range(3):
            emb.append(_axis(w))
            labels.append(w)
        emb.append(_axis(3 + w))
        labels.append(-w - 1)
    return torch.stack(emb), torch.tensor(labels)


def test_label_convention():
    labels = torch.tensor([0, 3, -1, -4, -3])
    assert target_writer(labels).tolist() == [0, 3, 0, 3, 2]


def test_pair_masks_forgeries_never_positive_or_anchor():
    labels = torch.tensor([0, 0, -1, 1, 1, -2])
    pos, neg = _pair_masks(labels)
    forged = labels < 0
    assert not pos[forged].any() and not pos[:, forged].any()  # never anchors nor positives
    assert not neg[forged].any()  # never anchors of negatives either
    assert pos[0, 1] and pos[1, 0] and pos[3, 4] and not pos[0, 0]  # same writer, genuine, not self
    assert neg[0, 2] and neg[1, 2]  # writer 0's forgery is a negative for writer 0
    assert neg[3, 5] and neg[0, 3] and neg[0, 5]  # writer 1's forgery; other writers
    assert not neg[0, 1] and not pos[0, 2]


@pytest.mark.parametrize("mining", ["semihard", "hard"])
def test_triplet_zero_when_perfectly_separated(mining):
    emb, labels = separated_batch()
    assert float(TripletLoss(0.2, mining)(emb, labels)) == 0.0


@pytest.mark.parametrize("mining", ["semihard", "hard"])
def test_triplet_positive_when_a_forgery_sits_on_its_writer(mining):
    emb, labels = separated_batch()
    emb[3] = _axis(0)  # writer 0's forgery now looks exactly like writer 0
    loss = TripletLoss(0.2, mining)(emb, labels)
    # writer 0's anchors: d(a, p) = 0 = d(a, forgery), so each costs the margin 0.2; the
    # other writers' cost nothing: a third of the anchors (and of the pairs) -> 0.2 / 3
    assert float(loss) == pytest.approx(0.2 / 3)
    # and the gradient is live
    emb2 = emb.clone().requires_grad_(True)
    TripletLoss(0.2, mining)(emb2 + 0.01 * torch.randn_like(emb2), labels).backward()
    assert emb2.grad is not None and emb2.grad.abs().sum() > 0


@pytest.mark.parametrize("mining", ["semihard", "hard"])
def test_triplet_positive_when_writers_overlap(mining):
    emb, labels = separated_batch()
    emb[4:7] = _axis(0)  # writer 1 collapses onto writer 0
    assert float(TripletLoss(0.2, mining)(emb, labels)) > 0


@pytest.mark.parametrize("mining", ["semihard", "hard"])
def test_forgeries_are_not_positives(mining):
    """A forgery far from its writer costs nothing; it would if it were taken as a positive."""
    emb, labels = separated_batch()
    emb[3] = -_axis(0)  # writer 0's forgery at distance 2 from writer 0: a perfect negative
    assert float(TripletLoss(0.2, mining)(emb, labels)) == 0.0
    assert float(ContrastiveLoss(1.0)(emb, labels)) == 0.0


def test_triplet_without_positives_or_negatives_is_zero():
    emb = torch.nn.functional.normalize(torch.randn(4, DIM), dim=1)
    assert float(TripletLoss()(emb, torch.tensor([0, 1, 2, 3]))) == 0.0  # no positive pair
    assert float(TripletLoss(mining="hard")(emb, torch.tensor([0, 0, 0, 0]))) == 0.0  # no negative
    with pytest.raises(ValueError):
        TripletLoss(mining="easy")


def test_contrastive_zero_when_separated_and_positive_otherwise():
    emb, labels = separated_batch()
    assert float(ContrastiveLoss(1.0)(emb, labels)) == 0.0
    emb[3] = _axis(0)
    assert float(ContrastiveLoss(1.0)(emb, labels)) > 0


def test_classification_ignores_forgeries_and_forgery_head_uses_them():
    torch.manual_seed(0)
    emb = torch.randn(6, DIM)
    only_forgeries = torch.tensor([-1, -2, -3, -1, -2, -3])
    assert float(CosFaceLoss(DIM, 3)(emb, only_forgeries).detach()) == 0.0
    cos = CosFaceLoss(DIM, 3)
    base = cos(emb[:3], torch.tensor([0, 1, 2]))
    mixed = cos(torch.cat([emb[:3], emb[3:]]), torch.tensor([0, 1, 2, -1, -2, -3]))
    assert float(mixed.detach()) == pytest.approx(float(base.detach()))  # the forgeries changed nothing
    head = ForgeryLoss(DIM)
    assert float(head(emb, torch.tensor([0, 1, 2, -1, -2, -3])).detach()) > 0


def test_combined_loss_reports_its_parts():
    emb, labels = separated_batch()
    loss_fn = CombinedLoss(DIM, 3, {"classification": 1.0, "forgery": 0.3, "triplet": 1.0, "contrastive": 0.0})
    total, parts = loss_fn(emb, labels)
    assert set(parts) == {"classification", "forgery", "triplet"}
    expected = parts["classification"] + 0.3 * parts["forgery"] + parts["triplet"]
    assert float(total.detach()) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError):
        CombinedLoss(DIM, 3, {"nonsense": 1.0})


# --------------------------------------------------------------------------- sampler


def _dataset():
    """10 writers: writer w has 5 + (w % 3) genuine; writers 0-6 have 3 forgeries, 7-9 none."""
    writer_ids, forged = [], []
    for w in range(10):
        n_gen, n_forg = 5 + w % 3, (3 if w < 7 else 0)
        writer_ids += [w] * (n_gen + n_forg)
        forged += [False] * n_gen + [True] * n_forg
    return np.array(writer_ids), np.array(forged)


def test_sampler_batches_are_writers_times_genuine_plus_forgeries():
    wid, forged = _dataset()
    s = WriterBatchSampler(wid, forged, writers=4, genuine=3, forged_per_writer=2, batches=20, seed=5)
    assert len(s) == 20
    batches = list(s)
    assert len(batches) == 20
    for b in batches:
        b = np.array(b)
        writers = np.unique(wid[b])
        assert len(writers) == 4
        for w in writers:
            mine = b[wid[b] == w]
            assert (~forged[mine]).sum() == 3  # k genuine of this writer
            assert forged[mine].sum() == (2 if w < 7 else 0)  # up to f of its own forgeries
        assert len(np.unique(b[forged[b]])) == forged[b].sum()  # forgeries drawn without replacement
    # every writer with genuine signatures gets drawn at some point
    assert set(np.unique(wid[np.concatenate(batches)])) == set(range(10))


def test_sampler_is_deterministic_per_seed_and_epoch():
    wid, forged = _dataset()

    def run(seed, epoch):
        s = WriterBatchSampler(wid, forged, writers=4, genuine=3, forged_per_writer=2, batches=6, seed=seed)
        s.set_epoch(epoch)
        return [list(map(int, b)) for b in s]

    assert run(1, 0) == run(1, 0)
    assert run(1, 3) == run(1, 3)
    assert run(1, 0) != run(1, 1)
    assert run(1, 0) != run(2, 0)


def test_sampler_needs_two_usable_writers():
    with pytest.raises(ValueError):
        WriterBatchSampler([0, 0, 1], [False, False, False])
    s = WriterBatchSampler([0, 0, 1, 1, 1], [False] * 5, writers=16, genuine=4)
    assert all(len(np.unique(np.array([0, 0, 1, 1, 1])[b])) == 2 for b in s)  # capped to the 2 writers

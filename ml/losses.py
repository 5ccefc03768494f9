"""Training losses, all called as ``loss(embeddings, labels)``.

Label convention: ``labels[i] >= 0`` is a genuine signature of writer ``labels[i]``;
``labels[i] < 0`` is a skilled forgery *of* writer ``-labels[i] - 1``. Forgeries are never
anchors or positives, only negatives (for their target writer above all).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def target_writer(labels: torch.Tensor) -> torch.Tensor:
    return torch.where(labels >= 0, labels, -labels - 1)


def _pair_masks(labels):
    genuine = labels >= 0
    writer = target_writer(labels)
    same_writer = writer[:, None] == writer[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos = same_writer & genuine[:, None] & genuine[None, :] & ~eye
    neg = ~same_writer | (same_writer & (genuine[:, None] != genuine[None, :]))
    return pos, neg & genuine[:, None]  # anchors are genuine


class CosFaceLoss(nn.Module):
    """Writer classification with an additive cosine margin (CosFace); forgeries ignored."""

    def __init__(self, embedding_dim: int, n_classes: int, scale: float = 30.0, margin: float = 0.2):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_classes, embedding_dim) * 0.01)
        self.scale, self.margin = scale, margin

    def forward(self, emb, labels):
        keep = labels >= 0
        if not keep.any():
            return emb.sum() * 0
        emb, y = emb[keep], labels[keep]
        cos = F.linear(F.normalize(emb, dim=1), F.normalize(self.weight, dim=1))
        logits = self.scale * (cos - self.margin * F.one_hot(y, cos.shape[1]))
        return F.cross_entropy(logits, y)


class SoftmaxLoss(nn.Module):
    """Plain writer classification (SigNet's loss): a linear layer and cross-entropy."""

    def __init__(self, embedding_dim: int, n_classes: int):
        super().__init__()
        self.fc = nn.Linear(embedding_dim, n_classes)

    def forward(self, emb, labels):
        keep = labels >= 0
        if not keep.any():
            return emb.sum() * 0
        return F.cross_entropy(self.fc(emb[keep]), labels[keep])


class ForgeryLoss(nn.Module):
    """SigNet-F's skilled-forgery head: logistic regression genuine vs forgery."""

    def __init__(self, embedding_dim: int):
        super().__init__()
        self.fc = nn.Linear(embedding_dim, 1)

    def forward(self, emb, labels):
        return F.binary_cross_entropy_with_logits(self.fc(emb).squeeze(1), (labels < 0).float())


class ContrastiveLoss(nn.Module):
    """Dey et al. 2017: pull genuine pairs together, push others beyond a margin."""

    def __init__(self, margin: float = 1.0):
        super().__init__()
        self.margin = margin

    def forward(self, emb, labels):
        d = torch.cdist(emb, emb)
        pos, neg = _pair_masks(labels)
        lp = (d[pos] ** 2).mean() if pos.any() else d.sum() * 0
        ln = (F.relu(self.margin - d[neg]) ** 2).mean() if neg.any() else d.sum() * 0
        return lp + ln


class TripletLoss(nn.Module):
    """Triplet margin loss with online mining: ``semihard`` (FaceNet) or ``hard`` (batch-hard).

    For every genuine anchor-positive pair, semi-hard picks the closest negative that is
    farther than the positive but inside the margin (falling back to the hardest
    negative when none is); hard picks each anchor's farthest positive and closest
    negative. A writer's skilled forgeries are negatives for that writer's anchors.
    """

    def __init__(self, margin: float = 0.2, mining: str = "semihard"):
        super().__init__()
        if mining not in ("semihard", "hard"):
            raise ValueError(f"unknown mining {mining!r}")
        self.margin, self.mining = margin, mining

    def forward(self, emb, labels):
        d = torch.cdist(emb, emb)
        pos, neg = _pair_masks(labels)
        big = torch.finfo(d.dtype).max / 4
        if self.mining == "hard":
            hp = torch.where(pos, d, torch.zeros_like(d)).max(1).values
            hn = torch.where(neg, d, torch.full_like(d, big)).min(1).values
            valid = pos.any(1) & neg.any(1)
            if not valid.any():
                return d.sum() * 0
            return F.relu(hp - hn + self.margin)[valid].mean()
        a, p = pos.nonzero(as_tuple=True)
        if len(a) == 0:
            return d.sum() * 0
        dap = d[a, p]
        dan = d[a]  # (P, N)
        negm = neg[a]
        semi = negm & (dan > dap[:, None]) & (dan < dap[:, None] + self.margin)
        semi_d = torch.where(semi, dan, torch.full_like(dan, big)).min(1).values
        hard_d = torch.where(negm, dan, torch.full_like(dan, big)).min(1).values
        dn = torch.where(semi.any(1), semi_d, hard_d)
        valid = negm.any(1)
        if not valid.any():
            return d.sum() * 0
        return F.relu(dap - dn + self.margin)[valid].mean()


class CombinedLoss(nn.Module):
    """A weighted sum of the losses above, with the parts logged separately."""

    def __init__(
        self,
        embedding_dim: int,
        n_classes: int,
        weights: dict,
        classifier: str = "cosface",
        triplet_margin: float = 0.2,
        mining: str = "semihard",
        contrastive_margin: float = 1.0,
    ):
        super().__init__()
        self.weights = {k: float(v) for k, v in weights.items() if float(v) > 0}
        parts = {}
        if "classification" in self.weights:
            parts["classification"] = (
                CosFaceLoss(embedding_dim, n_classes) if classifier == "cosface" else SoftmaxLoss(embedding_dim, n_classes)
            )
        if "forgery" in self.weights:
            parts["forgery"] = ForgeryLoss(embedding_dim)
        if "triplet" in self.weights:
            parts["triplet"] = TripletLoss(triplet_margin, mining)
        if "contrastive" in self.weights:
            parts["contrastive"] = ContrastiveLoss(contrastive_margin)
        unknown = set(self.weights) - set(parts)
        if unknown:
            raise ValueError(f"unknown loss names: {sorted(unknown)}")
        self.parts = nn.ModuleDict(parts)

    def forward(self, emb, labels):
        values = {k: m(emb, labels) for k, m in self.parts.items()}
        total = sum(self.weights[k] * v for k, v in values.items())
        return total, {k: float(v.detach()) for k, v in values.items()}

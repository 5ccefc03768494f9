"""Does a set of reference signatures plausibly come from one writer?

An enrollment whose references mix two people (an attacker adding their own signature to
a customer's, or a clerk's mistake) would later accept both. ``check`` answers before
enrolling::

    check(reference_embeddings, rule)
    # {"consistent": bool, "score": float, "threshold": float, "outliers": [int, ...]}

**The statistic: the weakest split.** References are L2-normalised and compared by cosine
similarity. For every way of splitting the set into two non-empty groups A and B, take the
mean similarity between the groups (all |A| x |B| cross pairs); the score is the lowest of
these means. One writer's references have no split that separates them much, so every
cross mean stays high. A set mixing writers has a split along the writers whose cross pairs
are all between different people, so its mean falls to what strangers share: that covers
4 + 1 (the split {intruder} | rest: a leave-one-out mean), 3 + 2 (the two groups: six
cross pairs, all foreign, where a per-reference statistic is diluted by the intruders'
similarity to each other) and sets of five different writers. Averaging over the cross
pairs makes the score steadier than the single least similar pair. Up to
``EXACT_MAX_REFS`` references every split is tried; above that, candidate splits are the
singletons, the pairs (up to ``PAIR_SPLITS_MAX_REFS``) and the cuts along the Fiedler vector
of the similarity graph.

``outliers`` (only when the set is refused): the enrollee's references are presumed to be
the majority, so the smaller side of the weakest split is set aside and the rest checked
again, until what remains passes; the references set aside are the outliers (3 + 2: the
two intruders, even when the weakest split isolated only one of them). When the sides are
equal, or no majority of the set passes, nothing says which group is the customer's, and
the list is empty.

**The embeddings** are first normalised by the within-identity covariance of training writers
(``ml.consistency.transform``, WCCN) where the model's thresholds entry names that transform:
directions in which one person varies (paper against a tablet) count less, so a person's
cross-media references hold together while two people still split apart.

**The threshold** depends on the number of references R (more references, more splits, a
lower minimum), so a rule holds one threshold per R from 2 to ``MAX_FITTED_REFS`` (larger
sets use the last). ``fit_thresholds`` picks, for each R, the highest threshold that
refuses at most ``max_refusal`` (1%) of genuine single-writer sets of validation writers,
each dataset weighing the same. Where they live:

- ``ml/consistency_thresholds.json``, keyed by the model version (architecture and the
  first 8 hex digits of the checkpoint file's SHA-256, ``Engine.model_version``): the
  hash names exactly the weights the thresholds were measured with, and the checkpoint
  itself is never rewritten (its hash is its version). Written by
  ``benchmarks/consistency_rates.py --write-thresholds``.
- For any other checkpoint (a newly trained or unsaved model), ``fallback_rule`` derives a
  conservative threshold from the checkpoint's own negatives bank (genuine signatures of
  many other writers): the median cosine similarity between two of them. A set is then
  refused only when it splits into groups no more alike than two strangers typically are:
  few genuine sets are refused, and the clear mixes (five different writers, most
  4 + 1 sets) still are. Without a negatives bank, ``DEFAULT_THRESHOLD``.
"""

from ml.consistency.fitting import fit_rule, fit_threshold, refusal_rate, sample_sets, scores_of
from ml.consistency.rule import ConsistencyRule, check, fallback_rule, load_rules, outliers_of, rule_for, save_rule
from ml.consistency.statistic import (
    DEFAULT_THRESHOLD,
    EXACT_MAX_REFS,
    MAX_FITTED_REFS,
    MIX_KINDS,
    PAIR_SPLITS_MAX_REFS,
    STATISTIC,
    THRESHOLDS_PATH,
    unit_rows,
    weakest_split,
)
from ml.consistency.transform import fit_wccn, load_transform, save_transform

__all__ = [
    "ConsistencyRule",
    "DEFAULT_THRESHOLD",
    "EXACT_MAX_REFS",
    "MAX_FITTED_REFS",
    "MIX_KINDS",
    "PAIR_SPLITS_MAX_REFS",
    "STATISTIC",
    "THRESHOLDS_PATH",
    "check",
    "fit_wccn",
    "load_transform",
    "save_transform",
    "fallback_rule",
    "fit_rule",
    "fit_threshold",
    "load_rules",
    "outliers_of",
    "refusal_rate",
    "rule_for",
    "sample_sets",
    "save_rule",
    "scores_of",
    "unit_rows",
    "weakest_split",
]

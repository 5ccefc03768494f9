"""ml.metrics against cases worked out by hand.

Conventions (ml/metrics.py): a score is accepted when ``score >= threshold``; FRR counts
genuine scores strictly below the threshold, FAR negatives at or above it. EER candidates
are every observed score plus one just above the largest; the one minimising |FAR - FRR|
wins (the lower threshold on ties) and EER = (FAR + FRR) / 2 there.
"""

from __future__ import annotations

import numpy as np
import pytest

from ml.metrics import auc, eer, eer_user, far_frr, summarize


def test_far_frr_accepts_at_the_threshold():
    # genuine 0.5 is accepted (>=), 0.4 rejected -> FRR 1/2; negative 0.5 accepted -> FAR 1/2
    assert far_frr([0.5, 0.4], [0.5, 0.1], 0.5) == (0.5, 0.5)
    # threshold above everything: all genuine rejected, no negative accepted
    assert far_frr([0.5, 0.4], [0.5, 0.1], 0.9) == (0.0, 1.0)
    # threshold 0: everything accepted
    assert far_frr([0.5, 0.4], [0.5, 0.1], 0.0) == (1.0, 0.0)
    # empty sets count as no error
    assert far_frr([], [], 0.5) == (0.0, 0.0)


def test_perfect_separation():
    # g = [0.8, 0.9], n = [0.1, 0.2]
    # t:    0.1  0.2  0.8  0.9  0.9+
    # FRR:  0    0    0    .5   1
    # FAR:  1    .5   0    0    0      -> |FAR-FRR| = 0 at t = 0.8, EER 0
    e, t = eer([0.9, 0.8], [0.2, 0.1])
    assert e == 0.0
    assert t == pytest.approx(0.8)
    assert auc([0.9, 0.8], [0.2, 0.1]) == 1.0


def test_perfectly_wrong_order():
    # every negative above every genuine: AUC 0, EER 1
    # g = [0.1, 0.2], n = [0.8, 0.9]
    # t:    0.1  0.2  0.8  0.9  0.9+
    # FRR:  0    .5   1    1    1
    # FAR:  1    1    1    .5   0      -> |diff| 1 .5 0 .5 1 -> t = 0.8, EER (1 + 1) / 2 = 1
    e, t = eer([0.1, 0.2], [0.8, 0.9])
    assert (e, t) == (1.0, pytest.approx(0.8))
    assert auc([0.1, 0.2], [0.8, 0.9]) == 0.0


def test_fully_overlapping_all_tied():
    # g = n = [0.5, 0.5]; candidates 0.5 and 0.5+1e-6
    # t = 0.5:   FRR 0, FAR 1 ; t = 0.5+: FRR 1, FAR 0 ; both |diff| 1 -> lower wins
    # EER = (1 + 0) / 2 = 0.5 at t = 0.5; AUC: every pair tied -> 1/2
    e, t = eer([0.5, 0.5], [0.5, 0.5])
    assert e == 0.5 and t == 0.5
    assert auc([0.5, 0.5], [0.5, 0.5]) == 0.5


def test_identical_distributions():
    # g = n = [0.1, 0.2, 0.3, 0.4]
    # t:    0.1  0.2  0.3  0.4  0.4+
    # FRR:  0    .25  .5   .75  1
    # FAR:  1    .75  .5   .25  0     -> cross at t = 0.3, EER 0.5
    # AUC: 6 of 16 pairs with g > n, 4 ties count half -> (6 + 2) / 16 = 0.5
    s = [0.1, 0.2, 0.3, 0.4]
    e, t = eer(s, s)
    assert e == 0.5 and t == pytest.approx(0.3)
    assert auc(s, s) == 0.5


def test_four_vs_four_known_crossing():
    # g = [0.3, 0.6, 0.7, 0.9], n = [0.1, 0.2, 0.4, 0.65]
    # t:    .1   .2   .3   .4   .6   .65  .7   .9   .9+
    # FRR:  0    0    0    .25  .25  .5   .5   .75  1
    # FAR:  1    .75  .5   .5   .25  .25  0    0    0
    # diff: 1    .75  .5   .25  0    .25  .5   .75  1   -> t = 0.6, EER 0.25
    # AUC: 0.3 beats 2 negatives, 0.6 beats 3, 0.7 and 0.9 beat 4 -> 13 / 16
    g = [0.9, 0.3, 0.7, 0.6]
    n = [0.65, 0.1, 0.4, 0.2]
    e, t = eer(g, n)
    assert e == 0.25 and t == pytest.approx(0.6)
    assert auc(g, n) == 13 / 16
    assert far_frr(g, n, t) == (0.25, 0.25)


def test_ties_between_genuine_and_negative():
    # g = [0.5, 0.7], n = [0.3, 0.5]
    # t:    .3   .5   .7   .7+
    # FRR:  0    0    .5   1
    # FAR:  1    .5   0    0     -> |diff| 1 .5 .5 1: tie between 0.5 and 0.7, the lower (0.5) wins
    # EER = (0.5 + 0) / 2 = 0.25
    # AUC: pairs (.5,.3)=1 (.5,.5)=1/2 (.7,.3)=1 (.7,.5)=1 -> 3.5 / 4 = 0.875
    e, t = eer([0.5, 0.7], [0.3, 0.5])
    assert e == 0.25 and t == 0.5
    assert auc([0.5, 0.7], [0.3, 0.5]) == 0.875


def test_unequal_set_sizes():
    # g = [0.6, 0.8], n = [0.1, 0.2, 0.3, 0.7]
    # t:    .1   .2   .3   .6   .7   .8   .8+
    # FRR:  0    0    0    0    .5   .5   1
    # FAR:  1    .75  .5   .25  .25  0    0
    # diff: 1    .75  .5   .25  .25  .5   1   -> tie .6 / .7, lower wins: t = .6, EER (.25 + 0) / 2
    # AUC: 0.6 beats 3 of 4, 0.8 beats 4 -> 7 / 8
    e, t = eer([0.6, 0.8], [0.1, 0.2, 0.3, 0.7])
    assert e == 0.125 and t == pytest.approx(0.6)
    assert auc([0.6, 0.8], [0.1, 0.2, 0.3, 0.7]) == 0.875


def test_auc_matches_the_pairwise_definition_on_random_scores():
    rng = np.random.default_rng(0)
    g = np.round(rng.normal(0.6, 0.2, 40), 2)  # rounding makes plenty of ties
    n = np.round(rng.normal(0.4, 0.2, 55), 2)
    pairs = (g[:, None] > n[None, :]).mean() + 0.5 * (g[:, None] == n[None, :]).mean()
    assert auc(g, n) == pytest.approx(pairs, abs=1e-12)


def test_empty_sets_are_errors():
    with pytest.raises(ValueError):
        eer([], [0.1])
    with pytest.raises(ValueError):
        eer([0.1], [])
    with pytest.raises(ValueError):
        auc([], [0.1])


def test_eer_user_is_the_mean_of_per_writer_eers():
    per_writer = {
        "a": ([0.9, 0.8], [0.2, 0.1]),  # perfect: EER 0
        "b": ([0.5, 0.5], [0.5, 0.5]),  # all tied: EER 0.5
        "c": ([0.9], []),  # no negatives: skipped
    }
    assert eer_user(per_writer) == 0.25
    with pytest.raises(ValueError):
        eer_user({"c": ([0.9], [])})


def test_summarize_report():
    # writer a: genuine [0.9, 0.8], skilled [0.7], random [0.1]
    # writer b: genuine [0.6, 0.4], skilled [0.5], random [0.2]
    # pooled genuine g = [.4 .6 .8 .9], skilled s = [.5 .7], random r = [.1 .2]
    # EER vs skilled:
    # t:    .4   .5   .6   .7   .8   .9   .9+
    # FRR:  0    .25  .25  .5   .5   .75  1
    # FAR:  1    1    .5   .5   0    0    0
    # diff: 1    .75  .25  0    .5   .75  1   -> t = .7, EER = .5
    # at t = .7: FAR random 0. AUC skilled: .4 beats 0, .6 beats 1, .8 and .9 beat 2 -> 5/8
    # per user: a: g [.8 .9] vs s [.7] -> 0; b: g [.4 .6] vs s [.5]:
    #   t: .4 (FRR 0, FAR 1) .5 (.5, 1) .6 (.5, 0) .6+ (1, 0) -> diff 1 .5 .5 1 -> t .5, EER .75
    #   mean = 0.375
    # EER vs random: every genuine above every random -> 0
    # shipped threshold 0.55: FRR 1/4 (0.4), FAR skilled 1/2 (0.7), FAR random 0
    pg = {"a": np.array([0.9, 0.8]), "b": np.array([0.6, 0.4])}
    ps = {"a": np.array([0.7]), "b": np.array([0.5])}
    pr = {"a": np.array([0.1]), "b": np.array([0.2])}
    cat = lambda d: np.concatenate(list(d.values()))
    rep = summarize(cat(pg), cat(ps), cat(pr), pg, ps, pr, shipped_threshold=0.55)
    assert rep["eer_against"] == "skilled"
    assert rep["eer_global"] == 0.5
    assert rep["threshold"] == pytest.approx(0.7)
    assert rep["frr"] == 0.5 and rep["far_skilled"] == 0.5 and rep["far_random"] == 0.0
    assert rep["auc"] == 5 / 8
    assert rep["eer_user"] == 0.375
    assert rep["eer_global_random"] == 0.0
    assert (rep["n_genuine"], rep["n_skilled"], rep["n_random"]) == (4, 2, 2)
    assert rep["at_threshold"] == {"threshold": 0.55, "frr": 0.25, "far_skilled": 0.5, "far_random": 0.0}


def test_summarize_without_skilled_forgeries_uses_random():
    pg = {"a": np.array([0.9, 0.8]), "b": np.array([0.6, 0.4])}
    pr = {"a": np.array([0.1, 0.5]), "b": np.array([0.2])}
    empty = {"a": np.zeros(0), "b": np.zeros(0)}
    cat = lambda d: np.concatenate(list(d.values()))
    rep = summarize(cat(pg), np.zeros(0), cat(pr), pg, empty, pr)
    assert rep["eer_against"] == "random"
    assert rep["far_skilled"] is None
    assert "at_threshold" not in rep
    # g [.4 .6 .8 .9] vs r [.1 .2 .5]: t = .6 -> FRR .25, FAR 0 ... t=.5 -> FRR .25, FAR 1/3
    # diff at .5 = 1/12, at .6 = 1/4 -> t = .5, EER (1/3 + 1/4) / 2 = 7/24
    assert rep["eer_global"] == pytest.approx(7 / 24)
    assert rep["eer_global"] == rep["eer_global_random"]


@pytest.mark.parametrize("seed", range(6))
def test_eer_and_auc_agree_with_brute_force_on_tied_scores(seed):
    """The scikit-learn based curve against the definitions, threshold by threshold."""
    rng = np.random.default_rng(seed)
    g = rng.integers(3, 12, 17) / 10  # coarse grid: many ties inside and across the two sets
    n = rng.integers(0, 9, 23) / 10
    cands = sorted(set(np.concatenate([g, n]).tolist()) | {max(g.max(), n.max()) + 1e-6})
    rates = [far_frr(g, n, t) for t in cands]
    best = min(range(len(cands)), key=lambda i: abs(rates[i][0] - rates[i][1]))  # first minimum: lower threshold
    assert eer(g, n) == (sum(rates[best]) / 2, cands[best])
    pairs = [(1.0 if a > b else 0.5 if a == b else 0.0) for a in g for b in n]
    assert auc(g, n) == pytest.approx(sum(pairs) / len(pairs), abs=1e-12)


def test_det_curve_points_are_error_rates_at_observed_thresholds():
    from ml.metrics import det

    far, frr = det([0.9, 0.8, 0.4], [0.1, 0.5, 0.2])
    # every (FAR, FRR) point of the DET curve is the pair far_frr gives at some observed score
    observed = {far_frr([0.9, 0.8, 0.4], [0.1, 0.5, 0.2], t) for t in (0.1, 0.2, 0.4, 0.5, 0.8, 0.9)}
    assert {(float(a), float(r)) for a, r in zip(far, frr, strict=True)} <= observed
    assert len(far) >= 2

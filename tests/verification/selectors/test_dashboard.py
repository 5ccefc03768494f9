"""The dashboard's FAR/FRR estimates and counters (verification/selectors/dashboard.py), worked by hand.

FRR: genuine signatures (by the latest analyst verdict) the system did not accept;
FAR: forgeries (by the latest verdict) it accepted. Unreviewed verifications do not count.
"""

from __future__ import annotations

import pytest

from verification.models import Job, Review, Verification
from verification.selectors.dashboard import dashboard_counters, review_error_rates, verification_score_series
from verification.services.verifications import review_create

ACCEPT, REJECT, REVIEW = Verification.Decision.ACCEPT, Verification.Decision.REJECT, Verification.Decision.REVIEW
GENUINE, FORGERY = Review.Verdict.GENUINE, Review.Verdict.FORGERY


@pytest.fixture
def customer(make_customer):
    return make_customer()


def _verification(customer, decision, score=0.5, **kw):
    return Verification.objects.create(
        customer=customer, source="pad", status=Verification.Status.DONE, decision=decision, score=score, threshold=0.6, **kw
    )


def _review(verification, verdict, analyst):
    return Review.objects.create(verification=verification, analyst=analyst, verdict=verdict)


def test_no_reviews_means_no_estimate(customer):
    _verification(customer, REJECT)
    assert review_error_rates() == {"far": None, "frr": None, "reviewed_genuine": 0, "reviewed_forgery": 0}


def test_far_and_frr_from_the_latest_verdict_of_each_reviewed_verification(customer, analyst_user):
    # genuine by review: accept, reject, accept          -> FRR = 1 not accepted / 3 = 1/3
    for decision in (ACCEPT, REJECT, ACCEPT):
        _review(_verification(customer, decision), GENUINE, analyst_user)
    # forgery by review: accept, reject, review           -> 1 accepted so far
    for decision in (ACCEPT, REJECT, REVIEW):
        _review(_verification(customer, decision), FORGERY, analyst_user)
    # first judged genuine, then corrected to forgery: only the corrected verdict counts
    corrected = _verification(customer, ACCEPT)
    _review(corrected, GENUINE, analyst_user)
    review_create(verification=corrected, analyst=analyst_user, verdict=FORGERY, note="second look", correction=True)
    # flagged but never reviewed: no verdict, not counted
    _verification(customer, REJECT)
    # forgeries: accept, reject, review, accept           -> FAR = 2 accepted / 4 = 1/2
    rates = review_error_rates()
    assert rates["reviewed_genuine"] == 3 and rates["reviewed_forgery"] == 4
    assert rates["frr"] == pytest.approx(1 / 3) and rates["far"] == pytest.approx(1 / 2)


def test_only_the_latest_reviews_within_the_limit_count(customer, analyst_user):
    old = _verification(customer, REJECT)
    _review(old, GENUINE, analyst_user)  # the oldest review: outside a limit of 2
    for decision in (ACCEPT, ACCEPT):
        _review(_verification(customer, decision), GENUINE, analyst_user)
    assert review_error_rates(limit=2) == {"far": None, "frr": 0.0, "reviewed_genuine": 2, "reviewed_forgery": 0}
    assert review_error_rates()["frr"] == pytest.approx(1 / 3)


def test_counters_count_flagged_open_reviews_and_active_jobs(customer, analyst_user):
    _verification(customer, ACCEPT)
    reviewed = _verification(customer, REJECT)
    _review(reviewed, FORGERY, analyst_user)
    _verification(customer, REVIEW)  # open
    _verification(customer, REJECT)  # open
    Job.objects.create(kind=Job.Kind.VERIFY, status=Job.Status.RUNNING)
    Job.objects.create(kind=Job.Kind.VERIFY, status=Job.Status.QUEUED)
    Job.objects.create(kind=Job.Kind.VERIFY, status=Job.Status.SUCCEEDED)
    Job.objects.create(kind=Job.Kind.TRAIN, status=Job.Status.FAILED)
    counters = dashboard_counters()
    assert counters["verifications_today"] == Verification.objects.count() == 4
    assert counters["flagged_today"] == 3 and counters["open_reviews"] == 2
    assert counters["active_jobs"] == 2
    assert counters["far"] == 0.0 and counters["frr"] is None  # the one reviewed forgery was rejected


def test_score_series_is_oldest_first_per_customer_and_skips_unscored(customer, make_customer):
    other = make_customer()
    first = _verification(customer, ACCEPT, score=0.9)
    _verification(other, REJECT, score=0.1)
    Verification.objects.create(customer=customer, source="pad")  # pending: no score yet
    second = _verification(customer, REVIEW, score=0.55)
    series = verification_score_series(customer_id=customer.id)
    assert [(p["id"], p["score"], p["decision"]) for p in series] == [(first.id, 0.9, ACCEPT), (second.id, 0.55, REVIEW)]
    assert [p["id"] for p in verification_score_series(limit=1)] == [second.id]

import pytest

from verification.demo import demo_strokes
from verification.errors import DomainError
from verification.ml_engine import online_params
from verification.models import Enrollment, Job, Review, Verification
from verification.services.jobs import job_start
from verification.services.verifications import review_create, verification_create, verification_decide


@pytest.mark.parametrize(
    "score,decision",
    [(0.9, "accept"), (0.5, "accept"), (0.49, "review"), (0.36, "review"), (0.349, "reject"), (0.0, "reject")],
)
def test_decide_maps_scores_with_the_review_margin(score, decision, settings):
    settings.SIGWEB_REVIEW_MARGIN = 0.15
    assert verification_decide(score=score, threshold=0.5) == decision


def test_verification_runs_and_records_everything(enrolled_customer, fake_engine):
    customer = enrolled_customer("writer-a")
    v = verification_create(customer=customer, strokes=demo_strokes("writer-a", 50))
    v.refresh_from_db()
    assert v.status == Verification.Status.DONE
    assert v.decision in {"accept", "reject", "review"}
    # 4 pad references and a pad query (no pressure): the fused path decides, at its point for 2-4 references without pressure
    assert v.dynamics.decision_path == "fused" and not v.dynamics.replay
    assert 0.0 <= v.score <= 1.0 and v.threshold == pytest.approx(online_params(fake_engine).threshold_for("fused", 4, False))
    assert len(v.similarities) == 4
    assert v.model_version.startswith("fake-")
    assert {"preprocess_ms", "embed_ms", "score_ms", "total_ms"} <= set(v.timings)
    assert v.source == "pad" and v.channel == "api"
    assert v.job.kind == Job.Kind.VERIFY and v.job.status == Job.Status.SUCCEEDED and v.job.progress == 100
    assert v.job.result["decision"] == v.decision


def test_in_process_result_is_broadcast_after_pending(enrolled_customer, monkeypatch):
    """In-process jobs finish inside the task send, so the order of the after-commit
    callbacks decides what clients see last: the result, never a stale "pending"."""
    import verification.broadcast as broadcast

    customer = enrolled_customer("writer-a")
    sent = []
    monkeypatch.setattr(broadcast, "_send", lambda groups, message: sent.append(message))
    v = verification_create(customer=customer, strokes=demo_strokes("writer-a", 5))
    statuses = [
        m["verification"]["status"] for m in sent if m["type"] == "verification.update" and m["verification"]["id"] == v.id
    ]
    assert statuses[0] == Verification.Status.PENDING
    assert statuses[-1] == Verification.Status.DONE


def test_genuine_scores_above_another_writer(enrolled_customer):
    customer = enrolled_customer("writer-a")
    genuine = verification_create(customer=customer, strokes=demo_strokes("writer-a", 77))
    forged = verification_create(customer=customer, strokes=demo_strokes("writer-zz", 77))
    genuine.refresh_from_db()
    forged.refresh_from_db()
    assert genuine.score > forged.score


def test_per_enrollment_threshold_overrides_the_model(enrolled_customer):
    customer = enrolled_customer("writer-a")
    Enrollment.objects.filter(customer=customer, status="active").update(threshold=0.999)
    v = verification_create(customer=customer, strokes=demo_strokes("writer-a", 1))
    v.refresh_from_db()
    assert v.threshold == 0.999
    assert v.decision in {"review", "reject"} and v.flagged


def test_no_active_enrollment_is_refused_and_nothing_is_written(make_customer):
    customer = make_customer()
    with pytest.raises(DomainError) as err:
        verification_create(customer=customer, strokes=demo_strokes("x", 0))
    assert err.value.code == "no_active_enrollment" and err.value.status == 409
    assert not Verification.objects.exists() and not Job.objects.exists()


def test_bad_strokes_are_refused_before_anything_is_written(enrolled_customer):
    customer = enrolled_customer()
    before = Job.objects.count()
    for strokes in ([], [{"points": "nope"}], [[{"x": "a", "y": 1}]], "scribble", [{"points": [{"x": 1, "y": 1}]}]):
        with pytest.raises(DomainError) as err:
            verification_create(customer=customer, strokes=strokes)
        assert err.value.status == 400
    assert not Verification.objects.exists() and Job.objects.count() == before


def test_redelivered_job_does_nothing(enrolled_customer, fake_engine):
    customer = enrolled_customer()
    v = verification_create(customer=customer, strokes=demo_strokes("writer-a", 3))
    v.refresh_from_db()
    calls = dict(fake_engine.calls)
    # the same message delivered again: the job is finished, so the task returns early
    from verification.tasks import verification_score_task

    verification_score_task.apply(args=[str(v.job_id)])
    assert job_start(job_id=str(v.job_id)) is None
    assert fake_engine.calls == calls
    assert Verification.objects.filter(customer=customer).count() == 1


def test_a_crashed_attempt_is_finished_by_the_retry(enrolled_customer, settings):
    """A job left 'running' by a dead worker is redone by the redelivered message, once."""
    from sigweb.celery import app
    from verification.tasks import verification_score_task

    customer = enrolled_customer()
    app.conf.task_always_eager = False
    try:
        with pytest.MonkeyPatch.context() as mp:
            sent = []
            mp.setattr("verification.services.job_dispatch._send_task", lambda *a: sent.append(a))
            v = verification_create(customer=customer, strokes=demo_strokes("writer-a", 4))
    finally:
        app.conf.task_always_eager = True
    job = job_start(job_id=str(v.job_id))  # the first worker starts ... and dies here
    assert job.status == "running" and job.attempts == 1
    verification_score_task.apply(args=[str(v.job_id)])  # redelivery
    verification_score_task.apply(args=[str(v.job_id)])  # and a duplicate
    job.refresh_from_db()
    v.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 2
    assert v.status == "done" and v.decision


def test_engine_failure_fails_the_job_and_the_verification(enrolled_customer, fake_engine, monkeypatch):
    customer = enrolled_customer()

    def boom(*a, **k):
        raise RuntimeError("GPU on fire")

    monkeypatch.setattr(fake_engine, "verify", boom)
    v = verification_create(customer=customer, strokes=demo_strokes("writer-a", 5))
    v.refresh_from_db()
    assert v.status == "failed" and "GPU on fire" in v.error
    assert v.job.status == "failed" and "GPU on fire" in v.job.error


def test_review_only_on_finished_verifications(enrolled_customer, analyst_user):
    customer = enrolled_customer()
    v = verification_create(customer=customer, strokes=demo_strokes("writer-a", 6))
    v.refresh_from_db()
    review = review_create(verification=v, analyst=analyst_user, verdict="forgery", note="looks traced")
    assert Review.objects.get().verdict == "forgery" and review.analyst == analyst_user
    with pytest.raises(DomainError):
        review_create(verification=v, analyst=analyst_user, verdict="maybe")

"""SigWeb's Prometheus metrics, next to django-prometheus' request metrics at ``/metrics``.

They are read from the database when Prometheus scrapes, so every web process reports the
same numbers, including the work of Celery workers in other processes and machines:

* ``sigweb_jobs_queued{queue}`` / ``sigweb_jobs_running{queue}``: queue depth by queue;
* ``sigweb_job_duration_seconds{kind}``: a histogram of finished jobs' run time
  (``started_at`` to ``finished_at``), by job kind;
* ``sigweb_verification_decisions_total{decision}``: verifications by decision.
"""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 7200.0, 43200.0)


def _families():
    return (
        GaugeMetricFamily("sigweb_jobs_queued", "Jobs waiting for a worker, by queue", labels=["queue"]),
        GaugeMetricFamily("sigweb_jobs_running", "Jobs being worked on, by queue", labels=["queue"]),
        HistogramMetricFamily("sigweb_job_duration_seconds", "Run time of finished jobs, by kind", labels=["kind"]),
        CounterMetricFamily("sigweb_verification_decisions", "Verifications by decision", labels=["decision"]),
    )


class SigWebCollector:
    def describe(self):  # names only: registering must not touch the database
        return list(_families())

    def collect(self):
        from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum

        from verification.models import Job, Verification

        queued, running, durations, decisions = _families()
        by_queue = (
            Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
            .values("queue", "status")
            .annotate(n=Count("id"))
        )
        for row in by_queue:
            (queued if row["status"] == Job.Status.QUEUED else running).add_metric([row["queue"] or ""], row["n"])

        finished = Job.objects.filter(started_at__isnull=False, finished_at__isnull=False).annotate(
            run=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
        )
        from datetime import timedelta

        buckets = {f"le_{i}": Count("id", filter=Q(run__lte=timedelta(seconds=b))) for i, b in enumerate(DURATION_BUCKETS)}
        for row in finished.values("kind").annotate(n=Count("id"), total=Sum("run"), **buckets):
            cumulative = [(str(b), row[f"le_{i}"]) for i, b in enumerate(DURATION_BUCKETS)] + [("+Inf", row["n"])]
            total = row["total"].total_seconds() if row["total"] is not None else 0.0
            durations.add_metric([row["kind"]], cumulative, total)

        for row in Verification.objects.exclude(decision="").values("decision").annotate(n=Count("id")):
            decisions.add_metric([row["decision"]], row["n"])
        return [queued, running, durations, decisions]


_registered = False


def metrics_register() -> None:
    """Add SigWeb's collector to prometheus_client's default registry (once per process)."""
    global _registered
    if _registered:
        return
    from prometheus_client import REGISTRY

    REGISTRY.register(SigWebCollector())
    _registered = True

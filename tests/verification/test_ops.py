"""Operations: liveness, readiness, Prometheus metrics, the Content-Security-Policy and the
offline API docs."""

import re
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from verification.demo import demo_strokes
from verification.services.customers import signing_token_create

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- /healthz and /readyz


def test_healthz_is_alive_without_touching_the_database(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        r = Client().get("/healthz")
    assert r.status_code == 200 and r.content == b"alive\n"


def test_readyz_checks_everything(db):
    r = Client().get("/readyz")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["ready"] is True
    assert set(body["checks"]) == {"database", "broker", "channel_layer", "model"}
    assert all(c["ok"] for c in body["checks"].values())


def test_readyz_names_an_unreachable_broker(db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    r = Client().get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["ready"] is False and body["checks"]["broker"]["ok"] is False
    assert body["error"]["code"] == "not_ready" and body["error"]["failed"] == ["broker"]
    assert body["checks"]["database"]["ok"] is True


def test_readyz_names_a_model_that_does_not_load(db, monkeypatch):
    from verification.errors import DomainError
    from verification.services import model_versions

    def broken():
        raise DomainError("no checkpoint at /nowhere.pt", code="model_unavailable", status=503)

    monkeypatch.setattr(model_versions, "active_engine", broken)
    r = Client().get("/readyz")
    assert r.status_code == 503
    assert r.json()["error"]["failed"] == ["model"]
    assert "nowhere" in r.json()["checks"]["model"]["detail"]


def test_readyz_names_a_broken_database(db, monkeypatch):
    from django.db import OperationalError

    from verification.selectors import health

    def down():
        raise OperationalError("could not connect to server")

    monkeypatch.setitem(health.CHECKS, "database", down)
    r = Client().get("/readyz")
    assert r.status_code == 503 and "database" in r.json()["error"]["failed"]


# ---------------------------------------------------------------- /metrics


def _metric(text: str, name: str, **labels) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(name + ("{" + want + "}" if want else " ")) or (
            want and line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items())
        ):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_report_latency_jobs_queues_and_decisions(admin_client, enrolled_customer):
    from verification.models import Job

    customer = enrolled_customer()
    r = admin_client.post(
        "/api/verifications/?wait=5", {"customer": customer.id, "strokes": demo_strokes("writer-a", 2)}, format="json"
    )
    decision = r.json()["verification"]["decision"]
    Job.objects.create(kind=Job.Kind.VERIFY, queue="short", status=Job.Status.QUEUED, params={})
    r = Client(REMOTE_ADDR="127.0.0.1").get("/metrics")
    assert r.status_code == 200
    text = r.content.decode()
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert _metric(text, "sigweb_verification_decisions_total", decision=decision) >= 1
    assert _metric(text, "sigweb_jobs_queued", queue="short") == 1
    assert _metric(text, "sigweb_job_duration_seconds_count", kind="verify") >= 1
    assert _metric(text, "sigweb_job_duration_seconds_count", kind="enroll") >= 1
    assert _metric(text, "sigweb_job_duration_seconds_bucket", kind="verify", le="+Inf") >= 1


def test_metrics_are_refused_to_other_addresses_unless_they_bring_the_token(db, settings):
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 403
    settings.SIGWEB_METRICS_TOKEN = "s3cret-scrape"
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape").status_code == 200


# ---------------------------------------------------------------- Content-Security-Policy


def _csp(response) -> dict:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in header.split(";")) if d}


def test_pages_carry_a_strict_script_policy(db):
    for path in ["/login/", "/sign/not-a-token/", "/healthz"]:
        csp = _csp(Client().get(path))
        assert csp["script-src"] == ["'self'"], (path, csp)
        assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
        assert "'unsafe-eval'" not in sum(csp.values(), [])


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


@pytest.mark.parametrize("template", sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*.html")))
def test_templates_have_no_inline_script(template):
    text = (ROOT / template).read_text()
    assert not INLINE_SCRIPT.search(text), f"inline <script> in {template}: move it to static/js"
    assert not INLINE_HANDLER.search(text), f"inline event handler in {template}"


# ---------------------------------------------------------------- API docs: offline, back office only


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_api_docs_load_nothing_from_the_internet_and_run_no_inline_script(analyst_client, path):
    from django.contrib.staticfiles import finders

    r = analyst_client.get(path)
    assert r.status_code == 200
    html = r.content.decode()
    assert not re.search(r"(src|href)=\"https?://", html), html
    assert "fonts.googleapis" not in html
    assert not INLINE_SCRIPT.search(html), html
    for url in re.findall(r"(?:src|href)=\"/static/([^\"?]+)", html):
        assert finders.find(url), f"{url} is not served locally"
    if path == "/api/docs/":
        script = re.search(r"<script src=\"(/api/docs/\?[^\"]+)\"", html).group(1).replace("&amp;", "&")
        js = analyst_client.get(script)
        assert js.status_code == 200 and "SwaggerUIBundle" in js.content.decode()


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_customer_tokens_cannot_read_the_schema(make_customer, path):
    _, raw = signing_token_create(customer=make_customer())
    r = APIClient(HTTP_AUTHORIZATION=f"Signing {raw}").get(path)
    assert r.status_code == 403, r.content[:200]
    assert APIClient().get(path).status_code == 401


def test_back_office_reads_the_schema(analyst_client):
    r = analyst_client.get("/api/schema/?format=json")
    assert r.status_code == 200 and "openapi" in r.json()

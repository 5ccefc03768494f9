"""Operations endpoints, outside the API and without a login:

* ``/healthz``: the process is alive (no database, no broker); for liveness probes;
* ``/readyz``: database, broker, channel layer and model checked
  (``verification.selectors.health``); 200 when all pass, else 503 naming what failed;
* ``/metrics``: Prometheus text format (django-prometheus' request metrics and
  ``verification.metrics``), only from ``SIGWEB_METRICS_ALLOWED_IPS`` (localhost by
  default) or with ``Authorization: Bearer <SIGWEB_METRICS_TOKEN>`` when that is set.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from verification.selectors.health import readiness_check


@never_cache
@require_http_methods(["GET", "HEAD"])
def healthz(request):
    return HttpResponse("alive\n", content_type="text/plain")


@never_cache
@require_http_methods(["GET", "HEAD"])
def readyz(request):
    result = readiness_check()
    if not result["ready"]:
        failed = [name for name, r in result["checks"].items() if not r["ok"]]
        result["error"] = {"code": "not_ready", "message": f"not ready: {', '.join(failed)} failed", "failed": failed}
    return JsonResponse(result, status=200 if result["ready"] else 503)


def metrics_allowed(request) -> bool:
    token = settings.SIGWEB_METRICS_TOKEN
    if token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
            return True
    return request.META.get("REMOTE_ADDR", "") in settings.SIGWEB_METRICS_ALLOWED_IPS


@never_cache
@require_http_methods(["GET"])
def metrics(request):
    if not metrics_allowed(request):
        return JsonResponse(
            {"error": {"code": "permission_denied", "message": "metrics are served to the configured addresses or token only"}},
            status=403,
        )
    from django_prometheus.exports import ExportToDjangoView

    from verification.metrics import metrics_register

    metrics_register()
    return ExportToDjangoView(request)

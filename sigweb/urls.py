"""URLs: the REST API under /api/, its schema and offline docs, the admin, and the web pages
(``verification.web``, owned by the front end) when that package exists."""

from importlib.util import find_spec

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from verification import ops

urlpatterns = [
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # Swagger's init script is served as a file (the split view), not inline: the CSP forbids inline scripts.
    # before api/: its last pattern answers every other /api/ path with a JSON 404
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/", include("verification.api.urls")),
]

if find_spec("verification.web") is not None and find_spec("verification.web.urls") is not None:
    urlpatterns.append(path("", include("verification.web.urls")))
else:  # until the web pages exist, the API docs are the front door
    urlpatterns.append(path("", lambda request: redirect("api-docs"), name="home"))

"""A URLconf with one view that raises, for the debug-page tests."""

from django.urls import path


def boom(request):
    raise RuntimeError("boom for the test")


urlpatterns = [path("boom/", boom)]

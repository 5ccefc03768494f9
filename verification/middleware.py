"""SigWeb's own middleware."""

from __future__ import annotations

from urllib.parse import urlencode

QUERY_TOKEN = "token"


class QueryTokenMiddleware:
    """Takes a ``?token=`` (a customer's signing token, for clients that cannot send a header)
    out of the request's query string before any view, log line or error page sees it.

    The value moves to ``request.sigweb_query_token``, where the API's signing-token
    authentication reads it; ``request.GET``, ``QUERY_STRING`` and ``get_full_path()`` no
    longer carry it, so Django's debug 404/500 pages and error reports cannot repeat it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.sigweb_query_token = ""
        if QUERY_TOKEN in request.GET:
            request.sigweb_query_token = request.GET.get(QUERY_TOKEN, "")
            remaining = request.GET.copy()
            remaining.pop(QUERY_TOKEN, None)
            remaining._mutable = False
            request.GET = remaining
            request.META["QUERY_STRING"] = urlencode(list(remaining.lists()), doseq=True)
        return self.get_response(request)

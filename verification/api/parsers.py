"""Request parsers: DRF's, made safe against bodies that would cost a 500 or seconds of CPU.

* Any JSON body nested deeper than Python's recursion limit is a 400 (``malformed_request``),
  not a ``RecursionError``.
* Signature endpoints (references, verifications) refuse a JSON body larger than the stroke
  caps allow (``verification.services.signatures.strokes_body_limit``) with 413 *before*
  parsing it, so a million stroke points cost nothing.
"""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from verification.errors import DomainError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply") from None


class SignatureJSONParser(JSONParser):
    """JSON for a signature (strokes): the body may be no larger than the stroke caps need."""

    def parse(self, stream, media_type=None, parser_context=None):
        from verification.services.signatures import strokes_body_limit

        request = (parser_context or {}).get("request")
        limit = strokes_body_limit()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            length = 0
        if length > limit:
            raise DomainError(f"The JSON body is {length} bytes; a signature needs at most {limit}", code="too_large", status=413)
        return super().parse(stream, media_type, parser_context)

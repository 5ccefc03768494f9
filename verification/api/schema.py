"""OpenAPI schema additions shared by every operation (drf-spectacular post-processing hook).

Every error leaves the API in one envelope (``verification.api.errors``); this hook documents
it once, as the ``Error`` component, and adds the error statuses each operation can answer:

* every operation: 400 (bad query parameters or filters), 401 (no or bad credentials,
  expired token), 403 (the role may not), 404 (unknown id or page), 429 (throttled, locked
  out, or the customer's hourly verification limit);
* operations with a request body, also: 409 (the state forbids it), 413 (too large) and
  415 (unsupported content type).

A client generated from the schema therefore knows every status it can receive.
"""

from __future__ import annotations

ERROR_COMPONENT = "Error"

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every API error: a stable machine-readable code and one human line (some codes add fields).",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "e.g. invalid, not_found, too_large, throttled, locked_out"},
                "message": {"type": "string"},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}

DESCRIPTIONS = {
    "400": "Invalid input (body, query parameter or filter)",
    "401": "Not authenticated, or the token is invalid or expired",
    "403": "Authenticated, but this role may not do this",
    "404": "No such object (or page) visible to this caller",
    "409": "The object's state does not allow this now",
    "413": "The request or signature is larger than allowed",
    "415": "Unsupported content type",
    "429": "Throttled, locked out after failed logins, or over the customer's hourly verification limit",
}
ALWAYS = ("400", "401", "403", "404", "429")
WITH_BODY = ("409", "413", "415")
METHODS = ("get", "put", "post", "patch", "delete")


def _error_response(status: str) -> dict:
    return {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}},
    }


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in METHODS:
                continue
            statuses = ALWAYS + (WITH_BODY if method in ("post", "put", "patch") or "requestBody" in operation else ())
            if method == "delete":
                statuses += ("409",)
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(status, _error_response(status))
    return result

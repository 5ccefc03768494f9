"""The one domain error. Services raise it; ``verification.api.errors`` maps it to HTTP.

``code`` is stable and machine-readable, ``message`` one human line, ``status`` the HTTP
status the API answers with (400 unless a service says otherwise).
"""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str, *, code: str = "invalid", status: int = 400, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.extra = extra or {}

    def __str__(self) -> str:
        return self.message


def not_found(what: str) -> DomainError:
    return DomainError(f"{what} not found", code="not_found", status=404)

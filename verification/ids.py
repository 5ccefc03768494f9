"""Database ids as the outside world may send them: positive integers that fit a BigAutoField.

Anything else (a bool, 1.9, "1.9", a number past 2**63 - 1) is refused with a 400 before it
reaches a query, where SQLite and PostgreSQL would raise ``OverflowError`` (a 500).
"""

from __future__ import annotations

from verification.errors import DomainError

MAX_ID = 2**63 - 1


def id_parse(value, *, field: str) -> int:
    """``value`` as an id, or a DomainError(400, code "invalid") naming ``field``."""
    if isinstance(value, bool):
        value = None
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not (1 <= value <= MAX_ID):
        raise DomainError(f"{field} must be an integer id between 1 and {MAX_ID}", code="invalid")
    return value

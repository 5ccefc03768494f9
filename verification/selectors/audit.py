"""Reads of the audit trail: one filter set for the list and the CSV export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils.dateparse import parse_date, parse_datetime

from verification.errors import DomainError
from verification.filters import datetime_utc
from verification.ids import id_parse
from verification.models import AuditEvent

CSV_COLUMNS = [
    "id",
    "created_at",
    "action",
    "actor",
    "actor_username",
    "customer_id",
    "customer_external_ref",
    "before",
    "after",
    "details",
]


def _datetime_filter(name: str, raw: str):
    value = parse_datetime(raw) if "T" in raw or " " in raw else None
    if value is None:
        day = parse_date(raw) if len(raw) == 10 else None
        if day is None:
            raise DomainError(f"{name} must be an ISO date or date-time", code="invalid")
        return day
    try:
        return datetime_utc(value)
    except ValueError as exc:
        raise DomainError(f"{name}: {exc}", code="invalid") from None


def audit_event_list(*, filters=None) -> QuerySet:
    """Audit rows, newest first; filters: ``customer``, ``action`` (exact, or a prefix ending
    in ``.``, e.g. ``enrollment.``), ``actor`` (user id), ``created_after``, ``created_before``."""
    filters = filters or {}
    qs = AuditEvent.objects.all().order_by("-created_at", "-id")
    if filters.get("customer"):
        qs = qs.filter(customer_id_ref=id_parse(filters["customer"], field="customer"))
    if filters.get("actor"):
        qs = qs.filter(actor_id=id_parse(filters["actor"], field="actor"))
    action = str(filters.get("action") or "")
    if action:
        qs = qs.filter(action__startswith=action) if action.endswith(".") else qs.filter(action=action)
    for name, lookup in (("created_after", "created_at__gte"), ("created_before", "created_at__lt")):
        if filters.get(name):
            value = _datetime_filter(name, str(filters[name]))
            qs = qs.filter(
                **({lookup.replace("created_at", "created_at__date"): value} if not hasattr(value, "hour") else {lookup: value})
            )
    return qs


def _cell(value) -> str:
    """One CSV cell; text a spreadsheet would run as a formula is quoted with a leading '."""
    if value is None:
        text = ""
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def audit_event_csv_rows(*, queryset: QuerySet) -> Iterator[str]:
    """The CSV export, a header line then one line per event, streamed in chunks."""
    buf = io.StringIO()
    writer = csv.writer(buf)

    def flush() -> str:
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate(0)
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for e in queryset.iterator(chunk_size=500):
        writer.writerow(
            [
                _cell(v)
                for v in (
                    e.id,
                    e.created_at,
                    e.action,
                    e.actor_id,
                    e.actor_username,
                    e.customer_id_ref,
                    e.customer_external_ref,
                    e.before,
                    e.after,
                    e.details,
                )
            ]
        )
        yield flush()

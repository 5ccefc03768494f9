"""Reads for identifications: the recent list, one identification, its candidates' references."""

from __future__ import annotations

from verification.errors import not_found
from verification.models import Enrollment, EnrollmentDuplicate, Identification, ReferenceSignature


def identification_list():
    """Every identification, newest first (without the query image)."""
    return Identification.objects.select_related("requested_by").defer("query_image", "preview_png")


def identification_get(*, identification_id: int) -> Identification:
    identification = Identification.objects.select_related("requested_by").filter(id=identification_id).first()
    if identification is None:
        raise not_found("identification")
    return identification


def identification_candidate_rows(*, identification: Identification, limit: int = 3) -> list[dict]:
    """The top candidates with the references of the enrollment they were scored against
    (erased references are left out)."""
    rows = []
    for candidate in identification.candidates[:limit]:
        enrollment = Enrollment.objects.filter(id=candidate.get("enrollment")).first()
        refs = []
        if enrollment is not None:
            refs = list(
                enrollment.references.exclude(status=ReferenceSignature.Status.ERASED)
                .defer("image", "preview_png", "strokes")
                .order_by("id")[:4]
            )
        rows.append({**candidate, "references": refs})
    return rows


def enrollment_duplicate_list(*, enrollment: Enrollment | None) -> list[EnrollmentDuplicate]:
    if enrollment is None:
        return []
    return list(EnrollmentDuplicate.objects.filter(enrollment=enrollment).select_related("other_customer"))

"""django-filter sets used by the selectors (and so by the list endpoints)."""

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q
from django_filters.fields import IsoDateTimeField

from verification.ids import MAX_ID
from verification.models import Customer, Enrollment, Job, Review, Verification


class IdFilter(django_filters.NumberFilter):
    """An id: an integer that fits the database (a larger one is a 400, not an OverflowError)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class ScoreFilter(django_filters.NumberFilter):
    """A score bound: a finite number (scores lie in [-1, 1])."""

    field_class = forms.FloatField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", -1e6)
        kwargs.setdefault("max_value", 1e6)
        super().__init__(*args, **kwargs)


MAX_UTC_OFFSET = dt.timedelta(hours=14)  # the widest offset in use; PostgreSQL refuses wider ones


def datetime_utc(value: dt.datetime) -> dt.datetime:
    """An aware date-time in UTC; an offset beyond +-14 h, or a moment outside the calendar in
    UTC, raises ``ValueError`` (a 400 for the caller), never a database error."""
    offset = value.utcoffset()
    if offset is None:
        return value
    if abs(offset) > MAX_UTC_OFFSET:
        raise ValueError("time zone offset beyond 14 hours")
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("date-time out of range") from None


class UtcDateTimeField(IsoDateTimeField):
    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return datetime_utc(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time bound, compared in UTC (see ``datetime_utc``)."""

    field_class = UtcDateTimeField


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="name or external reference contains")
    status = django_filters.ChoiceFilter(choices=Customer.Status.choices)
    external_ref = django_filters.CharFilter()

    class Meta:
        model = Customer
        fields = ["status", "external_ref"]

    def search(self, qs, name, value):
        return qs.filter(Q(name__icontains=value) | Q(external_ref__icontains=value))


class VerificationFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    decision = django_filters.ChoiceFilter(choices=Verification.Decision.choices)
    status = django_filters.ChoiceFilter(choices=Verification.Status.choices)
    channel = django_filters.ChoiceFilter(choices=Verification.Channel.choices)
    reviewed = django_filters.BooleanFilter(method="filter_reviewed")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")
    min_score = ScoreFilter(field_name="score", lookup_expr="gte")
    max_score = ScoreFilter(field_name="score", lookup_expr="lte")

    class Meta:
        model = Verification
        fields = ["customer", "decision", "status", "channel"]

    def filter_reviewed(self, qs, name, value):
        return qs.filter(reviews__isnull=not value).distinct()


class EnrollmentFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    status = django_filters.ChoiceFilter(choices=Enrollment.Status.choices)

    class Meta:
        model = Enrollment
        fields = ["customer", "status"]


class JobFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Job.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Job.Status.choices)
    customer = IdFilter(field_name="customer_id")

    class Meta:
        model = Job
        fields = ["kind", "status", "customer"]


class ReviewFilter(django_filters.FilterSet):
    verdict = django_filters.ChoiceFilter(choices=Review.Verdict.choices)
    verification = IdFilter(field_name="verification_id")
    analyst = IdFilter(field_name="analyst_id")

    class Meta:
        model = Review
        fields = ["verdict", "verification", "analyst"]

"""One audit service, append-only rows, and every state change recorded with before/after."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth.models import User
from django.test import RequestFactory

from verification.models import AppendOnlyError, AuditEvent, Customer, Enrollment, ModelVersion
from verification.services.audit import audit_record
from verification.services.customers import customer_delete
from verification.services.enrollments import enrollment_revoke, enrollment_start
from verification.services.model_versions import model_version_activate, model_version_register
from verification.services.thresholds import enrollment_threshold_set

from job_wait import job_finished


@pytest.fixture
def event(make_customer, admin_user):
    return audit_record(action="test.event", actor=admin_user, customer=make_customer(), before={"a": 1}, after={"a": 2})


def test_audit_rows_keep_before_after_and_who(event, admin_user):
    event.refresh_from_db()
    assert event.before == {"a": 1} and event.after == {"a": 2}
    assert event.actor == admin_user and event.actor_username == "admin1"


def test_audit_rows_refuse_update_and_delete(event):
    event.details = {"tampered": True}
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(id=event.id).update(action="nothing.happened")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(id=event.id).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    event.refresh_from_db()
    assert event.action == "test.event" and event.details == {}


def test_deleting_a_customer_or_a_user_keeps_their_audit_rows(make_customer, admin_user):
    customer = make_customer()
    customer_id = customer.id
    customer_delete(customer=customer, deleted_by=admin_user)
    assert not Customer.objects.filter(id=customer_id).exists()
    assert set(AuditEvent.objects.filter(customer_id_ref=customer_id).values_list("action", flat=True)) == {
        "customer.create",
        "customer.delete",
    }
    user = User.objects.create_user("leaver", is_staff=True)
    audit_record(action="test.by_leaver", actor=user)
    user.delete()
    row = AuditEvent.objects.get(action="test.by_leaver")
    assert row.actor_username == "leaver"


def test_django_admin_is_read_only_for_audit_events(admin_user):
    model_admin = django_admin.site._registry[AuditEvent]
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_enrollment_life_cycle_is_audited(enrolled_customer, admin_user):
    customer = enrolled_customer("w")
    actions = list(AuditEvent.objects.filter(customer_id_ref=customer.id).order_by("id").values_list("action", flat=True))
    assert actions == ["customer.create"] + ["reference.create"] * 4 + ["enrollment.start", "enrollment.activate"]
    enrollment = Enrollment.objects.get(customer=customer, status="active")
    activate = AuditEvent.objects.get(action="enrollment.activate")
    assert activate.before == {"status": "training"} and activate.after["status"] == "active"
    enrollment_revoke(enrollment=enrollment, revoked_by=admin_user, note="card lost")
    revoke = AuditEvent.objects.get(action="enrollment.revoke")
    assert revoke.before == {"status": "active"} and revoke.after == {"status": "revoked"}
    assert revoke.actor == admin_user and revoke.details["note"] == "card lost"


def test_model_registration_activation_and_training_are_audited(
    enrolled_customer, admin_user, tmp_path, monkeypatch, admin_client
):
    enrolled_customer("w")
    checkpoint = tmp_path / "other.pt"
    checkpoint.write_bytes(b"fake checkpoint")
    mv = model_version_register(checkpoint_path=str(checkpoint), registered_by=admin_user)
    registered = AuditEvent.objects.get(action="model_version.register")
    assert registered.after["model_version"] == mv.name and registered.actor == admin_user
    old = ModelVersion.objects.get(is_active=True).name
    job = model_version_activate(model_version=mv, created_by=admin_user)
    assert AuditEvent.objects.filter(action="model_version.activate_start", actor=admin_user).exists()
    assert job_finished(job.id).status == "succeeded"  # a long job: it runs in a background thread
    switched = AuditEvent.objects.get(action="model_version.activate")
    assert switched.before == {"active_model_version": old} and switched.after == {"active_model_version": mv.name}

    trained = tmp_path / "trained.pt"
    trained.write_bytes(b"fake trained checkpoint")
    import ml.train

    monkeypatch.setattr(ml.train, "train", lambda cfg, progress=None: trained)
    r = admin_client.post("/api/model-versions/train/", {"config": {}}, format="json")
    assert r.status_code == 202, r.content
    assert AuditEvent.objects.get(action="model_version.train_start").after["job"] == r.json()["id"]
    assert job_finished(r.json()["id"]).status == "succeeded"
    finish = AuditEvent.objects.get(action="model_version.train_finish")
    assert finish.after["checkpoint"] == str(trained) and finish.actor_username == "admin1"


def test_threshold_is_kept_after_revoke_and_reenroll(enrolled_customer, admin_user):
    """Before: a per-customer threshold silently went back to the model's after revoke and re-enroll."""
    customer = enrolled_customer("w")
    first = Enrollment.objects.get(customer=customer, status="active")
    enrollment_threshold_set(enrollment=first, threshold=0.9, changed_by=admin_user)
    enrollment_revoke(enrollment=first, revoked_by=admin_user)
    second, _ = enrollment_start(customer=customer, created_by=admin_user)
    second.refresh_from_db()
    assert second.status == "active" and second.threshold == 0.9
    carried = AuditEvent.objects.get(action="enrollment.threshold_carry")
    assert carried.before == {"threshold": None} and carried.after == {"threshold": 0.9}
    assert carried.details["from_enrollment"] == first.id and carried.details["enrollment"] == second.id


def test_threshold_is_not_carried_to_another_model_version(enrolled_customer, admin_user):
    customer = enrolled_customer("w")
    first = Enrollment.objects.get(customer=customer, status="active")
    enrollment_threshold_set(enrollment=first, threshold=0.9, changed_by=admin_user)
    enrollment_revoke(enrollment=first, revoked_by=admin_user)
    Enrollment.objects.filter(id=first.id).update(model_version="an-older-model")
    second, _ = enrollment_start(customer=customer, created_by=admin_user)
    second.refresh_from_db()
    assert second.status == "active" and second.threshold is None
    assert not AuditEvent.objects.filter(action="enrollment.threshold_carry").exists()


# ---------------------------------------------------------------- the CSV export


def _csv(response):
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_audit_export_csv_is_admin_only_and_filtered_like_the_list(admin_client, analyst_client, make_customer, admin_user):
    a = make_customer(name='=HYPERLINK("http://evil")')
    b = make_customer()
    audit_record(action="customer.update", actor=admin_user, customer=a, before={"name": "x"}, after={"name": "y"})
    assert analyst_client.get("/api/audit-events/export.csv").status_code == 403

    r = admin_client.get(f"/api/audit-events/export.csv?customer={a.id}")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert "attachment" in r["Content-Disposition"]
    rows = _csv(r)
    listed = admin_client.get(f"/api/audit-events/?customer={a.id}").json()["results"]
    assert [int(row["id"]) for row in rows] == [e["id"] for e in listed]
    assert {row["customer_id"] for row in rows} == {str(a.id)}
    update = next(row for row in rows if row["action"] == "customer.update")
    assert update["before"] == '{"name": "x"}' and update["after"] == '{"name": "y"}' and update["actor_username"] == "admin1"

    only_updates = _csv(admin_client.get("/api/audit-events/export.csv?action=customer.update"))
    assert [row["action"] for row in only_updates] == ["customer.update"]
    creates = _csv(admin_client.get("/api/audit-events/export.csv?action=customer."))
    assert {int(row["customer_id"]) for row in creates} == {a.id, b.id}

    r = admin_client.get("/api/audit-events/export.csv?customer=18446744073709551617")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid"
    r = admin_client.get("/api/audit-events/export.csv?created_after=yesterday")
    assert r.status_code == 400


def test_export_neutralises_spreadsheet_formulas(admin_client, make_customer):
    customer = make_customer(external_ref="=cmd|' /C calc'!A0", name="n")
    rows = _csv(admin_client.get(f"/api/audit-events/export.csv?customer={customer.id}"))
    assert rows[0]["customer_external_ref"] == "'=cmd|' /C calc'!A0"


def test_export_is_in_the_openapi_schema(admin_client):
    schema = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    op = schema["paths"]["/api/audit-events/export.csv"]["get"]
    assert "text/csv" in op["responses"]["200"]["content"]
    assert {p["name"] for p in op["parameters"]} >= {"customer", "action", "actor", "created_after", "created_before"}


def test_a_failed_training_job_is_audited(admin_client, monkeypatch):
    import ml.train

    def broken(cfg, progress=None):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(ml.train, "train", broken)
    r = admin_client.post("/api/model-versions/train/", {"config": {}}, format="json")
    assert r.status_code == 202, r.content
    assert job_finished(r.json()["id"]).status == "failed"
    failed = AuditEvent.objects.get(action="model_version.train_fail")
    assert failed.after["job"] == r.json()["id"] and "out of memory" in failed.after["error"]
    assert failed.actor_username == "admin1"

"""Enroll a few demo customers from procedurally generated pad signatures (verification.demo)."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from verification.demo import DEMO_CUSTOMERS, demo_strokes
from verification.errors import DomainError
from verification.models import Customer, Verification
from verification.selectors.enrollments import enrollment_get_active
from verification.services.customers import customer_create, signing_token_create
from verification.services.enrollments import enrollment_start
from verification.services.model_versions import model_version_active
from verification.services.references import reference_create
from verification.services.users import analyst_create
from verification.services.verifications import verification_create

REFERENCES_PER_CUSTOMER = 5


class Command(BaseCommand):
    help = "Create demo customers with generated pad signatures, enroll them, and demo admin/analyst accounts."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="allow in production mode")
        parser.add_argument("--no-users", action="store_true", help="do not create the demo admin and analyst")
        parser.add_argument(
            "--verifications", action="store_true", help="also run a genuine and a forged verification per customer"
        )

    def handle(self, *args, force, no_users, verifications, **options):
        if settings.PRODUCTION and not force:
            raise CommandError("seed_demo is for development; pass --force to run it in production mode")
        try:
            mv = model_version_active()
        except DomainError as exc:
            raise CommandError(f"{exc} (set SIGWEB_MODEL_PATH to a SigWeb checkpoint)") from None
        self.stdout.write(f"model version: {mv.name} (threshold {mv.threshold})")
        if not no_users:
            password = os.environ.get("SIGWEB_DEMO_PASSWORD") or "sigweb-demo"
            for username, admin in (("admin", True), ("analyst", False)):
                user, _, token = analyst_create(username=username, password=password, admin=admin)
                self.stdout.write(f"user {username!r} password {password!r} API token {token}")
        for external_ref, name in DEMO_CUSTOMERS:
            customer = Customer.objects.filter(external_ref=external_ref).first()
            if customer is None:
                customer = customer_create(external_ref=external_ref, name=name)
            if customer.status != Customer.Status.ACTIVE:
                self.stdout.write(f"{external_ref}: {customer.status}, skipped")
                continue
            if enrollment_get_active(customer=customer) is None:
                if customer.references.count() < REFERENCES_PER_CUSTOMER:
                    for i in range(REFERENCES_PER_CUSTOMER):
                        reference_create(customer=customer, source="pad", strokes=demo_strokes(external_ref, i))
                enrollment, job = enrollment_start(customer=customer)
                enrollment.refresh_from_db()
                self.stdout.write(f"{external_ref} {name}: enrollment {enrollment.id} {enrollment.status}")
            else:
                self.stdout.write(f"{external_ref} {name}: already enrolled")
            with transaction.atomic():
                _, raw = signing_token_create(customer=customer)
            self.stdout.write(f"  signing page token for customer {customer.id}: {raw}")
            if verifications and enrollment_get_active(customer=customer) is not None:
                others = [ref for ref, _ in DEMO_CUSTOMERS if ref != external_ref]
                for strokes, label in (
                    (demo_strokes(external_ref, 100), "genuine"),
                    (demo_strokes(others[0], 100), "other writer"),
                ):
                    v = verification_create(customer=customer, strokes=strokes, source="pad", channel=Verification.Channel.DEMO)
                    v.refresh_from_db()
                    self.stdout.write(f"  {label}: {v.status} {v.decision or ''} {v.score if v.score is not None else ''}")

"""Run inside the live server's environment (``manage.py shell``): create the people and
demo data the browser tests need, and print them as one JSON line."""

import json

from django.db import transaction

from verification.demo import demo_strokes
from verification.models import Verification
from verification.services.customers import customer_create, signing_token_create
from verification.services.enrollments import enrollment_start
from verification.services.model_versions import model_version_active
from verification.services.references import reference_create
from verification.services.users import analyst_create
from verification.services.verifications import verification_create

mv = model_version_active()
analyst_create(username="admin", password="browser-admin-pw", admin=True)
analyst_create(username="analyst", password="browser-analyst-pw")

# Two enrolled demo customers, so the dashboard and the trade-off plot have something to show.
for ref, name in (("DEMO-0001", "Ada Lovelace"), ("DEMO-0002", "Alan Turing")):
    demo = customer_create(external_ref=ref, name=name)
    for i in range(5):
        reference_create(customer=demo, source="pad", strokes=demo_strokes(ref, i))
    enrollment_start(customer=demo)
    verification_create(customer=demo, strokes=demo_strokes(ref, 50), source="pad", channel=Verification.Channel.DEMO)
# a replay of a stored pad reference (the review page's signing replay shows it)
replayed = verification_create(customer=demo, strokes=demo_strokes(ref, 1), source="pad", channel=Verification.Channel.DEMO)

customer = customer_create(external_ref="BROWSER-1", name="Marie Curie")
other = customer_create(external_ref="BROWSER-2", name="Emmy Noether")
with transaction.atomic():
    _, token = signing_token_create(customer=customer)
    _, other_token = signing_token_create(customer=other)
print(
    "SETUP "
    + json.dumps(
        {
            "customer": customer.id,
            "token": token,
            "other_customer": other.id,
            "other_token": other_token,
            "model": mv.name,
            "threshold": mv.threshold,
            "replay_verification": replayed.id,
        }
    )
)

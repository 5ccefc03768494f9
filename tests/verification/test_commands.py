from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from verification.demo import DEMO_CUSTOMERS, demo_strokes
from verification.models import Customer, Enrollment, Verification
from verification.roles import is_analyst


def test_seed_demo_enrolls_demo_customers_and_is_idempotent():
    out = StringIO()
    call_command("seed_demo", "--verifications", stdout=out)
    assert Customer.objects.count() == len(DEMO_CUSTOMERS)
    assert Enrollment.objects.filter(status="active").count() == len(DEMO_CUSTOMERS)
    assert Verification.objects.filter(status="done").count() == 2 * len(DEMO_CUSTOMERS)
    assert User.objects.get(username="admin").is_staff and is_analyst(User.objects.get(username="analyst"))
    assert "signing page token" in out.getvalue()
    call_command("seed_demo", stdout=StringIO())
    assert Customer.objects.count() == len(DEMO_CUSTOMERS)
    assert Enrollment.objects.filter(status="active").count() == len(DEMO_CUSTOMERS)


def test_seed_demo_refuses_production_without_force(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=StringIO())


def test_create_analyst_prints_a_token():
    out = StringIO()
    call_command("create_analyst", "alice", stdout=out)
    user = User.objects.get(username="alice")
    assert is_analyst(user) and not user.is_staff
    assert Token.objects.get(user=user).key in out.getvalue()
    assert "password:" in out.getvalue()


def test_demo_signatures_jitter_within_a_writer_and_differ_between_writers():
    a0, a1, b0 = demo_strokes("alice", 0), demo_strokes("alice", 1), demo_strokes("bob", 0)
    assert a0 != a1 and demo_strokes("alice", 0) == a0
    assert all(isinstance(p["x"], float) for s in a0 for p in s["points"])
    assert len(a0) == len(a1)
    assert len(a0) != len(b0) or a0[0]["points"][10] != b0[0]["points"][10]

"""Unit-test setup: the fake engine, in-process (eager) jobs and an in-memory channel layer,
whatever DATABASE_URL/REDIS_URL say, and factories for the domain objects."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from verification import ml_engine
from verification.demo import demo_strokes
from verification.roles import ANALYSTS_GROUP

import job_delays  # noqa: F401  (connects the test-only job delay, SIGWEB_TASK_DELAY_SECONDS)
from fake_engine import FakeDetector, FakeEngine


@pytest.fixture(autouse=True)
def fake_engine():
    engines: dict = {}

    def factory(path):
        engines.setdefault(path or "", FakeEngine(path))
        return engines[path or ""]

    ml_engine.engine_override(factory)
    yield factory(None)
    ml_engine.engine_override(None)


@pytest.fixture(autouse=True)
def fake_detector():
    detector = FakeDetector()
    ml_engine.detector_override(lambda path: detector)
    yield detector
    ml_engine.detector_override(None)


@pytest.fixture(autouse=True)
def in_process(settings, transactional_db):
    """Jobs run eagerly in-process, after the commit, as in the embedded default mode."""
    from sigweb.celery import app

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.SIGWEB_TASK_DELAY_SECONDS = 0
    settings.SIGWEB_PROGRESS_MIN_INTERVAL = 0
    old = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


@pytest.fixture(autouse=True)
def fresh_throttles():
    """DRF throttle counts live in the cache: every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def admin_user():
    return User.objects.create_user("admin1", password="pw-admin-1", is_staff=True, is_superuser=True)


@pytest.fixture
def analyst_user():
    user = User.objects.create_user("analyst1", password="pw-analyst-1")
    user.groups.add(Group.objects.get_or_create(name=ANALYSTS_GROUP)[0])
    return user


@pytest.fixture
def plain_user():
    return User.objects.create_user("nobody", password="pw-nobody-1")


@pytest.fixture
def admin_client(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.fixture
def analyst_client(analyst_user):
    client = APIClient()
    client.force_authenticate(analyst_user)
    return client


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def make_customer():
    from verification.services.customers import customer_create

    counter = {"n": 0}

    def make(**kwargs):
        counter["n"] += 1
        kwargs.setdefault("external_ref", f"C-{counter['n']:04d}")
        kwargs.setdefault("name", f"Customer {counter['n']}")
        return customer_create(**kwargs)

    return make


@pytest.fixture
def enrolled_customer(make_customer):
    """A customer with 4 pad references and an active enrollment (jobs already ran)."""
    from verification.services.enrollments import enrollment_start
    from verification.services.references import reference_create

    def make(writer: str = "writer-a", n_refs: int = 4, **kwargs):
        customer = make_customer(**kwargs)
        for i in range(n_refs):
            reference_create(customer=customer, source="pad", strokes=demo_strokes(writer, i))
        enrollment_start(customer=customer)
        customer.refresh_from_db()
        return customer

    return make

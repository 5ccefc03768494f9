"""The embedded default database (SQLite) under a background job: a write from another thread
waits for the test's open transaction instead of failing with "database table is locked", as it
did on Django's default shared-cache in-memory test database."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from verification.models import Job


@pytest.mark.django_db(transaction=True)
def test_a_background_write_waits_for_an_open_transaction():
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL has row locks: nothing to wait for here")
    ready, errors = threading.Event(), []

    def job_thread():
        try:
            ready.set()
            Job.objects.create(kind=Job.Kind.VERIFY, params={"from": "thread"})
        except Exception as e:  # the assertion below reports it
            errors.append(repr(e))
        finally:
            connections.close_all()

    with transaction.atomic():
        Job.objects.create(kind=Job.Kind.VERIFY, params={"from": "test"})
        t = threading.Thread(target=job_thread)
        t.start()
        ready.wait(5)
        time.sleep(0.3)  # the thread's insert meets the lock this transaction holds
    t.join(30)
    assert not errors, errors
    assert sorted(j.params["from"] for j in Job.objects.all()) == ["test", "thread"]
